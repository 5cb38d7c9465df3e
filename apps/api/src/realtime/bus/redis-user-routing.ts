/**
 * Per-user routing for sharded pub/sub (and so for Redis Cluster): an instance SSUBSCRIBEs
 * `ws:user:{<id>}` while it holds a socket of that user; the hash tag spreads users over the
 * shards. A publish to N users is N SPUBLISHes of the same bytes (each to its shard); our own
 * copies come back and are dropped by the bus id in the header.
 */
import type { Envelope } from '../types.ts';
import { decodeBusMessage, encodeBusMessage } from './redis-codec.ts';
import type { BusRouting, RoutingContext } from './redis-routing.ts';

export class PerUserRouting implements BusRouting {
  readonly kind = 'per-user';
  readonly #c: RoutingContext;

  constructor(context: RoutingContext) {
    this.#c = context;
  }

  async start(): Promise<void> {}

  async update(added: readonly string[], removed: readonly string[]): Promise<void> {
    const sub = this.#c.subscriber;
    const channel = (u: string) => this.#c.names.userChannel(u);
    // In a cluster one SSUBSCRIBE may only name channels of one slot: one call per user.
    await Promise.all([
      ...added.map((u) => sub.ssubscribe(channel(u))),
      ...removed.map((u) => sub.sunsubscribe(channel(u))),
    ]);
  }

  async publish(userIds: readonly string[], envelope: Envelope, _frame: Buffer): Promise<void> {
    const payload = encodeBusMessage(this.#c.busId, envelope);
    const channels = userIds.map((u) => this.#c.names.userChannel(u));
    this.#c.stats.published += channels.length;
    const pub = this.#c.publisher;
    // Channels live on different shards; ioredis routes each SPUBLISH to its node.
    try {
      await Promise.all(channels.map((c) => pub.spublish(c, payload)));
    } catch (error) {
      this.#c.publishFailed();
      throw error;
    }
  }

  receive(channel: string, message: Buffer): boolean {
    const userId = this.#c.names.userOfChannel(channel);
    if (userId === null) return false;
    const decoded = decodeBusMessage(message);
    if (!decoded) {
      this.#c.logger.warn({ channel }, 'ignoring a bus message that is not ours');
      return true;
    }
    if (decoded.busId === this.#c.busId) {
      this.#c.stats.echoes++;
      return true;
    }
    // A message already in flight when we unsubscribed: the user has no socket here any more.
    if (!this.#c.wanted.has(userId)) return true;
    this.#c.stats.received++;
    this.#c.deliver(decoded.envelope, [userId]);
    return true;
  }

  // ioredis re-subscribes every channel after a reconnect (autoResubscribe): nothing to redo.
  async reconnected(): Promise<void> {}

  async close(): Promise<void> {}
}
