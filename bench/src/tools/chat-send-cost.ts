/**
 * The API's own work for one stored customer message, without the database and the sockets:
 * `ChatService.send` (participant check, push rule, append, broadcast, sender sync) over a store
 * whose append answers at once, the real ParticipantDirectory, BroadcastingService, memory bus and
 * the app's metrics listening; the bus handler writes nowhere. Prints CPU µs and promises per send
 * (promises counted in a separate pass, with an async_hooks init hook; the timed passes run with
 * an AsyncLocalStorage in use, as the app's log context makes it on every instance). Compare trees
 * by running it alternately on each. `--no-log-context` times the sends without the AsyncLocalStorage,
 * to show what its promise hooks cost (Node 20 runs them for every promise once one is in use).
 *   node --conditions=@anmei/source --import tsx bench/src/tools/chat-send-cost.ts [sends per block=20000] [blocks=10] [--no-log-context]
 */
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { pino } from 'pino';
import { BroadcastingService } from '../../../apps/api/src/broadcasting/broadcasting-service.ts';
import { ParticipantDirectory } from '../../../apps/api/src/broadcasting/participant-directory.ts';
import { ChatService } from '../../../apps/api/src/chat/chat-service.ts';
import type { AppendMessageInput, MessageRow, Store } from '../../../apps/api/src/db/store-types.ts';
import { type AppEventMap, TypedEvents } from '../../../apps/api/src/events.ts';
import { AppMetrics } from '../../../apps/api/src/observability/metrics.ts';
import { MemoryBusHub } from '../../../apps/api/src/realtime/bus/memory.ts';
import { MemoryPresenceStore } from '../../../apps/api/src/realtime/presence/memory.ts';

const noLogContext = process.argv.includes('--no-log-context');
const [perBlockArg, blocksArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const perBlock = Number(perBlockArg ?? 20_000);
const blocks = Number(blocksArg ?? 10);
const users = ['u0', 'u1', 'u2', 'u3'];
let seq = 0;
const store = {
  conversations: {
    participants: async () => users.map((userId) => ({ userId, role: 'customer' as const })),
    findById: async () => null,
  },
  messages: {
    append: async (input: AppendMessageInput) => ({
      status: 'created' as const,
      message: {
        id: `m-${seq}`,
        conversationId: input.conversationId,
        seq: ++seq,
        senderId: input.senderId,
        clientMessageId: input.clientMessageId,
        messageType: input.messageType,
        content: input.content,
        metadata: input.metadata ?? null,
        createdAt: new Date(),
      } satisfies MessageRow,
    }),
  },
} as unknown as Store;
const events = new TypedEvents<AppEventMap>({ onListenerError: () => undefined });
const metrics = new AppMetrics({ redis: false, pushQueueTimeoutMs: 1000, processMetrics: false } as never);
metrics.listen(events);
const bus = new MemoryBusHub().createBus('i');
let handed = 0;
bus.onEnvelope((_env, targets) => {
  handed += targets === 'all' ? 0 : targets.length;
});
for (const u of users) await bus.subscribeUser(u);
const participants = new ParticipantDirectory(store);
const broadcasting = new BroadcastingService({
  store,
  bus,
  presence: new MemoryPresenceStore().createPresence(),
  participants,
  pushes: { nudge() {} },
  events,
  instanceId: 'i',
  logger: pino({ level: 'warn' }),
});
const chat = new ChatService({ store, participants, events, broadcasting });
const sender = { userId: 'u0', role: 'customer' as const };
const body = 'x'.repeat(200);
const send = (i: number) =>
  chat.send(sender, { conversationId: 'c1', clientMessageId: `k-${i}`, content: body, sentFromConnectionId: 'conn-1' });

await send(0);
let promises = 0;
const counter = createHook({
  init: (_id, type) => {
    if (type === 'PROMISE') promises++;
  },
});
counter.enable();
for (let i = 0; i < 100; i++) await send(i);
counter.disable();

const als = new AsyncLocalStorage<object>();
const bindings = Object.freeze({ connectionId: 'conn-1', userId: 'u0' });
const results: number[] = [];
for (let b = 0; b < blocks + 2; b++) {
  const c0 = process.cpuUsage();
  if (noLogContext) for (let i = 0; i < perBlock; i++) await send(i);
  else for (let i = 0; i < perBlock; i++) await als.run(bindings, () => send(i));
  const c = process.cpuUsage(c0);
  if (b >= 2) results.push((c.user + c.system) / perBlock);
}
const sorted = [...results].sort((x, y) => x - y);
console.log(
  `chat.send: ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} µs CPU per send (median of ${blocks} blocks of ${perBlock}; ` +
    `${sorted[0]!.toFixed(2)}-${sorted.at(-1)!.toFixed(2)}), ${(promises / 100).toFixed(1)} promises per send, ${handed} targets handed to the bus`,
);
