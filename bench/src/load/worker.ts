/**
 * One worker thread of the load generator: opens its share of the clients, publishes (open
 * loop at a fixed rate, or closed loop with a window of messages in flight per publisher,
 * completed by the room's sentinel subscriber in this same thread), and counts deliveries
 * and their latency from the send time in each payload.
 */
import { parentPort } from 'node:worker_threads';
import { Histogram } from '../common/histogram.ts';
import { makeBody, nowMicros, readMarker, readSentMicros } from '../common/marker.ts';
import type { ClientSpec, GeneratorCommand, GeneratorReply, RunOptions, SlowStatus } from '../common/types.ts';
import { type BenchClient, connectClient } from './clients.ts';
import { closeConnectRate, prepareConnectRate, runConnectRate } from './connect-rate.ts';
import { addStormClient, closeStormClients, reroute, stormStatus } from './storm-registry.ts';

interface Publisher {
  client: BenchClient;
  room: string;
  /** Sequence numbers keep growing across runs, so a late delivery of an earlier run cannot open the window. */
  sent: number;
  completed: number;
  /** `sent` when the current run started (open loop counts what is due from here). */
  base: number;
  lastProgress: number;
  /** Open loop: own rate (msg/s) and body size when the spec gave them; phase in [0, 1) of a period. */
  rate?: number;
  bodyBytes?: number;
  phase: number;
}

const port = parentPort!;
const clients: BenchClient[] = [];
const publishers: Publisher[] = [];
/** The publisher whose window a room's sentinel completes (closed loop: one publisher per room). */
const byRoom = new Map<string, Publisher>();
/** The slow consumer of scenario 5, if this worker holds it: its deliveries are not in the histogram. */
let slowClient: BenchClient | undefined;
let slow: SlowStatus | undefined;
const histogram = new Histogram();
let delivered = 0;
let published = 0;
let skipped = 0;
let dropped = 0;
let closing = false;
let timer: NodeJS.Timeout | undefined;
let options: RunOptions | undefined;
let startedAt = 0;
let running = false;

function send(message: GeneratorReply): void {
  port.postMessage(message);
}

function onFrame(frame: Buffer | string): void {
  const buf = typeof frame === 'string' ? Buffer.from(frame, 'latin1') : frame;
  const sent = readSentMicros(buf);
  if (sent < 0) return;
  delivered++;
  histogram.record(nowMicros() - sent);
}

function onSentinelFrame(frame: Buffer | string): void {
  onFrame(frame);
  const marker = readMarker(frame);
  if (!marker) return;
  const publisher = byRoom.get(marker.room);
  if (!publisher) return;
  publisher.completed = Math.max(publisher.completed, marker.seq);
  publisher.lastProgress = performance.now();
  if (running && options?.mode === 'closed') fill(publisher);
}

const onDrop = () => {
  if (!closing) dropped++;
};

function onSlowFrame(frame: Buffer | string): void {
  const buf = typeof frame === 'string' ? Buffer.from(frame, 'latin1') : frame;
  const sent = readSentMicros(buf);
  if (sent < 0 || !slow) return;
  slow.delivered++;
  slow.lastSentMicros = Math.max(slow.lastSentMicros, sent);
}

const onSlowDrop = (code: number | string) => {
  if (!slow || closing) return;
  slow.closeCode = code;
  slow.closedAt = Date.now();
};

async function connectOne(spec: ClientSpec): Promise<void> {
  if (spec.storm) return addStormClient(spec);
  if (spec.slow) {
    slow = { delivered: 0, lastSentMicros: 0, closeCode: null, closedAt: null };
    slowClient = await connectClient(spec, onSlowFrame, onSlowDrop);
    clients.push(slowClient);
    return;
  }
  const client = await connectClient(spec, spec.sentinelFor ? onSentinelFrame : onFrame, onDrop);
  clients.push(client);
  if (!spec.publishTo) return;
  const publisher: Publisher = {
    client,
    room: spec.publishTo,
    sent: 0,
    completed: 0,
    base: 0,
    lastProgress: 0,
    phase: spec.phase ?? 0,
    ...(spec.rate !== undefined ? { rate: spec.rate } : {}),
    ...(spec.bodyBytes !== undefined ? { bodyBytes: spec.bodyBytes } : {}),
  };
  publishers.push(publisher);
  if (!byRoom.has(spec.publishTo)) byRoom.set(spec.publishTo, publisher);
}

async function connectAll(specs: ClientSpec[], concurrency: number): Promise<void> {
  let next = 0;
  let failed = 0;
  let connected = 0;
  let firstError: string | undefined;
  const lane = async () => {
    while (next < specs.length) {
      const spec = specs[next++]!;
      try {
        await connectOne(spec);
        connected++;
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, lane));
  send({ type: 'connected', connected, failed, ...(firstError ? { firstError } : {}) });
}

function publishOne(publisher: Publisher): void {
  publisher.sent++;
  published++;
  const bytes = publisher.bodyBytes ?? options!.bodyBytes;
  publisher.client.publish(publisher.room, makeBody(publisher.room, publisher.sent, bytes));
}

/** Closed loop: keep `window` messages in flight. */
function fill(publisher: Publisher): void {
  while (publisher.sent - publisher.completed < options!.window) publishOne(publisher);
}

/** Open loop: send what is due by the clock, whatever the replies do. */
function tickOpen(): void {
  const elapsed = (performance.now() - startedAt) / 1000;
  for (const publisher of publishers) {
    const due = publisher.base + Math.floor(elapsed * (publisher.rate ?? options!.ratePerPublisher) + publisher.phase);
    while (publisher.sent < due) {
      if (publisher.client.backlog() > 4 * 1024 * 1024) {
        // The publisher's own socket is backed up: count it instead of growing memory.
        skipped += due - publisher.sent;
        publisher.sent = due;
        break;
      }
      publishOne(publisher);
    }
  }
}

/** Closed loop safety net: a window that made no progress for 2 s is reopened (counted as skipped). */
function tickClosed(): void {
  const now = performance.now();
  for (const publisher of publishers) {
    if (now - publisher.lastProgress > 2_000) {
      skipped += publisher.sent - publisher.completed;
      publisher.completed = publisher.sent;
      publisher.lastProgress = now;
      fill(publisher);
    }
  }
}

function start(run: RunOptions): void {
  options = run;
  running = true;
  startedAt = performance.now();
  for (const publisher of publishers) {
    publisher.completed = publisher.sent;
    publisher.base = publisher.sent;
    publisher.lastProgress = startedAt;
  }
  if (run.mode === 'open') {
    timer = setInterval(tickOpen, 2);
  } else {
    for (const publisher of publishers) fill(publisher);
    timer = setInterval(tickClosed, 250);
  }
}

function stop(): void {
  running = false;
  clearInterval(timer);
  timer = undefined;
}

port.on('message', (command: GeneratorCommand) => {
  switch (command.type) {
    case 'connect':
      // Clients closed by an earlier `close` are gone; drops from here on count again.
      closing = false;
      void connectAll(command.specs, command.concurrency);
      return;
    case 'start':
      start(command.options);
      send({ type: 'ok' });
      return;
    case 'burst':
      options = { mode: 'open', ratePerPublisher: 0, window: 0, bodyBytes: command.bodyBytes };
      for (const publisher of publishers) for (let i = 0; i < command.count; i++) publishOne(publisher);
      send({ type: 'ok' });
      return;
    case 'reset':
      delivered = 0;
      published = 0;
      skipped = 0;
      histogram.reset();
      send({ type: 'ok' });
      return;
    case 'snapshot':
      send({
        type: 'snapshot',
        snapshot: {
          delivered,
          published,
          skipped,
          dropped,
          histogram: { counts: Array.from(histogram.counts), max: histogram.max },
          ...(slow ? { slow: { ...slow } } : {}),
        },
      });
      return;
    case 'stop':
      stop();
      send({ type: 'ok' });
      return;
    case 'close':
      stop();
      closing = true;
      for (const client of clients) client.close();
      clients.length = 0;
      publishers.length = 0;
      byRoom.clear();
      slowClient = undefined;
      slow = undefined;
      closeStormClients();
      closeConnectRate();
      send({ type: 'ok' });
      return;
    case 'slow':
      if (command.paused) slowClient?.pause();
      else slowClient?.resume();
      send({ type: 'ok' });
      return;
    case 'reroute':
      reroute(command.from, command.to);
      send({ type: 'ok' });
      return;
    case 'storm-status':
      send({ type: 'storm', status: stormStatus() });
      return;
    case 'connect-rate-prepare':
      closing = false;
      prepareConnectRate(command.specs, command.path).then(
        (ready) => send({ type: 'connect-rate-ready', ...ready }),
        (error: unknown) => send({ type: 'error', message: `preparing connections: ${String(error)}` }),
      );
      return;
    case 'connect-rate-run':
      void runConnectRate(command.concurrency).then((report) => send({ type: 'connect-rate', report }));
      return;
  }
});
send({ type: 'ready' });
