/**
 * Scenario 4, cross-instance: R rooms x S subscribers, one publisher per room.
 * `single`: one instance (each target's single-process default: ours with its memory bus).
 * `dual`: instances A and B + a bench-owned Redis, each room's subscribers split half/half,
 * publishers on A, plus a bystander instance C holding idle clients that are in no room —
 * its CPU shows what an instance hosting no recipient pays for the traffic.
 * Open loop: latency and CPU at a fixed rate. Closed loop: max delivered msg/s, the window
 * completed by a subscriber on B (the cross-instance path).
 */
import type { ClientSpec, RoomPlan, TargetKind } from '../common/types.ts';
import { type BenchEnv, deploy, phaseProfiler } from '../harness/deploy.ts';
import { startGenerator } from '../harness/generator.ts';
import { type PhaseResult, runPhase } from '../harness/measure.ts';
import type { Profile } from './profile.ts';

export interface CrossResult {
  target: TargetKind;
  layout: 'single' | 'dual';
  rooms: number;
  perRoom: number;
  open: PhaseResult;
  closed: PhaseResult;
  /** dual only: share of one core used by the bystander instance in each phase. */
  bystanderOpenUtil?: number;
  bystanderClosedUtil?: number;
}

export async function runCross(
  env: BenchEnv,
  profile: Profile,
  kind: TargetKind,
  layout: 'single' | 'dual',
): Promise<CrossResult> {
  const { rooms: roomCount, perRoom, bystanders } = profile.cross;
  const stride = perRoom + 1; // user r*stride is room r's publisher, the next perRoom its subscribers
  const roomUsers = roomCount * stride;
  const plans: RoomPlan[] = Array.from({ length: roomCount }, (_, r) => ({
    members: Array.from({ length: stride }, (_, k) => r * stride + k),
  }));
  const instanceCount = layout === 'dual' ? 3 : 1;
  const deployment = await deploy(env, kind, instanceCount, roomUsers + (layout === 'dual' ? bystanders : 0), plans);
  const generator = await startGenerator({
    ...(env.generatorCpus !== undefined ? { cpus: env.generatorCpus } : {}),
    workers: profile.workers,
  });
  try {
    const specs: ClientSpec[] = [];
    const publishers: ClientSpec[] = [];
    for (let r = 0; r < roomCount; r++) {
      const room = deployment.rooms[r]!;
      const worker = r % profile.workers;
      for (let k = 1; k <= perRoom; k++) {
        // dual: the first half of each room on A, the second half (incl. the sentinel) on B.
        const instance = layout === 'dual' && k > perRoom / 2 ? 1 : 0;
        const sentinel = k === perRoom;
        specs.push(
          deployment.spec(r * stride + k, instance, {
            worker: sentinel ? worker : (r * stride + k) % profile.workers,
            rooms: [room],
            ...(sentinel ? { sentinelFor: room } : {}),
          }),
        );
      }
      publishers.push(deployment.spec(r * stride, 0, { worker, publishTo: room, publishVia: 'ingress' }));
    }
    if (layout === 'dual') {
      for (let b = 0; b < bystanders; b++) specs.push(deployment.spec(roomUsers + b, 2, { worker: b }));
    }
    await generator.connect(specs);
    await generator.connect(publishers);
    env.log(`  ${kind} ${layout}: ${specs.length + publishers.length} clients connected`);
    const names = deployment.instances.map((i) => ({ name: i.name, pid: i.pid }));
    if (deployment.redis) names.push({ name: 'redis', pid: deployment.redis.pid });
    // CPU per delivery counts the instances that carry the rooms (A, B) and Redis, not the bystander.
    const counted = names.map((n) => n.name).filter((n) => !n.endsWith('-c'));
    const timing = { warmupMs: profile.warmupMs, measureMs: profile.measureMs };
    const bodyBytes = profile.fanout.bodyBytes;
    const open = await runPhase(
      generator,
      names,
      { mode: 'open', ratePerPublisher: profile.cross.openRatePerRoom, window: 0, bodyBytes },
      timing,
      counted,
      phaseProfiler(env, deployment, `cross-${layout}-open`),
    );
    const closed = await runPhase(
      generator,
      names,
      { mode: 'closed', ratePerPublisher: 0, window: profile.cross.window, bodyBytes },
      timing,
      counted,
      phaseProfiler(env, deployment, `cross-${layout}-closed`),
    );
    await generator.close();
    const bystander = deployment.instances[2]?.name;
    return {
      target: kind,
      layout,
      rooms: roomCount,
      perRoom,
      open,
      closed,
      ...(bystander
        ? { bystanderOpenUtil: open.serverUtil[bystander] ?? 0, bystanderClosedUtil: closed.serverUtil[bystander] ?? 0 }
        : {}),
    };
  } finally {
    await generator.kill();
    await deployment.stop();
  }
}
