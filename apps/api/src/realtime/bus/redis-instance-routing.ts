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
 * whose records are encoded here into one blob; an instance that needs all of them gets the
 * blob in one PUBLISH. Order per publisher is kept: batches go out on one connection in order
 * and records keep their order inside a batch.
 */
import type { LuaArg } from '../redis/lua-script.ts';
import type { Envelope } from '../types.ts';
import { decodeRecords, encodeRecordHeader } from './redis-codec.ts';
import { ROUTE_PUBLISH, ROUTES_REPLACE, ROUTES_UPDATE } from './redis-route-scripts.ts';
import type { BusRouting, RoutingContext } from './redis-routing.ts';

/** A batch is sent early at this many envelopes (keeps one script call short for Redis). */
const MAX_BATCH_ENVELOPES = 256;
/** …or at this many record bytes (1 MiB)… */
const MAX_BATCH_BYTES = 1024 * 1024;
/** …or at this many recipients over all its envelopes (each is one lookup in the script). */
const MAX_BATCH_RECIPIENTS = 20_000;

interface Batch {
  /** Header lines and frames, in blob order; joined into one Buffer when the batch is sent. */
  parts: (string | Buffer)[];
  /** The script's index: `[record bytes,[recipients…]]` per record, joined with commas when sent. */
  index: string[];
  envelopes: number;
  bytes: number;
  recipients: number;
  sent: boolean;
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export class PerInstanceRouting implements BusRouting {
  readonly kind = 'per-instance';
  readonly #c: RoutingContext;
  readonly #channel: string;
  #batch: Batch | null = null;

  constructor(context: RoutingContext) {
    this.#c = context;
    this.#channel = context.names.instanceChannelPrefix + context.busId;
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
    const targetsJson = JSON.stringify(userIds);
    const header = encodeRecordHeader(this.#c.busId, envelope, targetsJson, frame.length);
    const recordBytes = Buffer.byteLength(header) + frame.length;
    batch.parts.push(header, frame);
    batch.index.push(`[${recordBytes},${targetsJson}]`);
    batch.envelopes++;
    batch.bytes += recordBytes;
    batch.recipients += userIds.length;
    if (
      batch.envelopes >= MAX_BATCH_ENVELOPES ||
      batch.bytes >= MAX_BATCH_BYTES ||
      batch.recipients >= MAX_BATCH_RECIPIENTS
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
      parts: [],
      index: [],
      envelopes: 0,
      bytes: 0,
      recipients: 0,
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
    const names = this.#c.names;
    const args: LuaArg[] = [
      names.routeBase,
      names.instanceChannelPrefix,
      this.#c.busId,
      joinParts(batch.parts, batch.bytes),
      `[${batch.index.join(',')}]`,
    ];
    ROUTE_PUBLISH.run(this.#c.publisher, [], args).then((published) => {
      this.#c.stats.published += Number(published);
      batch.resolve();
    }, batch.reject);
  }
}

/** Concatenates header lines (UTF-8) and frames into one Buffer of exactly `bytes` bytes. */
function joinParts(parts: readonly (string | Buffer)[], bytes: number): Buffer {
  const blob = Buffer.allocUnsafe(bytes);
  let offset = 0;
  for (const part of parts) {
    offset += typeof part === 'string' ? blob.write(part, offset) : part.copy(blob, offset);
  }
  return blob;
}
