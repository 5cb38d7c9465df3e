/**
 * Raw `ws` peer: join rooms, publish, fan out. Each publish is parsed, serialized ONCE into a
 * Buffer and that Buffer is sent to every member of the room except the publisher. With
 * BENCH_REDIS_URL it relays per room through Redis: an instance subscribes a room's channel
 * while it holds a member of it and publishes every message once per room (own echo skipped).
 *
 * Frames: client -> {"t":"join","rooms":[...]} | {"t":"pub","room":...,"body":...};
 * server -> {"t":"joined"} | {"t":"msg","room":...,"body":...}.
 */
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { type WebSocket, WebSocketServer } from 'ws';
import { envPort, reply, serveControl } from './control.ts';

const instanceId = process.env.BENCH_INSTANCE ?? `rawws-${process.pid}`;
const redisUrl = process.env.BENCH_REDIS_URL;
const prefix = `${process.env.BENCH_REDIS_PREFIX ?? 'bench:'}raw:room:`;

const rooms = new Map<string, Set<WebSocket>>();
/** Every open socket, for the slow-consumer scenario's queue report. */
const sockets = new Set<WebSocket>();
let connections = 0;

const header = Buffer.from(`${instanceId}\n`);
const pub = redisUrl ? new Redis(redisUrl) : null;
const sub = redisUrl ? new Redis(redisUrl) : null;

sub?.on('messageBuffer', (channel: Buffer, message: Buffer) => {
  const nl = message.indexOf(0x0a);
  // Our own publish comes back from Redis: local members already have it.
  if (nl === header.length - 1 && message.compare(header, 0, nl, 0, nl) === 0) return;
  const members = rooms.get(channel.toString('latin1').slice(prefix.length));
  if (!members) return;
  const bytes = message.subarray(nl + 1);
  for (const ws of members) ws.send(bytes, { binary: false });
});

function join(ws: WebSocket, room: string, joined: Set<string>): void {
  let members = rooms.get(room);
  if (!members) {
    members = new Set();
    rooms.set(room, members);
    void sub?.subscribe(prefix + room);
  }
  members.add(ws);
  joined.add(room);
}

function leave(ws: WebSocket, joined: Set<string>): void {
  for (const room of joined) {
    const members = rooms.get(room);
    if (!members) continue;
    members.delete(ws);
    if (members.size === 0) {
      rooms.delete(room);
      void sub?.unsubscribe(prefix + room);
    }
  }
}

const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false, maxPayload: 64 * 1024 });

wss.on('connection', (ws) => {
  connections++;
  sockets.add(ws);
  const joined = new Set<string>();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { t: string; rooms?: string[]; room?: string; body?: string };
    if (msg.t === 'join') {
      for (const room of msg.rooms ?? []) join(ws, room, joined);
      ws.send('{"t":"joined"}');
      return;
    }
    if (msg.t === 'pub' && msg.room) {
      // Serialize once; the same Buffer goes to every member.
      const bytes = Buffer.from(JSON.stringify({ t: 'msg', room: msg.room, body: msg.body }));
      const members = rooms.get(msg.room);
      if (members) for (const member of members) if (member !== ws) member.send(bytes, { binary: false });
      if (pub) void pub.publish(prefix + msg.room, Buffer.concat([header, bytes]));
    }
  });
  ws.on('close', () => {
    connections--;
    sockets.delete(ws);
    leave(ws, joined);
  });
  ws.on('error', () => undefined);
});

serveControl({
  connections: () => connections,
  buffers() {
    let maxQueuedBytes = 0;
    let totalQueuedBytes = 0;
    let closing = 0;
    for (const ws of sockets) {
      if (ws.readyState !== ws.OPEN) closing++;
      maxQueuedBytes = Math.max(maxQueuedBytes, ws.bufferedAmount);
      totalQueuedBytes += ws.bufferedAmount;
    }
    return { connections, maxQueuedBytes, totalQueuedBytes, closing };
  },
});
server.listen(envPort(), '127.0.0.1', () => {
  const address = server.address();
  reply({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});
