/**
 * Scenario 6, reconnect storm: `clients` idle clients on instance A of two (+ a bench-owned
 * Redis), survivors on B in rooms fed at a steady rate. The load balancer (the generator's
 * route table) is pointed at B, then A is killed with SIGKILL by PID: every client on A sees its
 * connection drop at once and reconnects to B with its own backoff (ours: the real
 * @anmei/client state machine; see load/storm-clients.ts). Measured: time from the kill until
 * each client is open again (distribution; all of them), B's CPU during the storm, and the
 * survivors' latency during the storm against the window just before it (survivors and their
 * publishers run in a second generator process, on the same core).
 */
import { quantile } from '../common/histogram.ts';
import {
  contextSwitches,
  cpuSeconds,
  listenOverflows,
  machineCpuSeconds,
  measureCpuOfNamed,
  syscallCounts,
  type ThreadCpu,
  threadCpu,
} from '../common/proc.ts';
import type { ClientSpec, RoomPlan, Snapshot, StormStatus, TargetKind } from '../common/types.ts';
import { type BenchEnv, deploy } from '../harness/deploy.ts';
import { startGenerator } from '../harness/generator.ts';
import { sleep } from '../harness/measure.ts';
import {
  type CommandStat,
  commandStats,
  commandStatsDelta,
  type RedisTraffic,
  trafficStats,
} from '../harness/redis.ts';
import type { Profile } from './profile.ts';
import { type LatencySummary, Window } from './slow.ts';

export interface StormResult {
  target: TargetKind;
  clients: number;
  survivors: number;
  /** Clients open again on B (distinct reconnects counted once per client). */
  reconnected: number;
  /** ms from the kill until the last client was open again; null = not all within maxMs. */
  allReconnectedMs: number | null;
  /** Reconnect time quantiles, ms after the kill. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  failedAttempts: number;
  /** B's CPU, share of one core: mean from the kill until all reconnected, and the busiest 1 s. */
  serverBUtil: number;
  serverBPeakUtil: number;
  /** The storm clients' generator process, share of one core over the same window: near 1 = it was the limit. */
  generatorUtil: number;
  survivorsBefore: LatencySummary;
  survivorsDuring: LatencySummary;
  /** CPU ms per storm client from the kill until all were back: B, Redis, Postgres (every `postgres` process). */
  cpuMsPerReconnect?: { b: number; redis: number | null; postgres: number };
  /** B's read and write system calls per reconnect over the storm (/proc/PID/io). */
  bSyscallsPerReconnect?: { reads: number; writes: number };
  /** Redis commands per storm client over the same window (the survivors' traffic and liveness ticks included). */
  /** Redis's traffic per storm client (INFO stats): bytes in/out, reads/writes it processed (all clients: A, B, the bench). */
  redisTrafficPerReconnect?: RedisTraffic;
  redisPerReconnect?: { commands: number; evalshaUsec: number; byCommand: Record<string, number> };
  /** SYNs the machine dropped over the storm because a listener's accept queue was full (B's, the only one busy). */
  listenOverflows?: number;
  /** B's CPU ms per reconnect by thread (see threadCpu): the main thread's and the others' (V8's compiler and GC, libuv). */
  bThreadsMsPerReconnect?: ThreadCpu;
  /** Main-thread context switches per reconnect, voluntary / involuntary: B's and Redis's (they share core 0). */
  switchesPerReconnect?: { b: Switches; redis: Switches | null };
}

type Switches = ReturnType<typeof contextSwitches>;

export async function runStorm(env: BenchEnv, profile: Profile, kind: TargetKind): Promise<StormResult> {
  const p = profile.storm;
  const stride = p.perRoom + 1; // survivor room r: user C + r*stride publishes, the next perRoom read
  const plans: RoomPlan[] = Array.from({ length: p.rooms }, (_, r) => ({
    members: Array.from({ length: stride }, (_, k) => p.clients + r * stride + k),
  }));
  const deployment = await deploy(env, kind, 2, p.clients + p.rooms * stride, plans);
  const generator = await startGenerator({
    ...(env.generatorCpus !== undefined ? { cpus: env.generatorCpus } : {}),
    workers: profile.workers,
  });
  // The survivors live in a generator process of their own: the storm clients' reconnect work
  // would otherwise queue in front of their frames and the survivors' p99 would measure the
  // generator's backlog, not the server's.
  const watcher = await startGenerator({
    ...(env.generatorCpus !== undefined ? { cpus: env.generatorCpus } : {}),
    workers: 1,
  });
  try {
    const [a, b] = [deployment.instances[0]!, deployment.instances[1]!];
    const storm: ClientSpec[] = Array.from({ length: p.clients }, (_, u) =>
      deployment.spec(u, 0, { worker: u, storm: true }),
    );
    const t0 = performance.now();
    await generator.connect(storm, 128);
    env.log(`  ${kind}: ${p.clients} clients on A in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const survivors: ClientSpec[] = [];
    const publishers: ClientSpec[] = [];
    for (let r = 0; r < p.rooms; r++) {
      const room = deployment.rooms[r]!;
      const first = p.clients + r * stride;
      for (let k = 1; k <= p.perRoom; k++) survivors.push(deployment.spec(first + k, 1, { worker: k, rooms: [room] }));
      publishers.push(
        deployment.spec(first, 1, { worker: r, publishTo: room, publishVia: 'ingress', phase: r / p.rooms }),
      );
    }
    await watcher.connect(survivors);
    await watcher.connect(publishers);
    await watcher.start({ mode: 'open', ratePerPublisher: p.rate, window: 0, bodyBytes: 1024 });
    try {
      await sleep(1_500);
      await watcher.reset();
      await sleep(p.beforeMs);
      const before = summarize(await watcher.snapshot(), 0);
      await watcher.reset();

      // The load balancer stops sending to A, then A dies without closing anything.
      await generator.reroute(a.url, b.url);
      // --cpu-prof: B's profile covers the storm (A is about to die, so only B is profiled).
      if (env.profileDir) await b.profileStart();
      const cpu0 = cpuSeconds(b.pid);
      const sys0 = syscallCounts(b.pid);
      const overflows0 = listenOverflows();
      const threads0 = threadCpu(b.pid);
      const switches0 = {
        b: contextSwitches(b.pid),
        redis: deployment.redis ? contextSwitches(deployment.redis.pid) : null,
      };
      const core0 = machineCpuSeconds(0);
      const gen0 = cpuSeconds(generator.pid);
      const redis = deployment.redis;
      const redis0 = redis ? cpuSeconds(redis.pid) : 0;
      const postgres = measureCpuOfNamed('postgres');
      const stats0 = redis ? await commandStats(redis.url) : undefined;
      const traffic0 = redis ? await trafficStats(redis.url) : undefined;
      const counters0 = kind === 'ours' ? await oursCounters(b.url) : undefined;
      const killedAt = Date.now();
      const tKill = performance.now();
      await a.kill();
      let status: StormStatus = await generator.stormStatus();
      let allMs: number | null = null;
      // B's CPU seconds every 100 ms after the kill, for the timeline and the busiest second: on a timer of its own,
      // since the status polls wait for the generator, which is busy during the storm.
      const cpuSamples: CpuSample[] = [{ ms: 0, cpu: cpu0, generator: gen0 }];
      const sampler = setInterval(() => {
        cpuSamples.push({
          ms: performance.now() - tKill,
          cpu: cpuSeconds(b.pid),
          generator: cpuSeconds(generator.pid),
        });
      }, 100).unref();
      while (performance.now() - tKill < p.maxMs) {
        await sleep(250);
        status = await generator.stormStatus();
        if (status.open === status.clients && status.reopenedAt.length >= status.clients) {
          allMs = Math.max(...status.reopenedAt) - killedAt;
          break;
        }
      }
      clearInterval(sampler);
      cpuSamples.push({ ms: performance.now() - tKill, cpu: cpuSeconds(b.pid), generator: cpuSeconds(generator.pid) });
      const stormSeconds = (performance.now() - tKill) / 1000;
      const pct = (seconds: number) => Math.round((100 * seconds) / stormSeconds);
      if (env.profileDir) await b.profileStop(`${env.profileDir}/${b.name}-storm.cpuprofile`);
      const bCpu = cpuSeconds(b.pid) - cpu0;
      const sys1 = syscallCounts(b.pid);
      const overflows = listenOverflows() - overflows0;
      const threads = threadCpuPerClient(threads0, threadCpu(b.pid), p.clients);
      const switchesPerClient = (before: Switches, after: Switches): Switches => ({
        voluntary: (after.voluntary - before.voluntary) / p.clients,
        involuntary: (after.involuntary - before.involuntary) / p.clients,
      });
      const switches = {
        b: switchesPerClient(switches0.b, contextSwitches(b.pid)),
        redis: redis && switches0.redis ? switchesPerClient(switches0.redis, contextSwitches(redis.pid)) : null,
      };
      const core1 = machineCpuSeconds(0);
      const util = bCpu / stormSeconds;
      const redisCpu = redis ? cpuSeconds(redis.pid) - redis0 : null;
      const pgCpu = postgres.stop();
      const redisDelta = redis && stats0 ? commandStatsDelta(stats0, await commandStats(redis.url)) : [];
      const traffic1 = redis ? await trafficStats(redis.url) : undefined;
      const counters1 = counters0 ? await oursCounters(b.url) : undefined;
      const generatorUtil = (cpuSeconds(generator.pid) - gen0) / stormSeconds;
      const during = summarize(await watcher.snapshot(), util);
      const times = status.reopenedAt.map((t) => t - killedAt).sort((x, y) => x - y);
      const result: StormResult = {
        target: kind,
        clients: p.clients,
        survivors: survivors.length,
        reconnected: status.open,
        allReconnectedMs: allMs,
        p50Ms: quantile(times, 0.5),
        p90Ms: quantile(times, 0.9),
        p99Ms: quantile(times, 0.99),
        maxMs: times.at(-1) ?? Number.NaN,
        failedAttempts: status.failedAttempts,
        listenOverflows: overflows,
        bThreadsMsPerReconnect: threads,
        switchesPerReconnect: switches,
        serverBUtil: util,
        serverBPeakUtil: Math.max(busiestSecond(cpuSamples), util),
        generatorUtil,
        survivorsBefore: before,
        survivorsDuring: during,
        cpuMsPerReconnect: {
          b: (1000 * bCpu) / p.clients,
          redis: redisCpu === null ? null : (1000 * redisCpu) / p.clients,
          postgres: (1000 * pgCpu) / p.clients,
        },
        bSyscallsPerReconnect: {
          reads: (sys1.reads - sys0.reads) / p.clients,
          writes: (sys1.writes - sys0.writes) / p.clients,
        },
        ...(redis ? { redisPerReconnect: perClient(redisDelta, p.clients) } : {}),
        ...(traffic0 && traffic1
          ? {
              redisTrafficPerReconnect: {
                inputBytes: (traffic1.inputBytes - traffic0.inputBytes) / p.clients,
                outputBytes: (traffic1.outputBytes - traffic0.outputBytes) / p.clients,
                readsProcessed: (traffic1.readsProcessed - traffic0.readsProcessed) / p.clients,
                writesProcessed: (traffic1.writesProcessed - traffic0.writesProcessed) / p.clients,
              },
            }
          : {}),
      };
      // Where the time goes, per phase (ms after the kill): the connection seen lost, a ticket
      // asked for and received (ours only), open again.
      const phase = (at: number[]) => {
        const sorted = at
          .map((t) => t - killedAt)
          .filter((ms) => ms >= 0) // the first connects' tickets came before the kill
          .sort((x, y) => x - y);
        return sorted.length === 0 ? 'n/a' : `${quantile(sorted, 0.5)}/${quantile(sorted, 0.9)}/${sorted.at(-1)}`;
      };
      env.log(
        `  ${kind}: phases after the kill, p50/p90/max ms: lost ${phase(status.lostAt)}, ticket asked ` +
          `${phase(status.ticketRequestedAt)}, ticket received ${phase(status.ticketReceivedAt)}, open ${phase(status.reopenedAt)}`,
      );
      env.log(
        `  ${kind}: ${status.open}/${p.clients} back on B, all after ${allMs === null ? 'n/a' : `${allMs} ms`}, ` +
          `B CPU ${Math.round(util * 100)} % (peak ${Math.round(result.serverBPeakUtil * 100)} %), generator ${Math.round(generatorUtil * 100)} %, ` +
          `survivors p99 ${before.p99Ms.toFixed(1)} → ${during.p99Ms.toFixed(1)} ms`,
      );
      env.log(
        `  ${kind}: timeline after the kill (per ${TIMELINE_STEP_MS} ms: lost / open again / B's CPU % / generator's CPU %): ` +
          `${timeline(status, killedAt, cpuSamples)}; SYNs dropped by a full accept queue: ${overflows}; ` +
          `B's CPU ms per reconnect by thread, user + system: main ${threads.main.user.toFixed(3)} + ` +
          `${threads.main.system.toFixed(3)}, other threads ${threads.others.user.toFixed(3)} + ${threads.others.system.toFixed(3)}; ` +
          `core 0 (B and Redis) busy ${pct(core1.busy - core0.busy)} %, interrupts ${pct(core1.irq - core0.irq)} %, ` +
          `steal ${pct(core1.steal - core0.steal)} % of the storm`,
      );
      if (counters0 && counters1) {
        // B's own counters over the storm: a client that connected twice, or refusals, show here.
        const delta = [...counters1]
          .map(([name, value]) => [name, value - (counters0.get(name) ?? 0)] as const)
          .filter(([, value]) => value !== 0)
          .map(([name, value]) => `${name} ${value}`);
        env.log(`  ${kind}: B's counters over the storm: ${delta.join(', ') || 'none moved'}`);
      }
      const cpu = result.cpuMsPerReconnect!;
      const r = result.redisPerReconnect;
      env.log(
        `  ${kind}: CPU ms per reconnect: B ${cpu.b.toFixed(3)}, Redis ${cpu.redis?.toFixed(3) ?? 'n/a'}, ` +
          `Postgres ${cpu.postgres.toFixed(3)}; B's read / write system calls per reconnect ` +
          `${result.bSyscallsPerReconnect!.reads.toFixed(2)} / ${result.bSyscallsPerReconnect!.writes.toFixed(2)}` +
          `; main-thread context switches per reconnect, voluntary / involuntary: B ${formatSwitches(switches.b)}, ` +
          `Redis ${switches.redis ? formatSwitches(switches.redis) : 'n/a'}` +
          (r
            ? `; Redis commands per reconnect ${r.commands.toFixed(2)} (scripts' inner calls counted too), ` +
              `EVALSHA ${(r.byCommand.evalsha ?? 0).toFixed(2)} (${r.evalshaUsec.toFixed(1)} µs in Redis): ` +
              Object.entries(r.byCommand)
                .map(([name, n]) => `${name} ${n.toFixed(2)}`)
                .join(', ') +
              `; Redis traffic per reconnect: ${result.redisTrafficPerReconnect?.readsProcessed.toFixed(2)} reads ` +
              `(${result.redisTrafficPerReconnect?.inputBytes.toFixed(0)} B in), ` +
              `${result.redisTrafficPerReconnect?.writesProcessed.toFixed(2)} writes (${result.redisTrafficPerReconnect?.outputBytes.toFixed(0)} B out)`
            : ''),
      );
      return result;
    } finally {
      await watcher.stop();
    }
  } finally {
    await Promise.all([generator.close().catch(() => undefined), watcher.close().catch(() => undefined)]);
    await Promise.all([generator.kill(), watcher.kill()]);
    await deployment.stop();
  }
}

/** The CPU of `after` − `before`, in ms per storm client. */
function formatSwitches(s: Switches): string {
  return `${s.voluntary.toFixed(2)} / ${s.involuntary.toFixed(2)}`;
}

function threadCpuPerClient(before: ThreadCpu, after: ThreadCpu, clients: number): ThreadCpu {
  const ms = (a: number, b: number) => (1000 * (a - b)) / clients;
  return {
    main: { user: ms(after.main.user, before.main.user), system: ms(after.main.system, before.main.system) },
    others: { user: ms(after.others.user, before.others.user), system: ms(after.others.system, before.others.system) },
  };
}

/** B's busiest share of a core over spans of at least 1 s between consecutive samples used as anchors. */
function busiestSecond(samples: CpuSample[]): number {
  let peak = 0;
  let anchor = samples[0];
  for (const sample of samples) {
    if (!anchor || sample.ms - anchor.ms < 1_000) continue;
    peak = Math.max(peak, (1000 * (sample.cpu - anchor.cpu)) / (sample.ms - anchor.ms));
    anchor = sample;
  }
  return peak;
}

/** CPU seconds of B and of the storm clients' generator, `ms` after the kill. */
interface CpuSample {
  ms: number;
  cpu: number;
  generator: number;
}

/** The timeline's step, ms. */
const TIMELINE_STEP_MS = 500;

/**
 * Per step after the kill: how many clients saw the drop, how many were open again, B's CPU and
 * the generator's (shares of one core), so a step where clients wait shows which side was busy.
 */
function timeline(status: StormStatus, killedAt: number, cpu: CpuSample[]): string {
  const last = cpu.at(-1)?.ms ?? 0;
  const steps = Math.ceil(last / TIMELINE_STEP_MS);
  const count = (at: number[], i: number) =>
    at.filter((t) => t - killedAt >= i * TIMELINE_STEP_MS && t - killedAt < (i + 1) * TIMELINE_STEP_MS).length;
  const parts: string[] = [];
  // CPU seconds at ms, interpolated between the samples (100 ms apart, or more when the bench was busy).
  const at = (ms: number, of: 'cpu' | 'generator') => {
    const after = cpu.findIndex((s) => s.ms >= ms);
    if (after <= 0) return cpu[Math.max(after, 0)]?.[of] ?? 0;
    const [x, y] = [cpu[after - 1]!, cpu[after]!];
    return x[of] + ((y[of] - x[of]) * (ms - x.ms)) / (y.ms - x.ms);
  };
  const share = (from: number, to: number, of: 'cpu' | 'generator') =>
    to > from ? Math.round((100_000 * (at(to, of) - at(from, of))) / (to - from)) : 0;
  for (let i = 0; i < steps; i++) {
    const from = i * TIMELINE_STEP_MS;
    const to = Math.min(from + TIMELINE_STEP_MS, last);
    parts.push(
      `${from / 1000}s ${count(status.lostAt, i)}/${count(status.reopenedAt, i)}/${share(from, to, 'cpu')}/${share(from, to, 'generator')}`,
    );
  }
  return parts.join(', ');
}

/** The series of ours' /metrics (on the API port in the bench's NODE_ENV=test) that count connections and resumes. */
const COUNTED =
  /^anmei_(ws_connects_total|ws_disconnects_total|ws_upgrades_refused_total|resumes_total|rate_limited_total)\b/;

async function oursCounters(baseUrl: string): Promise<Map<string, number>> {
  const counters = new Map<string, number>();
  try {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (!COUNTED.test(line)) continue;
      const at = line.lastIndexOf(' ');
      counters.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
  } catch {
    // No counters: the line is left out, the storm is measured all the same.
  }
  return counters;
}

/** A commandstats delta divided by the number of storm clients. */
function perClient(
  delta: Array<[string, CommandStat]>,
  clients: number,
): NonNullable<StormResult['redisPerReconnect']> {
  const byCommand: Record<string, number> = {};
  let commands = 0;
  let evalshaUsec = 0;
  for (const [name, stat] of delta) {
    byCommand[name] = stat.calls / clients;
    commands += stat.calls;
    // A script's time includes its inner calls', which commandstats also counts under their own names.
    if (name === 'evalsha') evalshaUsec = stat.usec;
  }
  return { commands: commands / clients, evalshaUsec: evalshaUsec / clients, byCommand };
}

/** One snapshot's latency, with the server CPU of the same window. */
function summarize(s: Snapshot, util: number): LatencySummary {
  const window = new Window();
  window.add(s);
  return window.summary(util);
}
