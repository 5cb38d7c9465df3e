/**
 * Scenario 8, connect rate: N new connections (one bench user each for ours) opened by the
 * generator as fast as the server accepts them, `CONNECT_IN_FLIGHT` attempts at a time. A
 * connection counts when its first application handshake completes: ours' `connected` frame
 * (after registration: bus subscription, presence, the user's stream heads), Socket.IO's
 * `connect` event (Engine.IO open + Socket.IO CONNECT), raw ws's `open` (no application
 * handshake at all). Measured per phase: connections per second from the first attempt to the
 * last accepted, server (and Postgres) CPU per connection, per-connection latency.
 *
 * ours runs three phases, each on a clean server (the previous phase's connections closed):
 * (a) `upgrade` — tickets fetched beforehand, untimed; then upgrade + registration;
 * (b) `full` — `POST /api/v1/ws/ticket` with the access token, upgrade, registration, with the
 *     time of each step;
 * (c) `resume` — each connection of (b) closed, then opened again with the `resume_ticket` its
 *     `connected` frame carried; skipped with a note while the server hands out none.
 * The peers run the one phase they have (their whole path), comparable with (a).
 */
import { quantile } from '../common/histogram.ts';
import { machineCpuSeconds, measureCpu, measureCpuOfNamed } from '../common/proc.ts';
import type { ClientSpec, ConnectPath, ConnectTiming, TargetKind } from '../common/types.ts';
import { type BenchEnv, deploy, phaseProfiler } from '../harness/deploy.ts';
import { type GeneratorHandle, startGenerator } from '../harness/generator.ts';
import { sleep } from '../harness/measure.ts';
import type { TargetInstance } from '../harness/target.ts';
import type { Profile } from './profile.ts';

/**
 * Connection attempts in flight (all worker threads together). Enough that the server always has
 * the next handshake waiting, so its rate and not the generator's round trips is measured; far
 * below the listen backlog (Node's default 511), so no SYN is dropped and the kernel's 1 s
 * retransmit timer never shows up as latency.
 */
export const CONNECT_IN_FLIGHT = 200;

/** Untimed connections first, so the phases measure warm (JIT-compiled) code on every target. */
const WARMUP_CONNECTIONS = 50;

export interface Quantiles {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ConnectPhaseResult {
  path: ConnectPath;
  attempted: number;
  accepted: number;
  failed: number;
  firstError?: string;
  /** From the first attempt's start to the last connection accepted. */
  seconds: number;
  perSecond: number;
  serverCpuUsPerConnection: number;
  /** The machine's Postgres (ours reads the user's stream heads while registering). */
  postgresCpuUsPerConnection: number;
  /** Shares of one core over the run. */
  serverUtil: number;
  generatorUtil: number;
  /** Processes outside the bench (a shared machine's noise). */
  foreignUtil: number;
  /** Start of the attempt → accepted. */
  latency: Quantiles;
  /** ours: ticket requested → received (full path), → socket open (HTTP 101), open → `connected`. */
  steps?: { ticket?: Quantiles; upgrade: Quantiles; registration: Quantiles };
  /** ours: `connected` frames that carried a `resume_ticket`. */
  resumeTickets: number;
}

export interface ConnectResult {
  target: TargetKind;
  connections: number;
  inFlight: number;
  phases: ConnectPhaseResult[];
  /** Phases that did not run, or ran only in part, and why. */
  notes: string[];
}

export async function runConnect(env: BenchEnv, profile: Profile, kind: TargetKind): Promise<ConnectResult> {
  const n = profile.connect.connections;
  const deployment = await deploy(env, kind, 1, n, []);
  const generator = await startGenerator({
    ...(env.generatorCpus !== undefined ? { cpus: env.generatorCpus } : {}),
    workers: profile.workers,
  });
  try {
    const instance = deployment.instances[0]!;
    const specs: ClientSpec[] = Array.from({ length: n }, (_, u) => deployment.spec(u, 0, { worker: u }));
    const phase = (path: ConnectPath, label: string) =>
      runConnectPhase(generator, instance, specs, path, phaseProfiler(env, deployment, `connect-${label}`));

    const warm = specs.slice(0, WARMUP_CONNECTIONS);
    await generator.connectRatePrepare(warm, kind === 'ours' ? 'full' : 'upgrade');
    const warmed = await generator.connectRateRun(CONNECT_IN_FLIGHT);
    if (warmed.failed > 0) throw new Error(`${kind}: warm-up connections failed: ${warmed.firstError}`);
    await closeAll(generator, instance);

    const result: ConnectResult = { target: kind, connections: n, inFlight: CONNECT_IN_FLIGHT, phases: [], notes: [] };
    const report = (p: ConnectPhaseResult) => {
      result.phases.push(p);
      env.log(
        `  ${kind} ${p.path}: ${p.accepted}/${p.attempted} in ${p.seconds.toFixed(2)} s = ${Math.round(p.perSecond)}/s, ` +
          `server ${p.serverCpuUsPerConnection.toFixed(0)} µs/connection (${Math.round(p.serverUtil * 100)} % of a core), ` +
          `generator ${Math.round(p.generatorUtil * 100)} %, others ${Math.round(p.foreignUtil * 100)} %, ` +
          `p50/p99 ${p.latency.p50Ms.toFixed(1)}/${p.latency.p99Ms.toFixed(1)} ms` +
          (p.steps
            ? `; steps p50 ms: ${p.steps.ticket ? `ticket ${p.steps.ticket.p50Ms.toFixed(1)}, ` : ''}` +
              `101 ${p.steps.upgrade.p50Ms.toFixed(1)}, connected ${p.steps.registration.p50Ms.toFixed(1)}`
            : ''),
      );
    };
    if (kind !== 'ours') {
      report(await phase('upgrade', 'upgrade'));
      return result;
    }
    report(await phase('upgrade', 'upgrade'));
    const full = await phase('full', 'full');
    report(full);
    if (full.resumeTickets === 0) {
      const note = 'resume: skipped, the `connected` frames carry no `resume_ticket` (a server without resume tickets)';
      result.notes.push(note);
      env.log(`  ${kind} ${note}`);
    } else {
      const resume = await phase('resume', 'resume');
      if (resume.attempted < n) result.notes.push(`resume: ${n - resume.attempted} of ${n} had no resume ticket`);
      if (resume.failed > 0) {
        result.notes.push(`resume: ${resume.failed} of ${resume.attempted} refused (${resume.firstError ?? '?'})`);
      }
      report(resume);
    }
    return result;
  } finally {
    await generator.close().catch(() => undefined);
    await generator.kill();
    await deployment.stop();
  }
}

async function runConnectPhase(
  generator: GeneratorHandle,
  instance: TargetInstance,
  specs: ClientSpec[],
  path: ConnectPath,
  profiler: { start(): Promise<void>; stop(): Promise<void> } | undefined,
): Promise<ConnectPhaseResult> {
  const ready = await generator.connectRatePrepare(specs, path);
  // Garbage from set-up or the previous phase is collected now, not inside the measured run.
  await instance.gc();
  await profiler?.start();
  const server = measureCpu(instance.pid);
  const gen = measureCpu(generator.pid);
  const postgres = measureCpuOfNamed('postgres');
  const machine0 = machineCpuSeconds();
  const run = await generator.connectRateRun(CONNECT_IN_FLIGHT);
  const serverCpu = server.stop();
  const genCpu = gen.stop();
  const pg = postgres.stop();
  const machine1 = machineCpuSeconds();
  await profiler?.stop();
  // Only the resume phase may fail in part (its server side is being built in parallel): report it there.
  if (run.failed > 0 && path !== 'resume') {
    throw new Error(
      `${instance.name} ${path}: ${run.failed} of ${ready.prepared} connections failed: ${run.firstError}`,
    );
  }
  await closeAll(generator, instance);

  const t = run.timings;
  const accepted = t.length;
  const first = Math.min(...t.map((x) => x.start));
  const last = Math.max(...t.map((x) => x.accepted));
  const seconds = accepted > 0 ? (last - first) / 1e6 : Number.NaN;
  const wall = serverCpu.wallSeconds;
  const busy = machine1.busy - machine0.busy - (machine1.irq - machine0.irq) - (machine1.steal - machine0.steal);
  const perConnection = (cpuSeconds: number) => (accepted > 0 ? (cpuSeconds * 1e6) / accepted : Number.NaN);
  const hasSteps = t.length > 0 && t.every((x) => x.open !== undefined);
  return {
    path,
    attempted: ready.prepared,
    accepted,
    failed: run.failed,
    ...(run.firstError !== undefined ? { firstError: run.firstError } : {}),
    seconds,
    perSecond: accepted / seconds,
    serverCpuUsPerConnection: perConnection(serverCpu.cpuSeconds),
    postgresCpuUsPerConnection: perConnection(pg),
    serverUtil: serverCpu.utilisation,
    generatorUtil: genCpu.utilisation,
    foreignUtil: Math.max(0, (busy - serverCpu.cpuSeconds - genCpu.cpuSeconds - pg) / wall),
    latency: quantiles(t.map((x) => x.accepted - x.start)),
    ...(hasSteps ? { steps: steps(t) } : {}),
    resumeTickets: run.resumeTickets,
  };
}

/** Per-step durations of ours' connections: each step from the end of the one before. */
function steps(t: ConnectTiming[]): NonNullable<ConnectPhaseResult['steps']> {
  const withTicket = t.every((x) => x.ticket !== undefined);
  return {
    ...(withTicket ? { ticket: quantiles(t.map((x) => x.ticket! - x.start)) } : {}),
    upgrade: quantiles(t.map((x) => x.open! - (x.ticket ?? x.start))),
    registration: quantiles(t.map((x) => x.accepted - x.open!)),
  };
}

function quantiles(micros: number[]): Quantiles {
  const ms = micros.map((us) => us / 1000).sort((a, b) => a - b);
  return { p50Ms: quantile(ms, 0.5), p99Ms: quantile(ms, 0.99), maxMs: ms.at(-1) ?? Number.NaN };
}

/**
 * Closes the generator's connections and waits until the server has let go of every one and
 * its CPU is idle again, so that the next phase starts on a clean server.
 */
async function closeAll(generator: GeneratorHandle, instance: TargetInstance): Promise<void> {
  await generator.close();
  const deadline = performance.now() + 30_000;
  for (let open = await instance.connections(); open > 0; open = await instance.connections()) {
    if (performance.now() > deadline) {
      throw new Error(`${instance.name} still reports ${open} connections 30 s after the generator closed them`);
    }
    await sleep(50);
  }
  // Closing thousands of sockets leaves work behind (presence, bus unsubscribes, GC): wait for a
  // quiet 250 ms window (< 10 % of a core; /proc counts 10 ms ticks), at most 10 s.
  for (const end = performance.now() + 10_000; performance.now() < end; ) {
    const window = measureCpu(instance.pid);
    await sleep(250);
    if (window.stop().utilisation < 0.1) return;
  }
}
