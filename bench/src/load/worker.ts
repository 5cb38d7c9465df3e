/**
 * One worker thread of the load generator: opens its share of the clients, publishes (open
 * loop at a fixed rate, or closed loop with a window of messages in flight per publisher,
 * completed by the room's sentinel subscriber in this same thread), and counts deliveries
 * and their latency from the send time in each payload.
 */
import { parentPort } from 'node:worker_threads';
import { Histogram } from '../common/histogram.ts';
import { makeBody, nowMicros, readMarker, readSentMicros } from '../common/marker.ts';
import type { ClientSpec, GeneratorCommand, GeneratorReply, RunOptions } from '../common/types.ts';
import { type BenchClient, connectClient } from './clients.ts';

interface Publisher {
  client: BenchClient;
  room: string;
  /** Sequence numbers keep growing across runs, so a late delivery of an earlier run cannot open the window. */
  sent: number;
  completed: number;
  /** `sent` when the current run started (open loop counts what is due from here). */
  base: number;
  lastProgress: number;
}

const port = parentPort!;
const clients: BenchClient[] = [];
const publishers = new Map<string, Publisher>();
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
  const publisher = publishers.get(marker.room);
  if (!publisher) return;
  publisher.completed = Math.max(publisher.completed, marker.seq);
  publisher.lastProgress = performance.now();
  if (running && options?.mode === 'closed') fill(publisher);
}

const onDrop = () => {
  if (!closing) dropped++;
};

async function connectAll(specs: ClientSpec[], concurrency: number): Promise<void> {
  let next = 0;
  let failed = 0;
  let connected = 0;
  let firstError: string | undefined;
  const lane = async () => {
    while (next < specs.length) {
      const spec = specs[next++]!;
      try {
        const client = await connectClient(spec, spec.sentinelFor ? onSentinelFrame : onFrame, onDrop);
        clients.push(client);
        connected++;
        if (spec.publishTo) {
          publishers.set(spec.publishTo, {
            client,
            room: spec.publishTo,
            sent: 0,
            completed: 0,
            base: 0,
            lastProgress: 0,
          });
        }
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
  publisher.client.publish(publisher.room, makeBody(publisher.room, publisher.sent, options!.bodyBytes));
}

/** Closed loop: keep `window` messages in flight. */
function fill(publisher: Publisher): void {
  while (publisher.sent - publisher.completed < options!.window) publishOne(publisher);
}

/** Open loop: send what is due by the clock, whatever the replies do. */
function tickOpen(): void {
  const elapsed = (performance.now() - startedAt) / 1000;
  const dueInRun = Math.floor(elapsed * options!.ratePerPublisher);
  for (const publisher of publishers.values()) {
    const due = publisher.base + dueInRun;
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
  for (const publisher of publishers.values()) {
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
  for (const publisher of publishers.values()) {
    publisher.completed = publisher.sent;
    publisher.base = publisher.sent;
    publisher.lastProgress = startedAt;
  }
  if (run.mode === 'open') {
    timer = setInterval(tickOpen, 2);
  } else {
    for (const publisher of publishers.values()) fill(publisher);
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
      void connectAll(command.specs, command.concurrency);
      return;
    case 'start':
      start(command.options);
      send({ type: 'ok' });
      return;
    case 'burst':
      options = { mode: 'open', ratePerPublisher: 0, window: 0, bodyBytes: command.bodyBytes };
      for (const publisher of publishers.values()) for (let i = 0; i < command.count; i++) publishOne(publisher);
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
      publishers.clear();
      send({ type: 'ok' });
      return;
  }
});
send({ type: 'ready' });
