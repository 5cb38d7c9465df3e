/**
 * Scenario 7, chat mix (the issue's scenario 2): N connections in conversations of 2, 3, 4 and 5
 * members (in turn), every member sending `ratePerMember` msg/s to its conversation and
 * receiving the others' messages. Senders are spread over the second (a phase per member), as
 * people do not type in lock-step. Ours sends WS `send_message`, the real chat path (authorize,
 * store with seq in Postgres, ack, broadcast); the peers relay without storing.
 * Open loop: latency of every delivery, server CPU per message and Postgres CPU.
 */
import type { ClientSpec, RoomPlan, TargetKind } from '../common/types.ts';
import { type BenchEnv, deploy, phaseProfiler } from '../harness/deploy.ts';
import { startGenerator } from '../harness/generator.ts';
import { type PhaseResult, runPhase } from '../harness/measure.ts';
import type { Profile } from './profile.ts';

export interface ChatMixResult {
  target: TargetKind;
  connections: number;
  conversations: number;
  ratePerMember: number;
  /** Ours' members marked every received message read, coalesced per this many ms (0: each); null: no reads. */
  readIntervalMs: number | null;
  /** Ours' first member of each conversation was a consultant (`--chatmix-staff`). */
  staff: boolean;
  /** Deliveries per second if every message reaches every other member. */
  expectedDeliveriesPerSec: number;
  phase: PhaseResult;
}

/** Conversation sizes 2, 3, 4, 5, 2, … over `n` users; a remainder of 1 joins the last conversation. */
export function chatMixPlans(n: number): RoomPlan[] {
  const plans: RoomPlan[] = [];
  let next = 0;
  for (let i = 0; next < n; i++) {
    const size = Math.min(2 + (i % 4), n - next);
    const members = Array.from({ length: size }, (_, k) => next + k);
    next += size;
    if (size === 1 && plans.length > 0) plans.at(-1)!.members.push(...members);
    else plans.push({ members });
  }
  return plans;
}

export async function runChatMix(env: BenchEnv, profile: Profile, kind: TargetKind): Promise<ChatMixResult> {
  const { connections, ratePerMember, bodyBytes } = profile.chatmix;
  const readIntervalMs = kind === 'ours' ? (profile.chatmix.readIntervalMs ?? null) : null;
  const staff = kind === 'ours' && profile.chatmix.staff === true;
  const plans = chatMixPlans(connections);
  if (staff) for (const plan of plans) plan.consultants = [plan.members[0]!];
  const deployment = await deploy(env, kind, 1, connections, plans);
  const generator = await startGenerator({
    ...(env.generatorCpus !== undefined ? { cpus: env.generatorCpus } : {}),
    workers: profile.workers,
  });
  try {
    const specs: ClientSpec[] = [];
    let expected = 0;
    plans.forEach((plan, r) => {
      const room = deployment.rooms[r]!;
      expected += plan.members.length * (plan.members.length - 1) * ratePerMember;
      for (const u of plan.members) {
        // Golden-ratio phases: evenly spread send times without randomness between runs.
        const phase = (u * 0.618_033_988_7) % 1;
        specs.push(
          deployment.spec(u, 0, {
            worker: u % profile.workers,
            rooms: [room],
            publishTo: room,
            publishVia: 'chat',
            phase,
            ...(readIntervalMs !== null ? { readReceiptIntervalMs: readIntervalMs } : {}),
          }),
        );
      }
    });
    await generator.connect(specs, 128);
    env.log(`  ${kind}: ${connections} members in ${plans.length} conversations connected`);
    const servers = deployment.instances.map((i) => ({ name: i.name, pid: i.pid }));
    const phase = await runPhase(
      generator,
      servers,
      { mode: 'open', ratePerPublisher: ratePerMember, window: 0, bodyBytes },
      { warmupMs: profile.warmupMs, measureMs: profile.measureMs },
      undefined,
      phaseProfiler(env, deployment, 'chatmix-open'),
    );
    env.log(
      `  ${kind}: ${Math.round(phase.deliveredPerSec)} deliveries/s (expected ${expected}), p99 ${phase.p99Ms.toFixed(1)} ms, ` +
        `server ${Math.round((Object.values(phase.serverUtil)[0] ?? 0) * 100)} % of a core`,
    );
    await generator.close();
    return {
      target: kind,
      connections,
      conversations: plans.length,
      ratePerMember,
      readIntervalMs,
      staff,
      expectedDeliveriesPerSec: expected,
      phase,
    };
  } finally {
    await generator.kill();
    await deployment.stop();
  }
}
