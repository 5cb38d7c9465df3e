/**
 * Presence changes from Redis: the presence scripts PUBLISH `{type: 'up'|'down', user_id}` on the
 * presence channel (seed: ws:presence) when a user's first connection arrives or their last one
 * goes; this subscribes to it on the instance's subscriber connection and hands each change to
 * the listeners.
 *
 * Subscribed only while someone listens: every instance that subscribes receives every change in
 * the cluster (about two per user session, not per message), so an instance whose sockets watch
 * nobody does not pay for them. The channel is a classic (not sharded) channel in a cluster too:
 * a script's PUBLISH reaches every node.
 */
import type { Logger } from '../../observability/logger.ts';
import type { RedisClient } from '../redis/clients.ts';
import type { PresenceChange, PresenceListener } from './presence.ts';

export class RedisPresenceChanges {
  readonly #subscriber: RedisClient;
  readonly #channel: string;
  readonly #logger: Logger;
  readonly #listeners = new Set<PresenceListener>();
  /** The SUBSCRIBE (or UNSUBSCRIBE) in flight; each waits for the one before. */
  #pending: Promise<void> = Promise.resolve();
  readonly #onMessage = (channel: Buffer, message: Buffer) => {
    if (channel.toString('utf8') !== this.#channel) return;
    const change = parseChange(message);
    if (change === null) {
      this.#logger.warn({ channel: this.#channel }, 'ignored a presence change that is not {type, user_id} JSON');
      return;
    }
    for (const listener of this.#listeners) listener(change);
  };

  constructor(subscriber: RedisClient, channel: string, logger: Logger) {
    this.#subscriber = subscriber;
    this.#channel = channel;
    this.#logger = logger;
  }

  /** Resolves once the channel is subscribed, so every change after it reaches `listener`. */
  async add(listener: PresenceListener): Promise<() => void> {
    const own: PresenceListener = (change) => listener(change);
    const first = this.#listeners.size === 0;
    this.#listeners.add(own);
    if (first) {
      this.#subscriber.on('messageBuffer', this.#onMessage);
      this.#pending = this.#pending.then(() => this.#subscriber.subscribe(this.#channel).then(() => {}));
    }
    try {
      await this.#pending;
    } catch (error) {
      this.#remove(own);
      throw error;
    }
    return () => this.#remove(own);
  }

  /** Stops every listener and unsubscribes; the subscriber connection itself is the caller's. */
  close(): void {
    if (this.#listeners.size === 0) return;
    this.#listeners.clear();
    this.#stop();
  }

  #remove(listener: PresenceListener): void {
    if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
    this.#stop();
  }

  #stop(): void {
    this.#subscriber.off('messageBuffer', this.#onMessage);
    this.#pending = this.#pending
      .catch(() => {})
      .then(() => this.#subscriber.unsubscribe(this.#channel).then(() => {}))
      .catch((error: unknown) => {
        // The subscriber is down: its re-subscription on reconnect skips channels we no longer
        // listen to only if ioredis forgot them, so a stray subscription costs a few messages at most.
        this.#logger.debug({ err: error }, 'could not unsubscribe from the presence channel');
      });
  }
}

function parseChange(message: Buffer): PresenceChange | null {
  try {
    const parsed: unknown = JSON.parse(message.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { type, user_id: userId } = parsed as { type?: unknown; user_id?: unknown };
    if (typeof userId !== 'string' || (type !== 'up' && type !== 'down')) return null;
    return { userId, online: type === 'up' };
  } catch {
    return null;
  }
}
