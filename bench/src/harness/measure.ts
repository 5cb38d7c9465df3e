/**
 * One measured phase: start publishing, let it warm up, then measure for a fixed time the
 * deliveries and latency seen by the clients, the CPU of each server process and of the
 * generator. Bounded: it always stops publishing after warm-up + measure + drain.
 */
import { availableParallelism } from 'node:os';
import { Histogram } from '../common/histogram.ts';
import { machineCpuSeconds, measureCpu, measureCpuOfNamed } from '../common/proc.ts';
import type { RunOptions } from '../common/types.ts';
import type { GeneratorHandle } from './generator.ts';

export interface PhaseResult {
  mode: RunOptions['mode'];
  seconds: number;
  delivered: number;
  deliveredPerSec: number;
  published: number;
  skipped: number;
  dropped: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU seconds per server process, by name. */
  serverCpu: Record<string, number>;
  /** Share of one core used by each server process. */
  serverUtil: Record<string, number>;
  /** Sum over the `countedServers` (default: all), µs per delivery. */
  cpuPerDeliveryUs: number;
  /** Deliveries per CPU-second of the counted servers: what one core would carry if only they were the limit. */
  perCoreCapacity: number;
  generatorUtil: number;
  /** Cores' worth of CPU used by processes that are not part of the bench (a shared machine's noise; Postgres). */
  foreignUtil: number;
  /** Cores' worth of CPU used by the machine's Postgres (ours stores messages there in the persisted path). */
  postgresUtil: number;
  /** Cores' worth of CPU in interrupt/softirq context (loopback TCP work charged to no process). */
  softirqUtil: number;
  /** Cores' worth of CPU taken by the hypervisor. */
  stealUtil: number;
  /**
   * Cores' worth of CPU the whole machine used (every process and interrupt context, steal left
   * out), of `cores`: when it nears `cores`, the machine, not one process, bounds a closed loop.
   * Absent in results written before it existed.
   */
  machineUtil?: number;
  cores?: number;
}

/**
 * On a shared machine another process may take a core in the middle of a phase. With a policy
 * set, a phase during which processes outside the bench used more than `maxForeignUtil` of a core
 * is measured again (up to `retries` times, after a pause); the quietest attempt is kept.
 */
let noise: { maxForeignUtil: number; retries: number; pauseMs: number; log(line: string): void } | undefined;
export function setNoisePolicy(policy: typeof noise): void {
  noise = policy;
}

export async function runPhase(
  generator: GeneratorHandle,
  servers: Array<{ name: string; pid: number }>,
  options: RunOptions,
  timing: { warmupMs: number; measureMs: number },
  countedServers?: string[],
  profiler?: { start(): Promise<void>; stop(): Promise<void> },
): Promise<PhaseResult> {
  let best = await runPhaseOnce(generator, servers, options, timing, countedServers, profiler);
  for (let attempt = 1; noise && attempt <= noise.retries && best.foreignUtil > noise.maxForeignUtil; attempt++) {
    noise.log(
      `    other processes used ${Math.round(best.foreignUtil * 100)} % of a core during the ${options.mode}-loop phase; measuring again`,
    );
    await sleep(noise.pauseMs);
    const again = await runPhaseOnce(generator, servers, options, timing, countedServers, profiler);
    if (again.foreignUtil < best.foreignUtil) best = again;
  }
  return best;
}

async function runPhaseOnce(
  generator: GeneratorHandle,
  servers: Array<{ name: string; pid: number }>,
  options: RunOptions,
  timing: { warmupMs: number; measureMs: number },
  countedServers?: string[],
  profiler?: { start(): Promise<void>; stop(): Promise<void> },
): Promise<PhaseResult> {
  await generator.start(options);
  try {
    await sleep(timing.warmupMs);
    await profiler?.start();
    await generator.reset();
    const cpu = servers.map((s) => ({ name: s.name, window: measureCpu(s.pid) }));
    const genCpu = measureCpu(generator.pid);
    const machine0 = machineCpuSeconds();
    const postgres = measureCpuOfNamed('postgres');
    const t0 = performance.now();
    await sleep(timing.measureMs);
    const snapshot = await generator.snapshot();
    await profiler?.stop();
    const seconds = (performance.now() - t0) / 1000;
    const serverCpu: Record<string, number> = {};
    const serverUtil: Record<string, number> = {};
    for (const { name, window } of cpu) {
      const m = window.stop();
      serverCpu[name] = m.cpuSeconds;
      serverUtil[name] = m.utilisation;
    }
    const gen = genCpu.stop();
    const machine1 = machineCpuSeconds();
    const pg = postgres.stop();
    const busy = machine1.busy - machine0.busy;
    const irq = machine1.irq - machine0.irq;
    const steal = machine1.steal - machine0.steal;
    const ours = Object.values(serverCpu).reduce((a, b) => a + b, 0) + gen.cpuSeconds + pg;
    const histogram = new Histogram(Uint32Array.from(snapshot.histogram.counts));
    histogram.max = snapshot.histogram.max;
    const counted = countedServers ?? servers.map((s) => s.name);
    const cpuSum = counted.reduce((sum, n) => sum + (serverCpu[n] ?? 0), 0);
    return {
      mode: options.mode,
      seconds,
      delivered: snapshot.delivered,
      deliveredPerSec: snapshot.delivered / seconds,
      published: snapshot.published,
      skipped: snapshot.skipped,
      dropped: snapshot.dropped,
      p50Ms: histogram.quantile(0.5) / 1000,
      p99Ms: histogram.quantile(0.99) / 1000,
      maxMs: histogram.max / 1000,
      serverCpu,
      serverUtil,
      cpuPerDeliveryUs: snapshot.delivered > 0 ? (cpuSum * 1e6) / snapshot.delivered : 0,
      perCoreCapacity: cpuSum > 0 ? snapshot.delivered / cpuSum : 0,
      generatorUtil: gen.utilisation,
      foreignUtil: Math.max(0, (busy - irq - steal - ours) / seconds),
      postgresUtil: pg / seconds,
      softirqUtil: irq / seconds,
      stealUtil: steal / seconds,
      machineUtil: Math.max(0, busy - steal) / seconds,
      cores: availableParallelism(),
    };
  } finally {
    await generator.stop();
    // Let queued deliveries drain so the next phase starts from an idle server.
    await sleep(Math.min(1_500, timing.warmupMs));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
