/**
 * Scenario 5, slow consumer: one room of N subscribers fed at a fixed rate (as scenario 1's open
 * loop); one subscriber stops reading from its TCP socket, so the server's queue toward it
 * grows. It is also the only reader of a side stream of large messages, which fills its queue
 * in seconds rather than minutes (the kernel's loopback buffers alone take MiBs).
 * Baseline: everyone reads. Slow phase: the slow one is paused. Every `sampleMs` the server's
 * RSS, the largest per-socket queue and the others' latency are sampled. When the server closes
 * the slow socket, it reads again so the close frame (and its code) arrives.
 * ours runs with a lower WS_MAX_BUFFERED_BYTES (profile.slow.maxBufferedBytes); the peers have no cap.
 */
import { Histogram } from '../common/histogram.ts';
import { measureCpu } from '../common/proc.ts';
import type { ClientSpec, RunOptions, Snapshot, TargetKind } from '../common/types.ts';
import { type BenchEnv, deploy } from '../harness/deploy.ts';
import { type GeneratorHandle, startGenerator } from '../harness/generator.ts';
import { sleep } from '../harness/measure.ts';
import type { TargetInstance } from '../harness/target.ts';
import type { Profile } from './profile.ts';

export interface SlowSample {
  /** s since the slow consumer stopped reading (negative: baseline). */
  t: number;
  rss: number;
  maxQueuedBytes: number;
  connections: number;
  closing: number;
  /** The others' latency in this interval, ms. */
  p50Ms: number;
  p99Ms: number;
  delivered: number;
}

export interface LatencySummary {
  delivered: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Share of one core used by the server. */
  serverUtil: number;
}

export interface SlowResult {
  target: TargetKind;
  subscribers: number;
  cap: number | null;
  baseline: LatencySummary;
  slow: LatencySummary;
  samples: SlowSample[];
  rssAtPause: number;
  rssMax: number;
  rssEnd: number;
  maxQueuedBytes: number;
  /** s after the pause when the server closed the slow socket (seen by its queue report); null = never. */
  closedAfterS: number | null;
  /** Close code (Socket.IO: disconnect reason) the slow client saw once it read again; null = none. */
  closeCode: number | string | null;
  slowDelivered: number;
}

/** Latency over one or more generator snapshots (scenario 5's windows; scenario 6's before/during). */
export class Window {
  readonly histogram = new Histogram();
  delivered = 0;
  add(s: Snapshot): void {
    this.histogram.merge({ counts: s.histogram.counts, max: s.histogram.max });
    this.delivered += s.delivered;
  }
  summary(util: number): LatencySummary {
    const h = this.histogram;
    return {
      delivered: this.delivered,
      p50Ms: h.quantile(0.5) / 1000,
      p99Ms: h.quantile(0.99) / 1000,
      maxMs: h.max / 1000,
      serverUtil: util,
    };
  }
}

function intervalQuantiles(s: Snapshot): { p50Ms: number; p99Ms: number } {
  const h = new Histogram();
  h.merge({ counts: s.histogram.counts, max: s.histogram.max });
  return { p50Ms: h.quantile(0.5) / 1000, p99Ms: h.quantile(0.99) / 1000 };
}

async function sample(generator: GeneratorHandle, server: TargetInstance, t: number, window: Window) {
  // A server that cannot answer within 30 s is itself a finding: fail the scenario with that message.
  const [snapshot, buffers] = await Promise.all([generator.snapshot(), server.buffers(30_000)]);
  await generator.reset();
  window.add(snapshot);
  const point: SlowSample = {
    t,
    rss: buffers.rss,
    maxQueuedBytes: buffers.maxQueuedBytes,
    connections: buffers.connections,
    closing: buffers.closing,
    delivered: snapshot.delivered,
    ...intervalQuantiles(snapshot),
  };
  return { point, snapshot };
}

export async function runSlow(env: BenchEnv, profile: Profile, kind: TargetKind): Promise<SlowResult> {
  const p = profile.slow;
  const n = p.subscribers;
  // Users: 0 publisher, 1..n subscribers (n is the slow one), n+1 the side stream's publisher.
  const slowUser = n;
  const sideUser = n + 1;
  const main = { members: Array.from({ length: n + 1 }, (_, i) => i) };
  const side = { members: [sideUser, slowUser] };
  const cap = kind === 'ours' ? p.maxBufferedBytes : undefined;
  const deployment = await deploy(env, kind, 1, n + 2, [main, side], cap ? { maxBufferedBytes: cap } : {});
  const generator = await startGenerator({
    ...(env.generatorCpus !== undefined ? { cpus: env.generatorCpus } : {}),
    // One more worker: the slow client lives alone in it, so when it drains its queue after the
    // server closed it, that burst is not measured as the other subscribers' latency.
    workers: profile.workers + 1,
  });
  try {
    const [room, sideRoom] = [deployment.rooms[0]!, deployment.rooms[1]!];
    const specs: ClientSpec[] = [];
    for (let u = 1; u < n; u++) specs.push(deployment.spec(u, 0, { worker: u % profile.workers, rooms: [room] }));
    specs.push(deployment.spec(slowUser, 0, { worker: profile.workers, rooms: [room, sideRoom], slow: true }));
    await generator.connect(specs);
    await generator.connect([
      deployment.spec(0, 0, { worker: 0, publishTo: room, publishVia: 'ingress' }),
      deployment.spec(sideUser, 0, {
        worker: 0,
        publishTo: sideRoom,
        publishVia: 'ingress',
        rate: p.sideRate,
        bodyBytes: p.sideBodyBytes,
      }),
    ]);
    env.log(`  ${kind}: ${n} subscribers connected (1 slow)${cap ? `, cap ${cap} B` : ', no cap'}`);
    const server = deployment.instances[0]!;
    const run: RunOptions = { mode: 'open', ratePerPublisher: p.rate, window: 0, bodyBytes: p.bodyBytes };
    await generator.start(run);
    const samples: SlowSample[] = [];
    try {
      await sleep(Math.min(2_000, profile.warmupMs));
      await generator.reset();
      // Baseline: everyone reads.
      const base = new Window();
      let cpu = measureCpu(server.pid);
      const baseStart = performance.now();
      while (performance.now() - baseStart < p.baselineMs) {
        await sleep(p.sampleMs);
        samples.push(
          (await sample(generator, server, -(p.baselineMs - (performance.now() - baseStart)) / 1000, base)).point,
        );
      }
      const baseline = base.summary(cpu.stop().utilisation);

      // Slow phase.
      const { rss: rssAtPause, connections: connectionsBefore } = await server.buffers(30_000);
      // --cpu-prof: the server's profile covers the slow phase (pause → close → the rest).
      if (env.profileDir) await server.profileStart();
      await generator.pauseSlow(true);
      const slowWindow = new Window();
      cpu = measureCpu(server.pid);
      const t0 = performance.now();
      let closedAfterS: number | null = null;
      let resumed = false;
      let last: Snapshot | undefined;
      while (performance.now() - t0 < p.slowMs) {
        await sleep(p.sampleMs);
        const t = (performance.now() - t0) / 1000;
        const { point, snapshot } = await sample(generator, server, t, slowWindow);
        samples.push(point);
        last = snapshot;
        if (closedAfterS === null && (point.closing > 0 || point.connections < connectionsBefore)) {
          closedAfterS = t;
          // Read again: the queued frames drain and the close frame shows its code.
          await generator.pauseSlow(false);
          resumed = true;
        }
      }
      const slow = slowWindow.summary(cpu.stop().utilisation);
      if (env.profileDir) await server.profileStop(`${env.profileDir}/${server.name}-slow.cpuprofile`);
      if (!resumed) await generator.pauseSlow(false);
      // Let the slow client drain what the server queued and see a close frame if one was sent.
      await sleep(3_000);
      const final = (await generator.snapshot()).slow ?? last?.slow;
      const rssEnd = (await server.buffers()).rss;
      const during = samples.filter((s) => s.t >= 0);
      const result: SlowResult = {
        target: kind,
        subscribers: n,
        cap: cap ?? null,
        baseline,
        slow,
        samples,
        rssAtPause,
        rssMax: Math.max(rssAtPause, ...during.map((s) => s.rss)),
        rssEnd,
        maxQueuedBytes: Math.max(0, ...during.map((s) => s.maxQueuedBytes)),
        closedAfterS,
        closeCode: final?.closeCode ?? null,
        slowDelivered: final?.delivered ?? 0,
      };
      env.log(
        `  ${kind}: others p99 ${baseline.p99Ms.toFixed(1)} → ${slow.p99Ms.toFixed(1)} ms, RSS ${mib(rssAtPause)} → max ${mib(result.rssMax)} MiB, ` +
          `closed ${closedAfterS === null ? 'never' : `after ${closedAfterS.toFixed(1)} s`} (${String(result.closeCode)})`,
      );
      return result;
    } finally {
      await generator.stop();
    }
  } finally {
    await generator.close().catch(() => undefined);
    await generator.kill();
    await deployment.stop();
  }
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}
