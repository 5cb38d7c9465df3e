/**
 * A stored customer message's broadcast step, CPU µs per call, in one process, alternating blocks:
 * `broadcastMessage` + `syncToSenderDevices` (two frames encoded, two publishes; ChatService before
 * broadcastStoredMessage) against `broadcastStoredMessage` (one of each). Memory bus, 4 participants,
 * the app's metrics listening, delivery to sockets left out (the same in both).
 *   node --conditions=@anmei/source --import tsx bench/src/tools/broadcast-step-cost.ts
 */
import { pino } from 'pino';
import { BroadcastingService } from '../../../apps/api/src/broadcasting/broadcasting-service.ts';
import { ParticipantDirectory } from '../../../apps/api/src/broadcasting/participant-directory.ts';
import { type AppEventMap, TypedEvents } from '../../../apps/api/src/events.ts';
import { AppMetrics } from '../../../apps/api/src/observability/metrics.ts';
import { MemoryBusHub } from '../../../apps/api/src/realtime/bus/memory.ts';
import { MemoryPresenceStore } from '../../../apps/api/src/realtime/presence/memory.ts';

const users = ['u0', 'u1', 'u2', 'u3'];
const store = {
  conversations: { participants: async () => users.map((userId) => ({ userId, role: 'customer' })) },
} as never;
const events = new TypedEvents<AppEventMap>({ onListenerError: () => undefined });
const metrics = new AppMetrics({ redis: false, pushQueueTimeoutMs: 1000, processMetrics: false } as never);
metrics.listen(events);
const bus = new MemoryBusHub().createBus('i');
let delivered = 0;
bus.onEnvelope((env, targets) => {
  delivered += Buffer.from(env.frame as string).length > 0 && targets !== 'all' ? targets.length : 0;
});
for (const u of users) await bus.subscribeUser(u);
const service = new BroadcastingService({
  store,
  bus,
  presence: new MemoryPresenceStore().createPresence(),
  participants: new ParticipantDirectory(store),
  pushes: { nudge() {} },
  events,
  instanceId: 'i',
  logger: pino({ level: 'warn' }),
});
const wire = {
  id: 'm-1234567890',
  conversation_id: 'c1',
  seq: 1,
  sender_id: 'u0',
  client_message_id: 'k-1',
  message_type: 'text' as const,
  content: 'x'.repeat(200),
  metadata: null,
  created_at: new Date().toISOString(),
  sender_role: 'customer' as const,
};
const variants = {
  old: () =>
    Promise.all([service.broadcastMessage('c1', wire, 'u0'), service.syncToSenderDevices(wire, 'u0', 'conn-1')]),
  new: () => service.broadcastStoredMessage('c1', wire, 'u0', 'conn-1'),
};
const N = 20000;
const res: Record<string, number[]> = { old: [], new: [] };
for (let round = 0; round < 12; round++) {
  for (const name of (round % 2 ? ['new', 'old'] : ['old', 'new']) as Array<keyof typeof variants>) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await variants[name]();
    const c = process.cpuUsage(c0);
    if (round >= 2) res[name]!.push((c.user + c.system) / N);
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(`targets handed to the bus handler: ${delivered}`);
console.log(
  `µs CPU per stored message's broadcast (median of ${res.old!.length} blocks of ${N}): old ${med(res.old!).toFixed(2)}, new ${med(res.new!).toFixed(2)}`,
);
console.log('old blocks', res.old!.map((x) => x.toFixed(2)).join(' '));
console.log('new blocks', res.new!.map((x) => x.toFixed(2)).join(' '));
