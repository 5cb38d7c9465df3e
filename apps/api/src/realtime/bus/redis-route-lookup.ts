/**
 * Routing a batch without the routing script: the publisher looks up its recipients' routes
 * with one `HMGET` and PUBLISHes to each target instance the records it needs.
 *
 * Why: the script is handed the whole batch, and this Redis's Lua hashes every byte of every
 * string it is handed (`luaS_newlstr`), frames it only passes on included; with Lua's own work
 * that is most of the script's time (docs/benchmarks.md, goal 3). For a batch of many envelopes,
 * one `HMGET` of the distinct recipients and one PUBLISH per target instance cost Redis a
 * fraction of that. For a batch of a few, the second round trip costs the publisher more than
 * the script costs Redis, so small batches keep the script (PerInstanceRouting's `lookupFrom`).
 *
 * The publisher keeps the routes it read, labelled with the routes' version (a counter every
 * route change bumps, redis-route-scripts.ts), and reads the version with each look-up: while it
 * has not moved, a batch needs the routes of new recipients only.
 *
 * What an instance receives is the same either way: its records, in order, each record listing
 * every recipient (redis-codec.ts); records are self-delimiting, so an instance that needs some
 * of them gets them in one PUBLISH too.
 */

export interface InstancePublish {
  instanceId: string;
  /** The instance's records, in order: slices of the batch's blob, to send back to back. */
  parts: Buffer[];
  /** It needs every record of the batch (`parts` is the whole blob). */
  whole: boolean;
}

/** The distinct recipients of a batch's records, in first-seen order (what to look up). */
export function distinctRecipients(targets: readonly (readonly string[])[]): string[] {
  const seen = new Set<string>();
  for (const userIds of targets) for (const id of userIds) seen.add(id);
  return [...seen];
}

/** At most this many users' routes are kept; beyond it the copy starts over. */
const MAX_CACHED_ROUTES = 100_000;

/**
 * The routes a publisher has read, valid while the routes' version is the one they were read
 * under. Routes are read after the version (in one pipeline), so each is at least as new as its
 * label: a version that has not moved since means the copy is exact; one that has moved, even
 * by a change the copy already holds, discards it. Kept per user as the instances to publish
 * to (the route without the publisher itself), ready for `planPublishes`.
 */
export class RouteCache {
  readonly #selfId: string;
  /** Null: no version known (none read yet, or Redis had none): nothing here is trusted. */
  #version: string | null = null;
  readonly #peers = new Map<string, readonly string[]>();

  constructor(selfId: string) {
    this.#selfId = selfId;
  }

  /**
   * The distinct recipients of a batch's records whose route is not known, in first-seen order.
   * `recipients`: how many the batch lists in all (an upper bound of the distinct ones).
   */
  unknown(targets: readonly (readonly string[])[], recipients: number): string[] {
    // Full: start over here, never while a batch's routes are being stored.
    if (this.#peers.size + recipients > MAX_CACHED_ROUTES) this.#peers.clear();
    if (this.#version === null || this.#peers.size === 0) return distinctRecipients(targets);
    // Usually every route is known: no set until one is not.
    let unknown: Set<string> | undefined;
    for (const userIds of targets) {
      for (const id of userIds) {
        if (this.#peers.has(id)) continue;
        unknown ??= new Set();
        unknown.add(id);
      }
    }
    return unknown === undefined ? [] : [...unknown];
  }

  /**
   * The version Redis holds now (null: none, e.g. Redis lost its data and no route changed
   * since). False when the copy was taken under another version and is discarded: the caller
   * must read the routes it took from it again.
   */
  check(version: string | null): boolean {
    if (version !== null && version === this.#version) return true;
    this.#peers.clear();
    this.#version = version;
    return false;
  }

  /**
   * Routes read after the latest `check`, `routes[k]` being `users[k]`'s (space-separated
   * instance ids; null: no socket anywhere). Under no version they serve the current batch only.
   */
  store(users: readonly string[], routes: readonly (string | null)[]): void {
    // Many recipients share a route ("a", "b", "a b"): split each distinct one once.
    const peersOfRoute = new Map<string, readonly string[]>();
    for (let k = 0; k < users.length; k++) {
      const route = routes[k];
      let peers: readonly string[] = NO_PEERS;
      if (route) {
        peers = peersOfRoute.get(route) ?? NO_PEERS;
        if (!peersOfRoute.has(route)) {
          peers = route.split(' ').filter((id) => id !== '' && id !== this.#selfId);
          peersOfRoute.set(route, peers);
        }
      }
      this.#peers.set(users[k]!, peers);
    }
  }

  /** The instances other than ours holding a socket of `userId` (undefined: not read). */
  peersOf(userId: string): readonly string[] | undefined {
    return this.#peers.get(userId);
  }
}

const NO_PEERS: readonly string[] = [];

/**
 * Which records each instance other than ours needs: those with at least one recipient it
 * holds (`routes`, filled for every recipient). Record `m` is `blob` bytes
 * [ends[m - 1] (0 for the first), ends[m]).
 */
export function planPublishes(
  targets: readonly (readonly string[])[],
  routes: RouteCache,
  blob: Buffer,
  ends: readonly number[],
): InstancePublish[] {
  const recordsOf = new Map<string, number[]>();
  for (let m = 0; m < targets.length; m++) {
    for (const userId of targets[m]!) {
      const peers = routes.peersOf(userId);
      if (peers === undefined) throw new Error(`bus: no route was read for user ${userId}`);
      for (const instanceId of peers) {
        let records = recordsOf.get(instanceId);
        if (records === undefined) {
          records = [];
          recordsOf.set(instanceId, records);
        }
        if (records[records.length - 1] !== m) records.push(m);
      }
    }
  }
  const publishes: InstancePublish[] = [];
  for (const [instanceId, records] of recordsOf) {
    if (records.length === targets.length) {
      publishes.push({ instanceId, parts: [blob], whole: true });
      continue;
    }
    // One slice per run of consecutive records.
    const parts: Buffer[] = [];
    for (let r = 0; r < records.length; ) {
      let e = r;
      while (e + 1 < records.length && records[e + 1] === records[e]! + 1) e++;
      const first = records[r]!;
      parts.push(blob.subarray(first === 0 ? 0 : ends[first - 1], ends[records[e]!]));
      r = e + 1;
    }
    publishes.push({ instanceId, parts, whole: false });
  }
  return publishes;
}
