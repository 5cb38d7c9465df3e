/**
 * Live online state for the people a socket shows (issue #17: lists and headers follow
 * presence without polling). A socket names the users it wants with `watch_presence`; it gets
 * their state now (`presence`, reason `watch`, with the request's id) and then every change
 * (reason `change`) as it happens anywhere in the cluster, until it watches others or closes.
 *
 * Who may be watched: users who share at least one conversation with the caller (admins: anyone);
 * others are left out of the answer and never reported, so presence reveals nothing about
 * strangers. One statement per `watch_presence`; nothing per connect.
 *
 * Changes come from Presence.onChange, subscribed only while some local socket watches someone.
 * Changes published while this instance's Redis link was down are lost, so `restate()` (called
 * when the bus recovers) sends every watcher the current state of everyone it watches.
 *
 * A change heard while a watch's snapshot is being read may be newer than the snapshot (they
 * travel on different Redis connections): the snapshot yields to it, so the answer is never
 * older than a change already sent.
 */
import { encodeFrame, ServerAction, serverFrame } from '@anmei/protocol';
import type { Store } from '../db/store-types.ts';
import type { Logger } from '../observability/logger.ts';
import type { Presence, PresenceChange } from '../realtime/presence/presence.ts';
import type { OutboundSocket, SocketWriter } from '../ws/socket-writer.ts';

type Watcher = OutboundSocket & { readonly closed: boolean };

export interface PresenceWatchDeps {
  presence: Presence;
  store: Store;
  writer: SocketWriter;
  logger: Logger;
}

export class PresenceWatch {
  readonly #deps: PresenceWatchDeps;
  /** Watched user -> the local sockets watching them. */
  readonly #watchers = new Map<string, Set<Watcher>>();
  /** Local socket -> the users it watches. */
  readonly #watched = new Map<Watcher, readonly string[]>();
  /** The latest change heard of each watched user, numbered in the order heard. */
  readonly #lastChange = new Map<string, { online: boolean; n: number }>();
  #changesHeard = 0;
  /** The subscription to presence changes while anyone watches; its stop function once it is live. */
  #subscription: Promise<() => void> | null = null;
  #closed = false;

  constructor(deps: PresenceWatchDeps) {
    this.#deps = deps;
  }

  /** Number of local sockets watching someone (for tests and metrics). */
  get watchingSockets(): number {
    return this.#watched.size;
  }

  /**
   * Replace what `socket` watches with `userIds`, then answer with their state now. Throws
   * (database, Redis) like any frame handler; the session answers with the catalogued error.
   */
  async watch(socket: Watcher, userIds: readonly string[], requestId: string | null): Promise<void> {
    const { info } = socket;
    const wanted = [...new Set(userIds)].filter((id) => id !== info.userId);
    // In the order asked: the store's answer has no order of its own (no ORDER BY).
    const visible =
      info.role === 'admin' || wanted.length === 0
        ? wanted
        : inOrderOf(wanted, await this.#deps.store.conversations.sharingWith(info.userId, wanted));
    if (socket.closed || this.#closed) return;
    this.#forget(socket);
    if (visible.length === 0 && this.#watched.size === 0) this.#unsubscribe();
    if (visible.length > 0) {
      this.#watched.set(socket, visible);
      for (const userId of visible) {
        const sockets = this.#watchers.get(userId);
        if (sockets === undefined) this.#watchers.set(userId, new Set([socket]));
        else sockets.add(socket);
      }
      this.#subscription ??= this.#subscribe();
      await this.#subscription;
    }
    const before = this.#changesHeard;
    const online = visible.length > 0 ? await this.#deps.presence.onlineAmong(visible) : new Set<string>();
    if (socket.closed) return;
    const users = visible.map((userId) => {
      const change = this.#lastChange.get(userId);
      return {
        user_id: userId,
        online: change !== undefined && change.n > before ? change.online : online.has(userId),
      };
    });
    this.#deps.writer.writeDirect(
      socket,
      encodeFrame(serverFrame(ServerAction.presence, { request_id: requestId, reason: 'watch', users })),
    );
  }

  /** Forget what `socket` watches (it closed). Idempotent. */
  unwatch(socket: Watcher): void {
    this.#forget(socket);
    if (this.#watched.size === 0) this.#unsubscribe();
  }

  #forget(socket: Watcher): void {
    const users = this.#watched.get(socket);
    if (users === undefined) return;
    this.#watched.delete(socket);
    for (const userId of users) {
      const sockets = this.#watchers.get(userId);
      if (sockets === undefined) continue;
      sockets.delete(socket);
      if (sockets.size === 0) {
        this.#watchers.delete(userId);
        this.#lastChange.delete(userId);
      }
    }
  }

  /** Send every watcher the state now of everyone it watches: changes may have been lost meanwhile. */
  async restate(): Promise<number> {
    if (this.#watched.size === 0) return 0;
    const online = await this.#deps.presence.onlineAmong([...this.#watchers.keys()]);
    let sent = 0;
    for (const [socket, users] of this.#watched) {
      if (socket.closed) continue;
      const data = {
        request_id: null,
        reason: 'bus_recovered' as const,
        users: users.map((u) => ({ user_id: u, online: online.has(u) })),
      };
      if (this.#deps.writer.writeDirect(socket, encodeFrame(serverFrame(ServerAction.presence, data)))) sent++;
    }
    return sent;
  }

  close(): void {
    this.#closed = true;
    this.#watched.clear();
    this.#watchers.clear();
    this.#lastChange.clear();
    this.#unsubscribe();
  }

  readonly #onChange = (change: PresenceChange): void => {
    const sockets = this.#watchers.get(change.userId);
    if (sockets === undefined) return;
    this.#lastChange.set(change.userId, { online: change.online, n: ++this.#changesHeard });
    // Serialised once for every watcher of this user.
    const frame = encodeFrame(
      serverFrame(ServerAction.presence, {
        request_id: null,
        reason: 'change',
        users: [{ user_id: change.userId, online: change.online }],
      }),
    );
    for (const socket of sockets) if (!socket.closed) this.#deps.writer.writeDirect(socket, frame);
  };

  #subscribe(): Promise<() => void> {
    const subscription = this.#deps.presence.onChange(this.#onChange);
    // A failed subscribe is retried by the next watch.
    subscription.catch(() => {
      if (this.#subscription === subscription) this.#subscription = null;
    });
    return subscription;
  }

  #unsubscribe(): void {
    const subscription = this.#subscription;
    if (subscription === null) return;
    this.#subscription = null;
    subscription.then(
      (stop) => stop(),
      () => {},
    );
  }
}

/** The ids of `wanted` that are in `allowed`, in `wanted`'s order. */
function inOrderOf(wanted: readonly string[], allowed: readonly string[]): string[] {
  const set = new Set(allowed);
  return wanted.filter((id) => set.has(id));
}
