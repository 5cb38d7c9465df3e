/**
 * The load generator process (pinned to its own core by the orchestrator): spreads clients
 * over worker threads, forwards each orchestrator command to every worker and merges their
 * answers. Exits when the orchestrator disconnects.
 */
import { Worker } from 'node:worker_threads';
import type {
  ClientSpec,
  ConnectRateReport,
  GeneratorCommand,
  GeneratorReply,
  Snapshot,
  StormStatus,
} from '../common/types.ts';

const workerCount = Math.max(1, Number(process.env.BENCH_WORKERS ?? 2));
const workers: Worker[] = [];

function spawnWorker(): Promise<Worker> {
  // Workers do not inherit tsx's loader on Node 20: register it inside the worker, then load it.
  const entry = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); });`;
  const worker = new Worker(boot, { eval: true });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: GeneratorReply) => (m.type === 'ready' ? resolve(worker) : reject(new Error(m.type))));
    worker.once('error', reject);
  });
}

/** Each worker's share of `specs` (by `spec.worker`), in worker order. */
function share(specs: ClientSpec[]): ClientSpec[][] {
  const shares: ClientSpec[][] = workers.map(() => []);
  for (const spec of specs) shares[spec.worker % workers.length]!.push(spec);
  return shares;
}

function ask(worker: Worker, command: GeneratorCommand): Promise<GeneratorReply> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.postMessage(command);
  });
}

async function broadcast(command: GeneratorCommand): Promise<GeneratorReply[]> {
  return Promise.all(workers.map((w) => ask(w, command)));
}

async function handle(command: GeneratorCommand): Promise<GeneratorReply> {
  switch (command.type) {
    case 'connect': {
      const shares = share(command.specs);
      const replies = await Promise.all(
        workers.map((w, i) =>
          ask(w, { type: 'connect', specs: shares[i]!, concurrency: Math.ceil(command.concurrency / workers.length) }),
        ),
      );
      let connected = 0;
      let failed = 0;
      let firstError: string | undefined;
      for (const r of replies) {
        if (r.type !== 'connected') continue;
        connected += r.connected;
        failed += r.failed;
        firstError ??= r.firstError;
      }
      return { type: 'connected', connected, failed, ...(firstError ? { firstError } : {}) };
    }
    case 'snapshot': {
      const replies = await broadcast(command);
      const merged: Snapshot = {
        delivered: 0,
        published: 0,
        skipped: 0,
        dropped: 0,
        histogram: { counts: [], max: 0 },
      };
      for (const r of replies) {
        if (r.type !== 'snapshot') continue;
        const s = r.snapshot;
        merged.delivered += s.delivered;
        merged.published += s.published;
        merged.skipped += s.skipped;
        merged.dropped += s.dropped;
        merged.histogram.max = Math.max(merged.histogram.max, s.histogram.max);
        if (s.slow) merged.slow = s.slow;
        s.histogram.counts.forEach((c, i) => {
          merged.histogram.counts[i] = (merged.histogram.counts[i] ?? 0) + c;
        });
      }
      return { type: 'snapshot', snapshot: merged };
    }
    case 'storm-status': {
      const merged: StormStatus = {
        clients: 0,
        open: 0,
        reopenedAt: [],
        lostAt: [],
        failedAttempts: 0,
        ticketRequestedAt: [],
        ticketReceivedAt: [],
      };
      for (const r of await broadcast(command)) {
        if (r.type !== 'storm') continue;
        merged.clients += r.status.clients;
        merged.open += r.status.open;
        merged.failedAttempts += r.status.failedAttempts;
        merged.reopenedAt.push(...r.status.reopenedAt);
        merged.lostAt.push(...r.status.lostAt);
        merged.ticketRequestedAt.push(...r.status.ticketRequestedAt);
        merged.ticketReceivedAt.push(...r.status.ticketReceivedAt);
      }
      return { type: 'storm', status: merged };
    }
    case 'connect-rate-prepare': {
      const shares = share(command.specs);
      const replies = await Promise.all(
        workers.map((w, i) => ask(w, { type: 'connect-rate-prepare', specs: shares[i]!, path: command.path })),
      );
      let prepared = 0;
      let missing = 0;
      for (const r of replies) {
        if (r.type === 'error') return r;
        if (r.type !== 'connect-rate-ready') continue;
        prepared += r.prepared;
        missing += r.missing;
      }
      return { type: 'connect-rate-ready', prepared, missing };
    }
    case 'connect-rate-run': {
      const perWorker = Math.ceil(command.concurrency / workers.length);
      const replies = await Promise.all(
        workers.map((w) => ask(w, { type: 'connect-rate-run', concurrency: perWorker })),
      );
      const merged: ConnectRateReport = { timings: [], failed: 0, resumeTickets: 0 };
      for (const r of replies) {
        if (r.type !== 'connect-rate') continue;
        merged.timings.push(...r.report.timings);
        merged.failed += r.report.failed;
        merged.resumeTickets += r.report.resumeTickets;
        if (r.report.firstError !== undefined) merged.firstError ??= r.report.firstError;
      }
      return { type: 'connect-rate', report: merged };
    }
    default:
      await broadcast(command);
      return { type: 'ok' };
  }
}

for (let i = 0; i < workerCount; i++) workers.push(await spawnWorker());
process.on('message', (command: GeneratorCommand) => {
  handle(command).then(
    (r) => process.send?.(r),
    (error: unknown) => process.send?.({ type: 'error', message: String(error) } satisfies GeneratorReply),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' } satisfies GeneratorReply);
