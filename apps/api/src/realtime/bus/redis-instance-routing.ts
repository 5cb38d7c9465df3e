/**
 * Per-instance routing (standalone Redis, classic pub/sub): each instance subscribes ONE
 * channel, `ws:instance:<id>`, and registers in Redis which users it holds. A publish goes
 * to Redis once, as a Lua script that looks up the recipients' instances and PUBLISHes the
 * records to each target instance (redis-route-scripts.ts). A record lists every recipient;
 * the receiving instance delivers to those it holds.
 *
 * Why: per-user channels cost one PUBLISH (with the whole frame) per recipient, and the
 * publisher received its own copies back. Here a message for a room of 10 split over two
 * instances is one script call and one PUBLISH; an instance holding no recipient still gets
 * nothing, and the publisher gets no echo.
 *
 * Batching: publishes of one event-loop turn (until `setImmediate`) share one script call,
 * whose bytes are encoded as the publishes arrive (redis-route-batch.ts); an instance that
 * needs all of the records gets the blob in one PUBLISH. While a batch is in flight (sent, its
 * answer not back), the next one goes on gathering publishes and is sent when that answer
 * arrives, or at once when it is full (MAX_BATCH_*): the group commit's policy (db/batch-gate.ts)
 * with one batch in flight. Why: a busy publisher reads a few frames per turn, so turn-sized
 * batches were small exactly when the instance was busiest, and each batch costs the publisher,
 * Redis and every receiving instance a write, a wake-up and a read (scenario 4,
 * docs/benchmarks.md round 6). A quiet publisher's lone publish still waits one turn only.
 * Batches are written into buffers kept across batches (batch-buffers.ts).
 *
 * A batch of `lookupFrom` envelopes or more is routed by the publisher instead: one `HMGET` of
 * its recipients' routes, then one PUBLISH per target instance (redis-route-lookup.ts), which
 * costs Redis far less per envelope but takes a second round trip.
 *
 * Order per publisher is kept: batches go out on one connection in order, records keep their
 * order inside a batch, and while a batch waits for its routes the batches after it wait too
 * (in `#waiting`), so its PUBLISHes are written before theirs. The script is loaded (SCRIPT
 * LOAD) on each new connection before its first EVALSHA, so no batch meets NOSCRIPT while a
 * later one, sent before the answer, finds the script (loaded meanwhile by another instance)
 * and overtakes it. Only an operator's SCRIPT FLUSH, or the calls ioredis sends again after a
 * reconnect, can still meet NOSCRIPT: such a call is sent again as one EVAL (lua-script.ts).
 */
import type { Redis } from 'ioredis';
import { encodePublish, sendEncoded, sendNow } from '../redis/encoded-command.ts';
import type { Envelope } from '../types.ts';
import { BatchBuffers } from './batch-buffers.ts';
import { LocalRecipients } from './local-recipients.ts';
import { RecipientsLineEncoder, RecordDecoder, RecordMetaEncoder } from './redis-codec.ts';
import { RouteBatch, routeCommandHead } from './redis-route-batch.ts';
import { distinctRecipients, planPublishes, RouteCache } from './redis-route-lookup.ts';
import { ROUTE_PUBLISH, ROUTES_REPLACE, ROUTES_UPDATE } from './redis-route-scripts.ts';
import type { BusRouting, RoutingContext } from './redis-routing.ts';

/** A batch is sent at this many envelopes even while another is in flight (keeps one script call short for Redis). */
export const MAX_BATCH_ENVELOPES = 256;
/** …or at this many record bytes (1 MiB)… */
const MAX_BATCH_BYTES = 1024 * 1024;
/** …or at this many recipients over all its envelopes (each is one lookup in the script). */
const MAX_BATCH_RECIPIENTS = 20_000;
/** Batch buffers up to this size are kept for later batches (a full batch's, with room). */
const MAX_KEPT_BUFFER_BYTES = 2 * MAX_BATCH_BYTES;
/**
 * From this many envelopes a batch's routes are looked up by the publisher instead of the
 * script (default 16: there the two cost about the same in all, Redis and the publisher
 * together; from 20 on the look-up costs less, most of it Redis's; measured with
 * bench/src/tools/route-cost.ts, docs/benchmarks.md round 6, goal 3).
 */
export const DEFAULT_ROUTE_LOOKUP_FROM = 16;

interface Batch {
  records: RouteBatch;
  sent: boolean;
  /** Its send is queued (setImmediate); until then it waits for the batch in flight to be answered. */
  scheduled: boolean;
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export class PerInstanceRouting implements BusRouting {
  readonly kind = 'per-instance';
  readonly #c: RoutingContext;
  readonly #channel: string;
  /** The constant start of every batch's script call. */
  readonly #commandHead: Buffer;
  readonly #lookupFrom: number;
  #batch: Batch | null = null;
  /** Batches sent whose Redis answers are not all back (a full batch may join one in flight). */
  #batchesInFlight = 0;
  /** The buffers batches are written into, kept across batches (batch-buffers.ts). */
  readonly #buffers = new BatchBuffers(MAX_KEPT_BUFFER_BYTES);
  /** The last batch's size in bytes: the next one starts with room for as much. */
  #lastBatchBytes = 0;
  /** A batch is waiting (for its routes, or for the script calls before it): later batches wait in `#waiting`, in order. */
  #held = false;
  readonly #waiting: Batch[] = [];
  /** Script calls sent and not yet answered (a NOSCRIPT one is sent again: still unanswered). */
  #scriptsInFlight = 0;
  readonly #scriptsAnswered: (() => void)[] = [];
  readonly #routeCache: RouteCache;
  readonly #recipientsLines = new RecipientsLineEncoder();
  readonly #recordMetas: RecordMetaEncoder;
  readonly #decoder = new RecordDecoder();
  readonly #localRecipients: LocalRecipients;
  /**
   * Counts the publisher's connections: each new one may reach a Redis with other data (a
   * restart from an older snapshot, a promoted replica, where the routes' version can come back
   * to a value we cached) and without our script.
   */
  #connection = 0;
  /** The connection on which the routing script was loaded before our first EVALSHA on it. */
  #scriptLoadedOn = -1;
  readonly #onPublisherReady = () => {
    this.#connection++;
    this.#routeCache.check(null);
  };

  /** `lookupFrom`: envelopes per batch from which the publisher looks routes up itself. */
  constructor(context: RoutingContext, lookupFrom = DEFAULT_ROUTE_LOOKUP_FROM) {
    this.#c = context;
    this.#lookupFrom = lookupFrom;
    this.#routeCache = new RouteCache(context.busId);
    this.#recordMetas = new RecordMetaEncoder(context.busId);
    this.#localRecipients = new LocalRecipients(context.wanted, context.wantedVersion);
    this.#channel = context.names.instanceChannelPrefix + context.busId;
    this.#commandHead = routeCommandHead(
      ROUTE_PUBLISH.sha,
      context.names.routeBase,
      context.names.instanceChannelPrefix,
      context.busId,
    );
    context.publisher.on('ready', this.#onPublisherReady);
  }

  /** Subscribes our channel and forgets routes a previous process with our id left behind. */
  async start(): Promise<void> {
    await this.#c.subscriber.subscribe(this.#channel);
    await this.forgetInstance(this.#c.busId);
  }

  async update(added: readonly string[], removed: readonly string[]): Promise<void> {
    await ROUTES_UPDATE.run(
      this.#c.publisher,
      [],
      [this.#c.names.routeBase, this.#c.busId, String(added.length), ...added, ...removed],
    );
  }

  publish(userIds: readonly string[], envelope: Envelope, frame: Buffer): Promise<void> {
    const batch = this.#batch ?? this.#open();
    const records = batch.records;
    try {
      records.append(
        userIds,
        this.#recipientsLines.encode(userIds),
        this.#recordMetas.encode(envelope, frame.length),
        frame,
      );
    } catch (error) {
      return Promise.reject(error);
    }
    if (
      records.envelopes >= MAX_BATCH_ENVELOPES ||
      records.bytes >= MAX_BATCH_BYTES ||
      records.recipients >= MAX_BATCH_RECIPIENTS
    ) {
      this.#send(batch);
    }
    return batch.promise;
  }

  receive(channel: string, message: Buffer): boolean {
    if (channel !== this.#channel) return false;
    const { records, malformed } = this.#decoder.decode(message);
    if (malformed) this.#c.logger.warn({ channel }, 'ignoring a malformed record on the instance channel');
    for (const record of records) {
      if (record.busId === this.#c.busId) {
        this.#c.stats.echoes++;
        continue;
      }
      // Records list every recipient; ours are those with a socket here. A user whose last
      // socket closed after the publisher's lookup is no longer among them.
      const targets = this.#localRecipients.of(record.recipients);
      if (targets.length === 0) continue;
      this.#c.stats.received++;
      this.#c.deliver(record.envelope, targets);
    }
    return true;
  }

  /** Redis may have lost our registrations (restart, failover): register what we hold again. */
  async reconnected(): Promise<void> {
    await ROUTES_REPLACE.run(this.#c.publisher, [], [this.#c.names.routeBase, this.#c.busId, ...this.#c.wanted]);
  }

  /** Graceful shutdown: peers stop publishing to us at once. */
  async close(): Promise<void> {
    this.#c.publisher.off('ready', this.#onPublisherReady);
    await this.forgetInstance(this.#c.busId);
  }

  /** Drops every route of an instance (ours at start/close, or a dead peer's when presence reaps it). */
  async forgetInstance(instanceId: string): Promise<number> {
    return Number(await ROUTES_REPLACE.run(this.#c.publisher, [], [this.#c.names.routeBase, instanceId]));
  }

  #open(): Batch {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Callers await this promise; this handler only keeps a caller that did not from crashing the process.
    promise.catch(() => undefined);
    const batch: Batch = {
      records: new RouteBatch(this.#commandHead, this.#lastBatchBytes, this.#buffers),
      sent: false,
      scheduled: false,
      promise,
      resolve,
      reject,
    };
    this.#batch = batch;
    if (this.#batchesInFlight === 0) this.#schedule(batch);
    return batch;
  }

  #schedule(batch: Batch): void {
    batch.scheduled = true;
    setImmediate(() => this.#send(batch));
  }

  /**
   * A sent batch was answered (or failed): the batch gathering behind it may go. `answered`: every
   * command carrying its bytes was answered, so later batches may write over its buffer.
   */
  #settled(batch: Batch, answered: boolean): void {
    if (answered) batch.records.release();
    this.#batchesInFlight--;
    const gathering = this.#batch;
    if (this.#batchesInFlight === 0 && gathering !== null && !gathering.scheduled) this.#schedule(gathering);
  }

  #send(batch: Batch): void {
    if (batch.sent) return;
    batch.sent = true;
    if (this.#batch === batch) this.#batch = null;
    this.#lastBatchBytes = batch.records.bytes;
    // Every publish of this batch was refused (a bad user id): there is nothing to route.
    if (batch.records.envelopes === 0) {
      batch.resolve();
      return;
    }
    this.#batchesInFlight++;
    if (this.#held) this.#waiting.push(batch);
    else this.#dispatch(batch);
  }

  #dispatch(batch: Batch): void {
    if (batch.records.envelopes >= this.#lookupFrom) {
      this.#lookUpAndPublish(batch);
      return;
    }
    // Per-instance routing runs on a standalone Redis only (redis-routing.ts), so this is a Redis.
    const publisher = this.#c.publisher as Redis;
    if (this.#scriptLoadedOn !== this.#connection) {
      const before = this.#scriptsSettled();
      if (before) {
        // Calls from the connection before, sent again by ioredis, may still meet NOSCRIPT.
        this.#held = true;
        this.#waiting.unshift(batch);
        void before.then(() => this.#resume());
        return;
      }
      // Its failure (Redis away) fails the EVALSHA after it too; a NOSCRIPT would then be retried.
      ROUTE_PUBLISH.load(publisher).catch(() => undefined);
      this.#scriptLoadedOn = this.#connection;
    }
    const bytes = batch.records.finish();
    this.#scriptsInFlight++;
    let answered = false;
    ROUTE_PUBLISH.runEncoded(publisher, bytes)
      .then(
        (published) => {
          answered = true;
          this.#c.stats.published += Number(published);
          batch.resolve();
        },
        (error: unknown) => this.#failed(batch, error),
      )
      .finally(() => {
        this.#settled(batch, answered);
        if (--this.#scriptsInFlight > 0) return;
        for (const wake of this.#scriptsAnswered.splice(0)) wake();
      });
  }

  /**
   * Resolves once every script call sent so far is answered. A look-up batch's PUBLISHes wait
   * for it: a script call that met NOSCRIPT is sent again after the look-up's own commands, and
   * the look-up's records must not overtake it. Usually already true: those calls went out
   * before the look-up, on the same connection.
   */
  #scriptsSettled(): Promise<void> | undefined {
    if (this.#scriptsInFlight === 0) return undefined;
    return new Promise((resolve) => this.#scriptsAnswered.push(resolve));
  }

  /** Never rejects: a failure rejects the batch's promise (its callers') instead. */
  async #lookUpAndPublish(batch: Batch): Promise<void> {
    this.#held = true;
    let resumed = false;
    let answered = false;
    try {
      await this.#readRoutes(batch.records.targets, batch.records.recipients);
      const scripts = this.#scriptsSettled();
      if (scripts) await scripts;
      const { blob, ends } = batch.records.records();
      const publishes = planPublishes(batch.records.targets, this.#routeCache, blob, ends);
      const publisher = this.#c.publisher as Redis;
      const prefix = this.#c.names.instanceChannelPrefix;
      let inPlace = true;
      const sent = publishes.map((p) => {
        const channel = prefix + p.instanceId;
        // The first instance that takes every record gets them where they lie; others a copy.
        const bytes = (p.whole && inPlace && batch.records.publishAll(channel)) || encodePublish(channel, p.parts);
        if (p.whole) inPlace = false;
        return sendEncoded(publisher, 'publish', bytes);
      });
      // Written to the socket above: the batches behind this one may go now.
      resumed = true;
      this.#resume();
      await Promise.all(sent);
      answered = true;
      this.#c.stats.published += publishes.length;
      batch.resolve();
    } catch (error) {
      if (!resumed) this.#resume();
      this.#failed(batch, error);
    } finally {
      // After a failure a PUBLISH carrying the buffer's bytes may still be pending: not reused.
      this.#settled(batch, answered);
    }
  }

  /**
   * Makes the route cache hold every recipient's route. One round trip (the version and the
   * unknown routes, pipelined); two when the version moved and the routes the cache held have
   * to be read again.
   */
  async #readRoutes(targets: readonly (readonly string[])[], recipients: number): Promise<void> {
    const publisher = this.#c.publisher as Redis;
    const routesKey = `${this.#c.names.routeBase}:routes`;
    const hmget = (users: string[]) =>
      users.length > 0 ? (sendNow(publisher, 'hmget', [routesKey, ...users]) as Promise<(string | null)[]>) : [];
    const cache = this.#routeCache;
    const unknown = cache.unknown(targets, recipients);
    const connection = this.#connection;
    const [version, read] = await Promise.all([
      sendNow(publisher, 'get', [`${this.#c.names.routeBase}:routes_version`]) as Promise<string | null>,
      hmget(unknown),
    ]);
    // Answered by the Redis of a later connection (ioredis sent it again): its version may repeat one we saw.
    if (cache.check(connection === this.#connection ? version : null)) {
      cache.store(unknown, read);
      return;
    }
    // The copy is gone: read what it held again, after the version just read.
    const unread = new Set(unknown);
    const known = distinctRecipients(targets).filter((u) => !unread.has(u));
    const again = await hmget(known);
    cache.store(unknown, read);
    cache.store(known, again);
  }

  /** Sends the waiting batches in order, until one of them has to wait for its routes again. */
  #resume(): void {
    this.#held = false;
    while (!this.#held && this.#waiting.length > 0) this.#dispatch(this.#waiting.shift()!);
  }

  #failed(batch: Batch, error: unknown): void {
    this.#c.publishFailed();
    batch.reject(error);
  }
}
