/**
 * Presence in Redis, shared by every instance. Each change is one Lua script (atomic). The
 * `add`s of one event-loop turn, and those made while the previous batch is in flight, share
 * one script call (up to MAX_ADD_BATCH): in a reconnect storm one call per socket cost the
 * instance and Redis a command apiece. Likewise the `devicesOf` reads of one turn share one
 * call (up to MAX_READ_BATCH): every upgrade reads its user's connections for the per-user cap.
 * Every command first sends the adds queued before it, so Redis sees them in the order they
 * were called (a read sent at the end of its turn also sees the adds and removes made earlier
 * in that turn).
 *
 * Liveness: `start()` refreshes this instance's TTL key every INSTANCE_TTL/3 ms and reaps
 * instances whose key expired (a kill -9'd instance's connections are gone within about
 * INSTANCE_TTL + INSTANCE_TTL/3). The refresh uses `SET … GET`: an empty previous value means
 * Redis lost our records (restart, failover) or a peer reaped us during a long partition,
 * so every connection this instance still holds is registered again.
 */
import { randomUUID } from 'node:crypto';
import { DEVICE_TYPES, type DeviceType, ROLES, type Role } from '@anmei/protocol';
import type { Logger } from '../../observability/logger.ts';
import type { RedisClient } from '../redis/clients.ts';
import type { RedisNames } from '../redis/keys.ts';
import type { LuaScript } from '../redis/lua-script.ts';
import type { ConnectionInfo, PresenceStats } from '../types.ts';
import type { Presence, PresenceListener } from './presence.ts';
import { RedisPresenceChanges } from './redis-presence-changes.ts';
import { ADD_MANY, DEVICES_MANY, REAP, REMOVE, REMOVE_INSTANCE, STATS } from './redis-scripts.ts';

/**
 * At most this many connections per ADD_MANY call (a storm's turn can bring hundreds): about
 * 20 µs of Redis each, so one call keeps Redis from everyone else for a few ms at most.
 */
const MAX_ADD_BATCH = 256;

/**
 * At most this many users per DEVICES_MANY call: a few µs of Redis each (a user holds a few
 * connections), so one call keeps Redis from everyone else for a few ms at most.
 */
const MAX_READ_BATCH = 256;

interface PendingRead {
  /** One per `devicesOf` call, in call order (a user asked twice is read twice). */
  userIds: string[];
  waiters: Array<{ resolve(devices: ConnectionInfo[]): void; reject(error: unknown): void }>;
}

interface PendingAdd {
  /** ARGV after the key base and the channel: 7 per connection. */
  args: string[];
  connections: number;
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export interface RedisPresenceOptions {
  client: RedisClient;
  /** Connection in subscriber mode for `onChange` (the bus's); without it `onChange` rejects. */
  subscriber?: RedisClient;
  names: RedisNames;
  instanceId: string;
  /** ms; see INSTANCE_TTL. */
  instanceTtlMs: number;
  logger: Logger;
  /** Called after this instance removed a dead peer's connections (the bus forgets its routes too). */
  onInstanceReaped?: (instanceId: string) => void;
  /** Called after this instance's records were registered again (Redis had lost them). */
  onResync?: () => void;
}

type Reply = Array<string | number | null | Reply>;

export class RedisPresence implements Presence {
  readonly #o: RedisPresenceOptions;
  /** Connections this instance registered, to re-register after Redis forgot them. */
  readonly #mine = new Map<string, ConnectionInfo>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #ticking = false;
  #lost = false;
  /** Random per process: tells our liveness key apart from another process using the same INSTANCE_ID. */
  readonly #bootId = randomUUID();
  readonly #changes: RedisPresenceChanges | null;
  /** The adds not yet sent (see #openBatch). */
  #pending: PendingAdd | null = null;
  /** ADD_MANY calls sent and not yet answered. */
  #addsInFlight = 0;
  /** The `devicesOf` reads not yet sent (see #openReads). */
  #pendingReads: PendingRead | null = null;

  constructor(options: RedisPresenceOptions) {
    this.#o = options;
    this.#changes = options.subscriber
      ? new RedisPresenceChanges(options.subscriber, options.names.presenceChannel, options.logger)
      : null;
    // After any reconnect, writes made during the outage may have failed (fail-fast commands):
    // rebuild this instance's records from the sockets it really holds.
    options.client.on('reconnecting', () => {
      this.#lost = true;
    });
    options.client.on('ready', () => {
      if (!this.#lost || this.#closed) return;
      this.#lost = false;
      void this.#resync().catch((error: unknown) => {
        this.#lost = true; // the next liveness tick tries again
        options.logger.warn({ err: error }, 'presence re-sync after reconnect failed; retrying on the next tick');
      });
    });
  }

  /**
   * Register this instance as alive and start refreshing/reaping. Refuses to start when another
   * live process holds the same INSTANCE_ID (its liveness key exists with another boot id).
   */
  async start(): Promise<void> {
    const claimed = await this.#o.client.set(this.#aliveKey(), this.#bootId, 'PX', this.#o.instanceTtlMs, 'NX');
    if (claimed !== 'OK') {
      throw new Error(
        `INSTANCE_ID "${this.#o.instanceId}" is in use by another running instance; give every instance its own ` +
          `INSTANCE_ID (after a crash, wait INSTANCE_TTL=${this.#o.instanceTtlMs} ms before reusing it)`,
      );
    }
    await this.#tick();
    this.#timer = setInterval(() => void this.#tick(), Math.max(250, Math.floor(this.#o.instanceTtlMs / 3)));
    this.#timer.unref();
  }

  add(c: ConnectionInfo): Promise<void> {
    try {
      this.#assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    if (c.instanceId === this.#o.instanceId) this.#mine.set(c.connectionId, c);
    const batch = this.#pending ?? this.#openBatch();
    batch.args.push(
      c.connectionId,
      c.userId,
      c.role,
      c.deviceType,
      c.connectionType,
      c.instanceId,
      String(c.connectedAt.getTime()),
    );
    if (++batch.connections >= MAX_ADD_BATCH) this.#sendAdds();
    return batch.promise;
  }

  async remove(connectionId: string): Promise<void> {
    this.#assertOpen();
    this.#mine.delete(connectionId);
    await this.#run(REMOVE, [connectionId, this.#o.names.presenceChannel]);
  }

  devicesOf(userId: string): Promise<ConnectionInfo[]> {
    try {
      this.#assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const batch = this.#pendingReads ?? this.#openReads();
      batch.userIds.push(userId);
      batch.waiters.push({ resolve, reject });
      if (batch.userIds.length >= MAX_READ_BATCH) this.#sendReads();
    });
  }

  async onlineAmong(userIds: readonly string[]): Promise<Set<string>> {
    this.#assertOpen();
    const unique = [...new Set(userIds)];
    if (unique.length === 0) return new Set();
    this.#sendAdds();
    const flags = (await this.#o.client.smismember(this.#o.names.onlineUsers, ...unique)) as number[];
    return new Set(unique.filter((_, i) => flags[i] === 1));
  }

  async isOnline(userId: string): Promise<boolean> {
    this.#assertOpen();
    this.#sendAdds();
    return (await this.#o.client.sismember(this.#o.names.onlineUsers, userId)) === 1;
  }

  async stats(): Promise<PresenceStats> {
    this.#assertOpen();
    const reply = (await this.#run(STATS, [])) as Reply;
    const stats: PresenceStats = {
      connections: 0,
      users: Number(reply[0] ?? 0),
      byDeviceType: Object.fromEntries(DEVICE_TYPES.map((d) => [d, 0])) as Record<DeviceType, number>,
      byRole: Object.fromEntries(ROLES.map((r) => [r, 0])) as Record<Role, number>,
      byInstance: {},
    };
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const instance = String(reply[i]);
      const fields = reply[i + 1] as string[];
      for (let j = 0; j + 1 < fields.length; j += 2) {
        const [field, value] = [fields[j]!, Number(fields[j + 1])];
        if (field === 'connections') {
          stats.connections += value;
          if (value > 0) stats.byInstance[instance] = value;
        } else if (field.startsWith('d:')) {
          const d = field.slice(2) as DeviceType;
          if (d in stats.byDeviceType) stats.byDeviceType[d] += value;
        } else if (field.startsWith('r:')) {
          const r = field.slice(2) as Role;
          if (r in stats.byRole) stats.byRole[r] += value;
        }
      }
    }
    return stats;
  }

  async removeInstance(instanceId: string): Promise<number> {
    this.#assertOpen();
    if (instanceId === this.#o.instanceId) this.#mine.clear();
    return Number(await this.#run(REMOVE_INSTANCE, [instanceId, this.#o.names.presenceChannel]));
  }

  async onChange(listener: PresenceListener): Promise<() => void> {
    this.#assertOpen();
    if (this.#changes === null) throw new Error('RedisPresence needs the `subscriber` option to report changes');
    return this.#changes.add(listener);
  }

  /** Deregisters this instance (its connections leave presence at once) and stops the timers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#timer);
    this.#changes?.close();
    try {
      await this.#run(REMOVE_INSTANCE, [this.#o.instanceId, this.#o.names.presenceChannel]);
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'could not deregister presence on close; peers will reap it');
    }
    this.#closed = true;
    this.#mine.clear();
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      this.#sendAdds();
      const previous = await this.#o.client.set(this.#aliveKey(), this.#bootId, 'PX', this.#o.instanceTtlMs, 'GET');
      if (previous !== null && previous !== this.#bootId) {
        this.#o.logger.error(
          { instanceId: this.#o.instanceId },
          'another running process uses this INSTANCE_ID; presence and delivery will be wrong until one stops',
        );
      }
      // No key: Redis lost our records (restart) or a peer reaped us during a long pause.
      // #lost: a re-sync after a reconnect failed part-way; try again.
      if (previous === null || this.#lost) {
        this.#lost = false;
        await this.#resync();
      }
      const reaped = (await this.#run(REAP, [this.#o.names.presenceChannel])) as Reply;
      for (let i = 0; i + 1 < reaped.length; i += 2) {
        this.#o.logger.warn(
          { deadInstance: reaped[i], connections: reaped[i + 1] },
          'removed the connections of an instance that stopped refreshing its liveness',
        );
        this.#o.onInstanceReaped?.(String(reaped[i]));
      }
    } catch (error) {
      // Redis down: the client logs the outage once; we retry on the next tick.
      this.#o.logger.debug({ err: error }, 'presence liveness tick failed');
    } finally {
      this.#ticking = false;
    }
  }

  #aliveKey(): string {
    return `${this.#o.names.presenceBase}:instance_alive:${this.#o.instanceId}`;
  }

  /** Replace this instance's records in Redis with the connections it really holds. */
  async #resync(): Promise<void> {
    await this.#run(REMOVE_INSTANCE, [this.#o.instanceId, this.#o.names.presenceChannel]);
    await this.#o.client.set(this.#aliveKey(), this.#bootId, 'PX', this.#o.instanceTtlMs);
    await Promise.all([...this.#mine.values()].map((c) => this.add(c)));
    this.#o.onResync?.();
    if (this.#mine.size > 0) {
      this.#o.logger.warn(
        { connections: this.#mine.size },
        "presence re-registered this instance's connections in Redis",
      );
    }
  }

  #run(script: LuaScript, args: string[]): Promise<unknown> {
    this.#sendAdds();
    return script.run(this.#o.client, [this.#o.names.onlineUsers], [this.#o.names.presenceBase, ...args]);
  }

  /**
   * A batch for this turn's adds. Sent when the turn's microtasks have run, or, while an ADD_MANY
   * is in flight, when it is answered (as the bus's route updates are): a storm's upgrades
   * finish a few per turn, and ioredis sends nothing new on the connection before the pipeline
   * in flight is answered anyway, so waiting for it costs no time and gathers the next batch.
   */
  #openBatch(): PendingAdd {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const batch: PendingAdd = { args: [], connections: 0, promise, resolve, reject };
    this.#pending = batch;
    queueMicrotask(() => {
      if (this.#pending === batch && this.#addsInFlight === 0) this.#sendAdds();
    });
    return batch;
  }

  /**
   * Sends the queued adds now: when the previous batch was answered, when a batch is full, and
   * before any other command of ours (Redis then applies them in call order).
   */
  #sendAdds(): void {
    const batch = this.#pending;
    if (batch === null) return;
    this.#pending = null;
    this.#addsInFlight++;
    ADD_MANY.run(
      this.#o.client,
      [this.#o.names.onlineUsers],
      [this.#o.names.presenceBase, this.#o.names.presenceChannel, ...batch.args],
    )
      .then(() => batch.resolve(), batch.reject)
      .finally(() => {
        if (--this.#addsInFlight === 0) this.#sendAdds();
      });
  }

  /**
   * A batch for the reads that follow, sent by a microtask queued behind their callers' (or at
   * once when full): the upgrades of one admission batch get their Redis answers together and
   * reach their read in the same round of microtasks, so they share the call.
   */
  #openReads(): PendingRead {
    const batch: PendingRead = { userIds: [], waiters: [] };
    this.#pendingReads = batch;
    queueMicrotask(() => {
      if (this.#pendingReads === batch) this.#sendReads();
    });
    return batch;
  }

  #sendReads(): void {
    const batch = this.#pendingReads;
    if (batch === null) return;
    this.#pendingReads = null;
    this.#run(DEVICES_MANY, batch.userIds).then(
      (reply) => {
        const lists = reply as string[][];
        for (let i = 0; i < batch.waiters.length; i++) {
          batch.waiters[i]!.resolve(devicesFrom(batch.userIds[i]!, lists[i] ?? []));
        }
      },
      (error: unknown) => {
        for (const waiter of batch.waiters) waiter.reject(error);
      },
    );
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('presence is closed');
  }
}

/** One user's list of DEVICES_MANY's reply as connections: six strings per connection. */
function devicesFrom(userId: string, flat: string[]): ConnectionInfo[] {
  const out: ConnectionInfo[] = [];
  for (let i = 0; i + 5 < flat.length; i += 6) {
    out.push({
      connectionId: flat[i]!,
      userId,
      role: flat[i + 1] as Role,
      deviceType: flat[i + 2] as DeviceType,
      connectionType: flat[i + 3] as ConnectionInfo['connectionType'],
      instanceId: flat[i + 4]!,
      connectedAt: new Date(Number(flat[i + 5])),
    });
  }
  return out;
}
