/**
 * Scenario 1, fan-out: one publisher, N subscribers in one room, 1 KiB bodies. Open loop at a
 * fixed rate gives server CPU per delivery and latency; closed loop (a window of messages in
 * flight, completed by a sentinel subscriber) gives the maximum delivered msg/s.
 * Ours publishes through the bench ingress -> BroadcastingService (`via: 'ingress'`) or, as a
 * separate row, with WS send_message through the whole persisted path (`via: 'chat'`).
 */
import type { ClientSpec, TargetKind } from '../common/types.ts';
import { type BenchEnv, deploy, phaseProfiler } from '../harness/deploy.ts';
import { startGenerator } from '../harness/generator.ts';
import { type PhaseResult, runPhase } from '../harness/measure.ts';
import type { Profile } from './profile.ts';

export interface FanoutResult {
  target: TargetKind;
  variant: string;
  subscribers: number;
  open: PhaseResult;
  closed: PhaseResult;
}

export async function runFanout(
  env: BenchEnv,
  profile: Profile,
  kind: TargetKind,
  via: 'ingress' | 'chat' = 'ingress',
): Promise<FanoutResult> {
  const n = profile.fanout.subscribers;
  const users = n + 1;
  const members = Array.from({ length: users }, (_, i) => i);
  const deployment = await deploy(env, kind, 1, users, [{ members }]);
  const generator = await startGenerator({
    ...(env.generatorCpus !== undefined ? { cpus: env.generatorCpus } : {}),
    workers: profile.workers,
  });
  try {
    const room = deployment.rooms[0]!;
    const specs: ClientSpec[] = [];
    for (let u = 1; u <= n; u++) {
      // Subscriber 1 is the sentinel; it lives in the publisher's worker (0).
      const worker = u === 1 ? 0 : u % profile.workers;
      specs.push(deployment.spec(u, 0, { worker, rooms: [room], ...(u === 1 ? { sentinelFor: room } : {}) }));
    }
    const connected = await generator.connect(specs);
    env.log(`  ${kind}: ${connected.connected} subscribers connected`);
    await generator.connect([deployment.spec(0, 0, { worker: 0, publishTo: room, publishVia: via })]);
    const server = deployment.instances.map((i) => ({ name: i.name, pid: i.pid }));
    const timing = { warmupMs: profile.warmupMs, measureMs: profile.measureMs };
    const body = profile.fanout.bodyBytes;
    const open = await runPhase(
      generator,
      server,
      { mode: 'open', ratePerPublisher: profile.fanout.openRate, window: 0, bodyBytes: body },
      timing,
      undefined,
      phaseProfiler(env, deployment, `fanout-${via}-open`),
    );
    const closed = await runPhase(
      generator,
      server,
      { mode: 'closed', ratePerPublisher: 0, window: profile.fanout.window, bodyBytes: body },
      timing,
      undefined,
      phaseProfiler(env, deployment, `fanout-${via}-closed`),
    );
    await generator.close();
    return { target: kind, variant: kind === 'ours' ? via : '', subscribers: n, open, closed };
  } finally {
    await generator.kill();
    await deployment.stop();
  }
}
