/**
 * Bus over Redis pub/sub with per-user routing: an instance subscribes `ws:user:{<id>}`
 * while it holds a socket of that user, so it receives only traffic it delivers. A publish
 * to N users is N PUBLISHes in one pipeline; the same bytes go into each. Instance-wide
 * notices use the seed's `ws:broadcast`. Optionally Redis 7 sharded pub/sub
 * (SSUBSCRIBE/SPUBLISH), required on Redis Cluster.
 *
 * Own publishes are handed to the local handler directly (no Redis round trip) and their
 * echo from Redis is ignored (identified by this bus's id in the header).
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../../observability/logger.ts';
import type { RedisClient } from '../redis/clients.ts';
import type { RedisNames } from '../redis/keys.ts';
import type { Envelope } from '../types.ts';
import type { Bus } from './bus.ts';
import { decodeBusMessage, encodeBusMessage } from './redis-codec.ts';

type Handler = (envelope: Envelope, targets: readonly string[] | 'all') => void;

export interface RedisBusOptions {
  publisher: RedisClient;
  subscriber: RedisClient;
  names: RedisNames;
  /** Unique per bus (the instance id). */
  busId: string;
  sharded: boolean;
  logger: Logger;
}

export interface RedisBusStats {
  /** Redis messages published (one per recipient user, one per publishToAll). */
  published: number;
  /** Redis messages received from other instances and delivered here. */
  received: number;
  /** Own echoes dropped. */
  echoes: number;
  /** Per-user channels currently subscribed. */
  subscribedUsers: number;
}

export class RedisBus implements Bus {
  readonly #o: RedisBusOptions;
  /** Users whose channel we want; the receive path checks it, so an unsubscribe takes effect at once. */
  readonly #desired = new Set<string>();
  /** Users whose channel Redis has confirmed. */
  readonly #active = new Set<string>();
  #handler: Handler | null = null;
  #closed = false;
  #flushScheduled: Promise<void> | null = null;
  #flushChain: Promise<void> = Promise.resolve();
  #stats = { published: 0, received: 0, echoes: 0 };
  readonly #onMessage = (channel: Buffer, message: Buffer) => this.#receive(channel.toString('utf8'), message);

  constructor(options: RedisBusOptions) {
    this.#o = options;
    options.subscriber.on(options.sharded ? 'smessageBuffer' : 'messageBuffer', this.#onMessage);
  }

  /** Resolves once the instance-wide channel is subscribed. */
  async start(): Promise<void> {
    const channel = this.#o.names.broadcastChannel;
    if (this.#o.sharded) await this.#o.subscriber.ssubscribe(channel);
    else await this.#o.subscriber.subscribe(channel);
  }

  stats(): RedisBusStats {
    return { ...this.#stats, subscribedUsers: this.#active.size };
  }

  onEnvelope(handler: Handler): void {
    if (this.#handler) throw new Error(`redis bus ${this.#o.busId}: onEnvelope was already called`);
    this.#handler = handler;
  }

  async publishToUsers(userIds: readonly string[], envelope: Envelope): Promise<void> {
    this.#assertOpen();
    const unique = [...new Set(userIds)];
    const local = unique.filter((u) => this.#desired.has(u));
    if (local.length > 0) this.#deliver(envelope, local);
    const payload = encodeBusMessage(this.#o.busId, envelope);
    const channels = unique.map((u) => this.#o.names.userChannel(u));
    this.#stats.published += channels.length;
    await this.#publishMany(channels, payload);
  }

  async publishToAll(envelope: Envelope): Promise<void> {
    this.#assertOpen();
    this.#deliver(envelope, 'all');
    this.#stats.published += 1;
    await this.#publishMany([this.#o.names.broadcastChannel], encodeBusMessage(this.#o.busId, envelope));
  }

  subscribeUser(userId: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('bus is closed'));
    this.#desired.add(userId);
    return this.#scheduleFlush();
  }

  unsubscribeUser(userId: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('bus is closed'));
    this.#desired.delete(userId);
    return this.#scheduleFlush();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.subscriber.off(this.#o.sharded ? 'smessageBuffer' : 'messageBuffer', this.#onMessage);
    await this.#flushChain.catch(() => undefined);
  }

  /** Coalesces the (un)subscribes of one tick into one SUBSCRIBE and one UNSUBSCRIBE. */
  #scheduleFlush(): Promise<void> {
    this.#flushScheduled ??= new Promise<void>((resolve, reject) => {
      queueMicrotask(() => {
        this.#flushScheduled = null;
        this.#flushChain = this.#flushChain.catch(() => undefined).then(() => this.#flush());
        this.#flushChain.then(resolve, reject);
      });
    });
    return this.#flushScheduled;
  }

  async #flush(): Promise<void> {
    const add = [...this.#desired].filter((u) => !this.#active.has(u));
    const drop = [...this.#active].filter((u) => !this.#desired.has(u));
    const sub = this.#o.subscriber;
    const channel = (u: string) => this.#o.names.userChannel(u);
    if (this.#o.sharded) {
      // In a cluster one SSUBSCRIBE may only name channels of one slot: one call per user.
      await Promise.all([
        ...add.map((u) => sub.ssubscribe(channel(u))),
        ...drop.map((u) => sub.sunsubscribe(channel(u))),
      ]);
    } else {
      if (add.length > 0) await sub.subscribe(...add.map(channel));
      if (drop.length > 0) await sub.unsubscribe(...drop.map(channel));
    }
    for (const u of add) this.#active.add(u);
    for (const u of drop) this.#active.delete(u);
    this.#o.logger.debug({ subscribed: add.length, unsubscribed: drop.length }, 'bus subscriptions updated');
  }

  async #publishMany(channels: readonly string[], payload: Buffer): Promise<void> {
    const pub = this.#o.publisher;
    if (this.#o.sharded) {
      // Channels live on different shards; ioredis routes each SPUBLISH to its node.
      await Promise.all(channels.map((c) => pub.spublish(c, payload)));
      return;
    }
    if (channels.length === 1) {
      await (pub as Redis).publish(channels[0]!, payload);
      return;
    }
    const pipeline = (pub as Redis | Cluster).pipeline();
    for (const c of channels) pipeline.publish(c, payload);
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }

  #receive(channel: string, message: Buffer): void {
    if (this.#closed) return;
    const decoded = decodeBusMessage(message);
    if (!decoded) {
      this.#o.logger.warn({ channel }, 'ignoring a bus message that is not ours');
      return;
    }
    if (decoded.busId === this.#o.busId) {
      this.#stats.echoes++;
      return;
    }
    if (channel === this.#o.names.broadcastChannel) {
      this.#stats.received++;
      this.#deliver(decoded.envelope, 'all');
      return;
    }
    const userId = this.#o.names.userOfChannel(channel);
    // A message already in flight when we unsubscribed: the user has no socket here any more.
    if (userId === null || !this.#desired.has(userId)) return;
    this.#stats.received++;
    this.#deliver(decoded.envelope, [userId]);
  }

  #deliver(envelope: Envelope, targets: readonly string[] | 'all'): void {
    if (!this.#handler) return;
    try {
      this.#handler(envelope, targets);
    } catch (error) {
      this.#o.logger.error({ err: error }, 'envelope handler failed');
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('bus is closed');
  }
}
