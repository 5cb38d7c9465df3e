/** The orchestrator's handle on the load generator process. */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../common/spawn.ts';
import type {
  ClientSpec,
  ConnectPath,
  ConnectRateReport,
  GeneratorReply,
  RunOptions,
  Snapshot,
  StormStatus,
} from '../common/types.ts';
import { request, stopChild, waitForMessage } from './ipc.ts';

const ENTRY = fileURLToPath(new URL('../load/generator.ts', import.meta.url));

export interface GeneratorHandle {
  pid: number;
  connect(specs: ClientSpec[], concurrency?: number): Promise<{ connected: number; failed: number }>;
  start(options: RunOptions): Promise<void>;
  burst(count: number, bodyBytes: number): Promise<void>;
  reset(): Promise<void>;
  snapshot(): Promise<Snapshot>;
  stop(): Promise<void>;
  close(): Promise<void>;
  /** Scenario 5: the slow consumer stops (true) or resumes (false) reading. */
  pauseSlow(paused: boolean): Promise<void>;
  /** Scenario 6: new connections meant for `from` go to `to` (http://127.0.0.1:<port>). */
  reroute(from: string, to: string): Promise<void>;
  stormStatus(): Promise<StormStatus>;
  /** Scenario 8, untimed: hold `specs` and fetch what `path` needs beforehand; `missing` = specs left out. */
  connectRatePrepare(specs: ClientSpec[], path: ConnectPath): Promise<{ prepared: number; missing: number }>;
  /** Scenario 8, timed: open the prepared connections with `concurrency` attempts in flight (they stay open until `close`). */
  connectRateRun(concurrency: number): Promise<ConnectRateReport>;
  kill(): Promise<void>;
}

export async function startGenerator(options: { cpus?: string; workers?: number } = {}): Promise<GeneratorHandle> {
  const child: ChildProcess = spawnNode(ENTRY, {
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
    env: { BENCH_WORKERS: String(options.workers ?? 2) },
    // Extra Node/V8 flags for the generator and its workers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/gen".
    nodeArgs: (process.env.BENCH_GENERATOR_NODE_ARGS ?? '').split(' ').filter(Boolean),
  });
  await waitForMessage<GeneratorReply>(child, (m) => m.type === 'ready', 'generator start-up', 60_000);
  const ok = (command: object, what: string, timeoutMs?: number) =>
    request<GeneratorReply>(child, command, (m) => m.type === 'ok', what, timeoutMs).then(() => undefined);
  return {
    pid: child.pid ?? -1,
    async connect(specs, concurrency = 64) {
      const m = await request<GeneratorReply>(
        child,
        { type: 'connect', specs, concurrency },
        (r) => r.type === 'connected',
        `connecting ${specs.length} clients`,
        600_000,
      );
      if (m.type !== 'connected') throw new Error('unreachable');
      if (m.failed > 0) throw new Error(`${m.failed} of ${specs.length} clients failed to connect: ${m.firstError}`);
      return m;
    },
    start: (options) => ok({ type: 'start', options }, 'start'),
    burst: (count, bodyBytes) => ok({ type: 'burst', count, bodyBytes }, 'burst'),
    reset: () => ok({ type: 'reset' }, 'reset'),
    async snapshot() {
      const m = await request<GeneratorReply>(child, { type: 'snapshot' }, (r) => r.type === 'snapshot', 'snapshot');
      if (m.type !== 'snapshot') throw new Error('unreachable');
      return m.snapshot;
    },
    stop: () => ok({ type: 'stop' }, 'stop'),
    close: () => ok({ type: 'close' }, 'close clients', 60_000),
    pauseSlow: (paused) => ok({ type: 'slow', paused }, 'pause slow consumer'),
    reroute: (from, to) => ok({ type: 'reroute', from, to }, 'reroute'),
    async stormStatus() {
      const m = await request<GeneratorReply>(child, { type: 'storm-status' }, (r) => r.type === 'storm', 'storm');
      if (m.type !== 'storm') throw new Error('unreachable');
      return m.status;
    },
    async connectRatePrepare(specs, path) {
      const m = await request<GeneratorReply>(
        child,
        { type: 'connect-rate-prepare', specs, path },
        (r) => r.type === 'connect-rate-ready',
        `preparing ${specs.length} connections (${path})`,
        600_000,
      );
      if (m.type !== 'connect-rate-ready') throw new Error('unreachable');
      return { prepared: m.prepared, missing: m.missing };
    },
    async connectRateRun(concurrency) {
      const m = await request<GeneratorReply>(
        child,
        { type: 'connect-rate-run', concurrency },
        (r) => r.type === 'connect-rate',
        'opening the prepared connections',
        600_000,
      );
      if (m.type !== 'connect-rate') throw new Error('unreachable');
      return m.report;
    },
    kill: () => stopChild(child),
  };
}
