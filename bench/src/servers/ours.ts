/**
 * Our API as a bench target: the real composition root (`buildApp`) with real auth (access
 * token -> HTTP ticket -> WS upgrade), real users and conversations in the database, and
 * messages through the real `BroadcastingService` (participants cache -> serialize once ->
 * bus -> local sockets).
 *
 * Publishing: a client either sends `send_message` on its authenticated socket (the full
 * persisted path), or — for the pure fan-out comparison — sends {room, from, body} to a bench
 * ingress socket on this process, which calls `broadcasting.broadcastMessage` exactly as
 * ChatService does after storing a message. The ingress is bench code on a separate port;
 * nothing in apps/api is changed.
 *
 * Env: BENCH_DATABASE_URL + BENCH_DATABASE_SCHEMA (Postgres) or none (PGlite in memory),
 * BENCH_REDIS_URL (+ BENCH_REDIS_PREFIX) for the Redis bus/presence, BENCH_INSTANCE,
 * BENCH_LOG_LEVEL (default warn: the peers log nothing either), BENCH_WS_MAX_BUFFERED_BYTES (the
 * slow-consumer cap WS_MAX_BUFFERED_BYTES; the app's default 8 MiB when unset).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { MessagePayload } from '@anmei/protocol';
import { WebSocket, WebSocketServer } from 'ws';
import { buildApp } from '../../../apps/api/src/app.ts';
import { hashPassword } from '../../../apps/api/src/auth/passwords.ts';
import { loadConfig } from '../../../apps/api/src/config.ts';
import type { ServerCommand, ServerReply } from '../common/types.ts';
import { reply, serveControl } from './control.ts';

const env = process.env;
const config = loadConfig({
  NODE_ENV: 'test',
  HOST: '127.0.0.1',
  PORT: env.BENCH_PORT ?? '0',
  INSTANCE_ID: env.BENCH_INSTANCE ?? `ours-${process.pid}`,
  LOG_LEVEL: env.BENCH_LOG_LEVEL ?? 'warn',
  SEED_DEMO_DATA: 'false',
  ALLOWED_ORIGINS: '*',
  ...(env.BENCH_DATABASE_URL
    ? { DATABASE_URL: env.BENCH_DATABASE_URL, DATABASE_SCHEMA: env.BENCH_DATABASE_SCHEMA }
    : { DATA_DIR: 'memory://' }),
  ...(env.BENCH_REDIS_URL
    ? { REDIS_URL: env.BENCH_REDIS_URL, REDIS_KEY_PREFIX: env.BENCH_REDIS_PREFIX ?? 'bench:' }
    : {}),
  // Tickets are fetched just before connecting; give big connection waves room.
  WS_TICKET_TTL: '300',
  ACCESS_TOKEN_TTL: '86400',
  ...(env.BENCH_WS_MAX_BUFFERED_BYTES ? { WS_MAX_BUFFERED_BYTES: env.BENCH_WS_MAX_BUFFERED_BYTES } : {}),
  // 0 measures reconnects through the HTTP ticket, as before resume tickets (issue #19).
  ...(env.BENCH_INSTANCE_TTL ? { INSTANCE_TTL: env.BENCH_INSTANCE_TTL } : {}),
  ...(env.BENCH_WS_RESUME_TICKET_TTL ? { WS_RESUME_TICKET_TTL: env.BENCH_WS_RESUME_TICKET_TTL } : {}),
  // The group commit's window (ms between batched statement starts; 0: the policy before it).
  ...(env.BENCH_DATABASE_BATCH_WINDOW_MS ? { DATABASE_BATCH_WINDOW_MS: env.BENCH_DATABASE_BATCH_WINDOW_MS } : {}),
  // The scenarios measure throughput and connection storms on purpose: thousands of sockets and
  // tickets from one address, thousands of frames per second from few sockets. The limits against
  // floods (issue #15) are raised out of their way, not turned off: their checks stay on the path.
  RATE_LIMIT_TICKETS_PER_USER: '1000000',
  WS_UPGRADES_PER_IP: '1000000',
  WS_MAX_CONNECTIONS_PER_IP: '1000000',
  WS_MAX_CONNECTIONS_PER_USER: '1000000',
  WS_FRAME_RATE: '1000000',
  WS_FRAME_BURST: '1000000',
});

const built = await buildApp(config);
const { port } = await built.listen();
const { store, tokens, broadcasting, local } = built.ctx;

async function setup(
  command: Extract<ServerCommand, { type: 'setup' }>,
): Promise<Extract<ServerReply, { type: 'setup-done' }>> {
  // One Argon2 hash shared by every bench user: hashing thousands would dominate set-up time.
  const passwordHash = await hashPassword('bench-password');
  const tag = randomUUID().slice(0, 8);
  const consultants = new Set(command.rooms.flatMap((room) => room.consultants ?? []));
  const roleOf = (i: number) => (consultants.has(i) ? ('consultant' as const) : ('customer' as const));
  const users: Array<{ id: string; token: string }> = new Array(command.users);
  const batch = 25;
  for (let start = 0; start < command.users; start += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, command.users - start) }, async (_, k) => {
        const i = start + k;
        const row = await store.users.create({
          username: `bench_${tag}_${i}`,
          displayName: `Bench ${i}`,
          role: roleOf(i),
          passwordHash,
        });
        users[i] = { id: row.id, token: await tokens.issueAccessToken({ userId: row.id, role: row.role }) };
      }),
    );
  }
  const rooms: string[] = [];
  for (const [r, room] of command.rooms.entries()) {
    const first = room.members[0] ?? 0;
    const conversation = await store.conversations.create({
      title: `bench room ${r}`,
      createdBy: users[first]!.id,
      participants: room.members.map((m) => ({ userId: users[m]!.id, role: roleOf(m) })),
    });
    rooms.push(conversation.id);
  }
  return { type: 'setup-done', users, rooms };
}

// Bench ingress: {room, from, body} -> BroadcastingService.broadcastMessage (no persistence).
const ingressHttp = createServer((_req, res) => res.writeHead(404).end());
const ingress = new WebSocketServer({ server: ingressHttp, perMessageDeflate: false, clientTracking: false });
let seq = 0;
ingress.on('connection', (ws) => {
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { room: string; from: string; body: string };
    const message: MessagePayload = {
      id: randomUUID(),
      conversation_id: msg.room,
      seq: ++seq,
      sender_id: msg.from,
      sender_role: 'customer',
      client_message_id: null,
      message_type: 'text',
      content: msg.body,
      metadata: null,
      created_at: new Date().toISOString(),
    };
    void broadcasting.broadcastMessage(msg.room, message, msg.from);
  });
  ws.on('error', () => undefined);
});
await new Promise<void>((resolve) => ingressHttp.listen(0, '127.0.0.1', resolve));
const ingressAddress = ingressHttp.address();

serveControl({
  setup,
  connections: () => local.size,
  buffers() {
    let maxQueuedBytes = 0;
    let totalQueuedBytes = 0;
    let closing = 0;
    for (const { socket } of local.all()) {
      if (socket.readyState !== WebSocket.OPEN) closing++;
      maxQueuedBytes = Math.max(maxQueuedBytes, socket.bufferedAmount);
      totalQueuedBytes += socket.bufferedAmount;
    }
    return { connections: local.size, maxQueuedBytes, totalQueuedBytes, closing };
  },
});
reply({
  type: 'listening',
  port,
  ingressPort: typeof ingressAddress === 'object' && ingressAddress ? ingressAddress.port : 0,
});
