/**
 * How RedisBus gets an envelope for some users to the instances that hold them. Two
 * strategies share the bus's bookkeeping (wanted users, handler, broadcast channel):
 * - per-instance (redis-instance-routing.ts): standalone Redis with classic pub/sub, the default.
 *   One PUBLISH per target instance and batch; Redis itself looks up which instances hold whom.
 * - per-user (redis-user-routing.ts): sharded pub/sub (required on a Redis Cluster). One channel
 *   per user, so each shard carries only its users' traffic.
 * Both deliver to an instance only what it has a subscribed recipient for.
 */
import type { Logger } from '../../observability/logger.ts';
import type { RedisClient } from '../redis/clients.ts';
import type { RedisNames } from '../redis/keys.ts';
import type { Envelope } from '../types.ts';

export interface RoutingContext {
  publisher: RedisClient;
  subscriber: RedisClient;
  names: RedisNames;
  busId: string;
  logger: Logger;
  /** Users with a socket on this instance right now (checked on receipt: unsubscribes act at once). */
  wanted: ReadonlySet<string>;
  /** Changes whenever `wanted` does (a counter). */
  wantedVersion(): number;
  /** Hands an envelope to the bus's handler (errors are contained there). */
  deliver(envelope: Envelope, targets: readonly string[]): void;
  /** Counters shown on /health. */
  stats: RoutingCounters;
  /** A publish did not reach Redis: its remote recipients may miss the frame (RedisBus reports it). */
  publishFailed(): void;
}

export interface RoutingCounters {
  /** Redis messages published (per-user: one per recipient; per-instance: one per target instance and batch). */
  published: number;
  /** Envelopes received from other instances and handed to the handler. */
  received: number;
  /** Own echoes dropped (per-user routing only: we subscribe the channels we publish to). */
  echoes: number;
}

export interface BusRouting {
  readonly kind: 'per-instance' | 'per-user';
  /** Subscribes whatever this routing receives on (beyond the broadcast channel). */
  start(): Promise<void>;
  /** Make Redis route these users to this instance (`added`) or no longer (`removed`). */
  update(added: readonly string[], removed: readonly string[]): Promise<void>;
  /**
   * Publish to the other instances holding any of `userIds` (deduplicated by the caller). The
   * caller has already delivered to this instance's own recipients.
   */
  publish(userIds: readonly string[], envelope: Envelope, frame: Buffer): Promise<void>;
  /** Handles a message on one of this routing's channels; false when the channel is not ours. */
  receive(channel: string, message: Buffer): boolean;
  /** Called after the command connection came back: registrations may be lost. */
  reconnected(): Promise<void>;
  /** Stop routing to this instance (graceful shutdown). */
  close(): Promise<void>;
}
