/**
 * Scenario 2 (adapted to goal 4), the persisted chat path: C conversations of 2 users, one
 * sends, the other receives. Ours sends WS `send_message`, so every message is authorized,
 * stored with its seq in Postgres, acked and delivered through BroadcastingService; the peers
 * relay the same traffic without storing it (a reference, not a like-for-like comparison).
 * Open loop at `openRate` msg/s in total gives latency; closed loop (window per conversation,
 * completed by the receiver) gives the maximum messages/s.
 */
import type { ClientSpec, RoomPlan, TargetKind } from '../common/types.ts';
import { type BenchEnv, deploy, phaseProfiler } from '../harness/deploy.ts';
import { startGenerator } from '../harness/generator.ts';
import { type PhaseResult, runPhase } from '../harness/measure.ts';
import type { Profile } from './profile.ts';

export interface PersistedResult {
  target: TargetKind;
  conversations: number;
  openRate: number;
  open: PhaseResult;
  closed: PhaseResult;
}

export async function runPersisted(env: BenchEnv, profile: Profile, kind: TargetKind): Promise<PersistedResult> {
  const { conversations, openRate, window } = profile.persisted;
  const plans: RoomPlan[] = Array.from({ length: conversations }, (_, c) => ({ members: [2 * c, 2 * c + 1] }));
  const deployment = await deploy(env, kind, 1, 2 * conversations, plans);
  const generator = await startGenerator({
    ...(env.generatorCpus !== undefined ? { cpus: env.generatorCpus } : {}),
    workers: profile.workers,
  });
  try {
    const receivers: ClientSpec[] = [];
    const senders: ClientSpec[] = [];
    for (let c = 0; c < conversations; c++) {
      const room = deployment.rooms[c]!;
      const worker = c % profile.workers;
      receivers.push(deployment.spec(2 * c + 1, 0, { worker, rooms: [room], sentinelFor: room }));
      // Send times spread over each period (golden-ratio phases, as in chat mix): at a fixed rate the
      // 500 senders must not all fire in the same millisecond, or p99 measures a 500-message burst.
      const phase = (c * 0.618_033_988_7) % 1;
      senders.push(deployment.spec(2 * c, 0, { worker, publishTo: room, publishVia: 'chat', phase }));
    }
    await generator.connect(receivers);
    await generator.connect(senders);
    env.log(`  ${kind}: ${conversations} conversations of 2 connected`);
    const servers = deployment.instances.map((i) => ({ name: i.name, pid: i.pid }));
    const timing = { warmupMs: profile.warmupMs, measureMs: profile.measureMs };
    const open = await runPhase(
      generator,
      servers,
      { mode: 'open', ratePerPublisher: openRate / conversations, window: 0, bodyBytes: 200 },
      timing,
      undefined,
      phaseProfiler(env, deployment, 'persisted-open'),
    );
    const closed = await runPhase(
      generator,
      servers,
      { mode: 'closed', ratePerPublisher: 0, window, bodyBytes: 200 },
      timing,
      undefined,
      phaseProfiler(env, deployment, 'persisted-closed'),
    );
    await generator.close();
    return { target: kind, conversations, openRate, open, closed };
  } finally {
    await generator.kill();
    await deployment.stop();
  }
}
