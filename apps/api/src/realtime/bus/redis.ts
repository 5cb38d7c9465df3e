/**
 * Bus over Redis pub/sub. An instance receives only traffic it delivers: it tells Redis
 * which users it holds, and a routing strategy (redis-routing.ts) gets each publish to the
 * instances holding its recipients — per instance on a standalone Redis (the default), per
 * user with sharded pub/sub (REDIS_SHARDED_PUBSUB, always on a Redis Cluster).
 * Instance-wide notices use the seed's `ws:broadcast`.
 *
 * Own recipients are handed to the local handler directly (no Redis round trip), in a microtask
 * as the Bus contract says. `probe()` measures the Redis leg itself (metrics): a PUBLISH to this
 * bus's own probe channel, timed until the subscriber receives it; probes never reach the handler.
 */
import type { Logger } from '../../observability/logger.ts';
import type { RedisClient } from '../redis/clients.ts';
import type { RedisNames } from '../redis/keys.ts';
import type { Envelope } from '../types.ts';
import type { Bus } from './bus.ts';
import { distinctUsers } from './distinct-users.ts';
import { RecoveryCheck } from './recovery-check.ts';
import { decodeBusMessage, encodeBusMessage, frameBytes } from './redis-codec.ts';
import { PerInstanceRouting } from './redis-instance-routing.ts';
import type { BusRouting, RoutingCounters } from './redis-routing.ts';
import { PerUserRouting } from './redis-user-routing.ts';

type Handler = (envelope: Envelope, targets: readonly string[] | 'all') => void;

export interface RedisBusOptions {
  publisher: RedisClient;
  subscriber: RedisClient;
  names: RedisNames;
  /** Unique per bus (the instance id). */
  busId: string;
  sharded: boolean;
  logger: Logger;
  /**
   * Per-instance routing only: envelopes per batch from which the publisher looks the routes up
   * and PUBLISHes itself instead of running the routing script (redis-instance-routing.ts;
   * default DEFAULT_ROUTE_LOOKUP_FROM). Tests and the bench's route-cost tool set it.
   */
  routeLookupFrom?: number;
}

export interface RedisBusStats extends RoutingCounters {
  /** Users this instance is routed for (a socket here, confirmed by Redis). */
  subscribedUsers: number;
}

export class RedisBus implements Bus {
  readonly #o: RedisBusOptions;
  /** Users we want routed here; the receive path checks it, so an unsubscribe takes effect at once. */
  readonly #desired = new Set<string>();
  /** Bumped by every change of `#desired` (LocalRecipients keeps answers until it moves). */
  #desiredVersion = 0;
  /** Users whose routing Redis has confirmed. */
  readonly #active = new Set<string>();
  /** Users (un)subscribed since the last flush: the flush looks at these only, not at every user. */
  #touched = new Set<string>();
  readonly #routing: BusRouting;
  readonly #stats: RoutingCounters = { published: 0, received: 0, echoes: 0 };
  #handler: Handler | null = null;
  #recoveredHandler: (() => void) | null = null;
  #closed = false;
  #reconnecting = false;
  #subscriberReconnecting = false;
  readonly #recovery: RecoveryCheck;
  /** Some publish failed since the last report to the peers (see #publishFailed). */
  #publishesLost = false;
  /** This bus's probe channel, and the probes waiting for their message (id → done). */
  readonly #probeChannel: string;
  readonly #probes = new Map<string, (arrived: boolean) => void>();
  #probeSeq = 0;
  /** Route updates, one at a time: the running one, then at most one queued (#flushQueued). */
  #flushChain: Promise<void> = Promise.resolve();
  #flushQueued: Promise<void> | null = null;
  readonly #onMessage = (channel: Buffer, message: Buffer) => this.#receive(channel.toString('utf8'), message);
  readonly #onReconnecting = () => {
    this.#reconnecting = true;
  };
  readonly #onReady = () => {
    if (this.#closed) return;
    if (this.#publishesLost) this.#reportLostPublishes();
    if (!this.#reconnecting) return;
    this.#reconnecting = false;
    void this.resync().catch((error: unknown) => {
      this.#o.logger.warn({ err: error }, 'bus could not re-register its routes after a reconnect');
    });
  };
  readonly #onSubscriberReconnecting = () => {
    this.#subscriberReconnecting = true;
  };
  /** Messages published while our subscriber was away never reach us: ask for a check. */
  readonly #onSubscriberReady = () => {
    if (!this.#subscriberReconnecting || this.#closed) return;
    this.#subscriberReconnecting = false;
    this.#recover();
  };

  constructor(options: RedisBusOptions) {
    this.#o = options;
    this.#probeChannel = options.names.probeChannel(options.busId);
    this.#recovery = new RecoveryCheck({
      untilLive: () => this.#untilLive(),
      recovered: () => {
        if (!this.#closed) this.#recoveredHandler?.();
      },
      logger: options.logger,
    });
    const context = {
      publisher: options.publisher,
      subscriber: options.subscriber,
      names: options.names,
      busId: options.busId,
      logger: options.logger,
      wanted: this.#desired,
      wantedVersion: () => this.#desiredVersion,
      stats: this.#stats,
      deliver: (envelope: Envelope, targets: readonly string[]) => this.#deliver(envelope, targets),
      publishFailed: () => this.#publishFailed(),
    };
    this.#routing = options.sharded
      ? new PerUserRouting(context)
      : new PerInstanceRouting(context, options.routeLookupFrom);
    options.subscriber.on(options.sharded ? 'smessageBuffer' : 'messageBuffer', this.#onMessage);
    options.publisher.on('reconnecting', this.#onReconnecting);
    options.publisher.on('ready', this.#onReady);
    options.subscriber.on('reconnecting', this.#onSubscriberReconnecting);
    options.subscriber.on('ready', this.#onSubscriberReady);
  }

  get routing(): BusRouting['kind'] {
    return this.#routing.kind;
  }

  /** Resolves once the instance-wide channel and the routing's own channels are subscribed. */
  async start(): Promise<void> {
    const channels = [this.#o.names.broadcastChannel, this.#probeChannel];
    // One channel per call: in a cluster each SSUBSCRIBE may name channels of one slot only.
    for (const channel of channels) {
      if (this.#o.sharded) await this.#o.subscriber.ssubscribe(channel);
      else await this.#o.subscriber.subscribe(channel);
    }
    await this.#routing.start();
  }

  /**
   * Publishes a probe to this bus's own probe channel on the command connection and resolves
   * with the seconds until the subscriber connection received it: the publish-to-receive time of
   * Redis pub/sub as the bus's envelopes see it. Resolves null when the publish failed or nothing
   * arrived within `timeoutMs`. Never rejects.
   */
  probe(timeoutMs: number): Promise<number | null> {
    if (this.#closed) return Promise.resolve(null);
    const id = String(++this.#probeSeq);
    const started = performance.now();
    return new Promise((resolve) => {
      const settle = (arrived: boolean) => {
        clearTimeout(timer);
        this.#probes.delete(id);
        resolve(arrived ? (performance.now() - started) / 1000 : null);
      };
      const lost = () => settle(false);
      const timer = setTimeout(lost, timeoutMs);
      timer.unref();
      this.#probes.set(id, settle);
      const { publisher } = this.#o;
      const published = this.#o.sharded
        ? publisher.spublish(this.#probeChannel, id)
        : publisher.publish(this.#probeChannel, id);
      published.catch(lost);
    });
  }

  stats(): RedisBusStats {
    return { ...this.#stats, subscribedUsers: this.#active.size };
  }

  onEnvelope(handler: Handler): void {
    if (this.#handler) throw new Error(`redis bus ${this.#o.busId}: onEnvelope was already called`);
    this.#handler = handler;
  }

  /**
   * Not `async` on purpose: it returns the routing's promise (settled once Redis has run the
   * batch), so no suspended frame of ours keeps the envelope alive meanwhile (GC: see #guard's note).
   */
  publishToUsers(userIds: readonly string[], envelope: Envelope): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('bus is closed'));
    const unique = distinctUsers(userIds);
    // Bytes once: the local sockets and Redis get the same Buffer.
    const frame = frameBytes(envelope);
    const sent = frame === envelope.frame ? envelope : { ...envelope, frame };
    const local = unique.filter((u) => this.#desired.has(u));
    if (local.length > 0) this.#deliverOwn(sent, local);
    return this.#routing.publish(unique, sent, frame);
  }

  async publishToAll(envelope: Envelope): Promise<void> {
    this.#assertOpen();
    this.#deliverOwn(envelope, 'all');
    this.#stats.published += 1;
    try {
      await this.#publishToPeers(envelope);
    } catch (error) {
      this.#publishFailed();
      throw error;
    }
  }

  onRecovered(handler: () => void): void {
    if (this.#recoveredHandler) throw new Error(`redis bus ${this.#o.busId}: onRecovered was already called`);
    this.#recoveredHandler = handler;
  }

  subscribeUser(userId: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('bus is closed'));
    this.#desired.add(userId);
    this.#desiredVersion++;
    this.#touched.add(userId);
    return this.#scheduleFlush();
  }

  unsubscribeUser(userId: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('bus is closed'));
    this.#desired.delete(userId);
    this.#desiredVersion++;
    this.#touched.add(userId);
    return this.#scheduleFlush();
  }

  /**
   * Register every user we hold again (Redis restarted, or a peer reaped this instance during
   * a long pause). Queued behind pending (un)subscribes so it never undoes a newer one; later ones queue behind it.
   */
  resync(): Promise<void> {
    this.#flushQueued = null;
    this.#flushChain = this.#flushChain
      .catch(() => undefined)
      .then(async () => {
        await this.#routing.reconnected();
        this.#active.clear();
        for (const u of this.#desired) this.#active.add(u);
      });
    // Until the routes were back, peers published to nobody for our users.
    this.#flushChain.then(
      () => this.#recover(),
      () => undefined,
    );
    return this.#flushChain;
  }

  /** Drops a dead instance's routes (called when presence reaps it). */
  async forgetInstance(instanceId: string): Promise<void> {
    if (this.#routing instanceof PerInstanceRouting) {
      const forgotten = await this.#routing.forgetInstance(instanceId);
      if (forgotten > 0)
        this.#o.logger.warn(
          { deadInstance: instanceId, routes: forgotten },
          'forgot the bus routes of a dead instance',
        );
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.subscriber.off(this.#o.sharded ? 'smessageBuffer' : 'messageBuffer', this.#onMessage);
    this.#o.publisher.off('reconnecting', this.#onReconnecting);
    this.#o.publisher.off('ready', this.#onReady);
    this.#o.subscriber.off('reconnecting', this.#onSubscriberReconnecting);
    this.#o.subscriber.off('ready', this.#onSubscriberReady);
    for (const settle of [...this.#probes.values()]) settle(false);
    await this.#flushChain.catch(() => undefined);
    await this.#routing.close().catch((error: unknown) => {
      this.#o.logger.warn({ err: error }, "could not remove this instance's bus routes on close; peers will reap them");
    });
  }

  /**
   * The update that will carry this (un)subscribe: the one queued behind the running update (it
   * takes #touched when it starts), else a new one. Not one per event-loop turn: with a storm's
   * upgrades finishing one per turn, each such update cost a round trip while more turns queued
   * more, so callers waited for a queue that only grew (docs/benchmarks.md, round 6, eighth pass).
   */
  #scheduleFlush(): Promise<void> {
    if (this.#flushQueued !== null) return this.#flushQueued;
    const queued = this.#flushChain
      .catch(() => undefined)
      .then(() => {
        this.#flushQueued = null;
        return this.#flush();
      });
    this.#flushQueued = queued;
    this.#flushChain = queued;
    return queued;
  }

  async #flush(): Promise<void> {
    const touched = this.#touched;
    this.#touched = new Set();
    const added: string[] = [];
    const removed: string[] = [];
    for (const u of touched) {
      const wanted = this.#desired.has(u);
      if (wanted && !this.#active.has(u)) added.push(u);
      else if (!wanted && this.#active.has(u)) removed.push(u);
    }
    if (added.length === 0 && removed.length === 0) return;
    try {
      await this.#routing.update(added, removed);
    } catch (error) {
      // Not applied: the next flush (or the re-sync after a reconnect) tries these users again.
      for (const u of touched) this.#touched.add(u);
      throw error;
    }
    for (const u of added) this.#active.add(u);
    for (const u of removed) this.#active.delete(u);
    this.#o.logger.debug({ subscribed: added.length, unsubscribed: removed.length }, 'bus routes updated');
  }

  #receive(channel: string, message: Buffer): void {
    if (this.#closed) return;
    if (channel === this.#probeChannel) {
      this.#probes.get(message.toString('latin1'))?.(true);
      return;
    }
    if (channel === this.#o.names.broadcastChannel) {
      const decoded = decodeBusMessage(message);
      if (!decoded) {
        this.#o.logger.warn({ channel }, 'ignoring a bus message that is not ours');
        return;
      }
      if (decoded.busId === this.#o.busId) {
        this.#stats.echoes++;
        return;
      }
      this.#stats.received++;
      if (decoded.envelope.control?.type === 'check_positions') {
        this.#recover();
        return;
      }
      this.#deliver(decoded.envelope, 'all');
      return;
    }
    if (!this.#routing.receive(channel, message)) {
      this.#o.logger.warn({ channel }, 'ignoring a message on a channel the bus does not use');
    }
  }

  #publishToPeers(envelope: Envelope): Promise<unknown> {
    const channel = this.#o.names.broadcastChannel;
    const payload = encodeBusMessage(this.#o.busId, envelope);
    return this.#o.sharded ? this.#o.publisher.spublish(channel, payload) : this.#o.publisher.publish(channel, payload);
  }

  /**
   * A publish failed (the command connection fails fast while Redis is away): its recipients on
   * other instances may lack frames whose events are stored. Once the connection is ready again,
   * every instance is asked to check its sockets' positions (a `check_positions` control).
   */
  #publishFailed(): void {
    this.#publishesLost = true;
    // Failed although connected (e.g. a timeout): report as soon as a publish can get through.
    if (this.#o.publisher.status === 'ready') setTimeout(() => this.#reportLostPublishes(), 100).unref();
  }

  #reportLostPublishes(): void {
    if (!this.#publishesLost || this.#closed) return;
    this.#publishesLost = false;
    const report: Envelope = { frame: '', control: { type: 'check_positions' }, origin: this.#o.busId };
    this.#publishToPeers(report).catch((error: unknown) => {
      this.#publishesLost = true;
      this.#o.logger.warn({ err: error }, 'could not ask the other instances to check positions after lost publishes');
    });
  }

  /** Envelopes for our users may have been lost: tell the listener once routes and subscriptions are live (recovery-check.ts). */
  #recover(): void {
    if (!this.#closed && this.#recoveredHandler) this.#recovery.request();
  }

  async #untilLive(): Promise<void> {
    await this.#flushChain.catch(() => undefined);
    // ioredis re-subscribes before it reports `ready`, on the same connection: once a PING sent
    // now is answered, those subscriptions are live. (A Cluster's sharded subscribers have no
    // single connection to ask; there the check runs at once.)
    const subscriber = this.#o.subscriber;
    if (!this.#o.sharded && 'ping' in subscriber && !('nodes' in subscriber)) await subscriber.ping();
  }

  /** This instance's own recipients of its publish: in a microtask (Bus contract), skipped if the bus closed meanwhile. */
  #deliverOwn(envelope: Envelope, targets: readonly string[] | 'all'): void {
    queueMicrotask(() => {
      if (!this.#closed) this.#deliver(envelope, targets);
    });
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
