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
 * needs all of the records gets the blob in one PUBLISH. Order per publisher is kept: batches
 * go out on one connection in order and records keep their order inside a batch.
 */
import type { Redis } from 'ioredis';
import type { Envelope } from '../types.ts';
import { decodeRecords, encodeRecordMeta } from './redis-codec.ts';
import { RouteBatch, routeCommandHead } from './redis-route-batch.ts';
import { ROUTE_PUBLISH, ROUTES_REPLACE, ROUTES_UPDATE } from './redis-route-scripts.ts';
import type { BusRouting, RoutingContext } from './redis-routing.ts';

/** A batch is sent early at this many envelopes (keeps one script call short for Redis). */
const MAX_BATCH_ENVELOPES = 256;
/** …or at this many record bytes (1 MiB)… */
const MAX_BATCH_BYTES = 1024 * 1024;
/** …or at this many recipients over all its envelopes (each is one lookup in the script). */
const MAX_BATCH_RECIPIENTS = 20_000;

interface Batch {
  records: RouteBatch;
  sent: boolean;
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
  #batch: Batch | null = null;
  /** The last batch's size in bytes: the next one starts with room for as much. */
  #lastBatchBytes = 0;

  constructor(context: RoutingContext) {
    this.#c = context;
    this.#channel = context.names.instanceChannelPrefix + context.busId;
    this.#commandHead = routeCommandHead(
      ROUTE_PUBLISH.sha,
      context.names.routeBase,
      context.names.instanceChannelPrefix,
      context.busId,
    );
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
      records.append(userIds, encodeRecordMeta(this.#c.busId, envelope, frame.length), frame);
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
    const { records, malformed } = decodeRecords(message);
    if (malformed) this.#c.logger.warn({ channel }, 'ignoring a malformed record on the instance channel');
    const wanted = this.#c.wanted;
    for (const record of records) {
      if (record.busId === this.#c.busId) {
        this.#c.stats.echoes++;
        continue;
      }
      // Records list every recipient; ours are those with a socket here. A user whose last
      // socket closed after the publisher's lookup is no longer among them.
      const targets = record.targets.filter((u) => wanted.has(u));
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
      records: new RouteBatch(this.#commandHead, this.#lastBatchBytes),
      sent: false,
      promise,
      resolve,
      reject,
    };
    this.#batch = batch;
    setImmediate(() => this.#send(batch));
    return batch;
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
    // Per-instance routing runs on a standalone Redis only (redis-routing.ts), so this is a Redis.
    ROUTE_PUBLISH.runEncoded(this.#c.publisher as Redis, batch.records.finish()).then((published) => {
      this.#c.stats.published += Number(published);
      batch.resolve();
    }, batch.reject);
  }
}
