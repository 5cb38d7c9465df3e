/**
 * Socket.IO 4.8 peer: websocket transport only, no compression. `join` puts the socket in
 * rooms (acked), `pub` emits to the room except the sender (`socket.to(room).emit`), which
 * Socket.IO encodes once per broadcast. With BENCH_REDIS_URL it uses @socket.io/redis-adapter's
 * sharded adapter (Redis 7 SSUBSCRIBE/SPUBLISH, one channel per room, dynamic subscriptions)
 * over node-redis, the client that adapter supports.
 */
import { createServer } from 'node:http';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { envPort, reply, serveControl } from './control.ts';

const redisUrl = process.env.BENCH_REDIS_URL;

const server = createServer((_req, res) => res.writeHead(404).end());
const io = new Server(server, {
  transports: ['websocket'],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  maxHttpBufferSize: 64 * 1024,
});

if (redisUrl) {
  const pubClient = createClient({ url: redisUrl });
  const subClient = pubClient.duplicate();
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(
    createShardedAdapter(pubClient, subClient, {
      channelPrefix: `${process.env.BENCH_REDIS_PREFIX ?? 'bench:'}sio`,
      subscriptionMode: 'dynamic',
    }),
  );
}

io.on('connection', (socket) => {
  socket.on('join', (rooms: string[], ack?: () => void) => {
    socket.join(rooms);
    ack?.();
  });
  socket.on('pub', (msg: { room: string; body: string }) => {
    socket.to(msg.room).emit('msg', msg);
  });
});

/** Engine.IO keeps packets in its own write buffer while the websocket has not drained: count both. */
interface EngineSocketView {
  readyState: string;
  writeBuffer: Array<{ data?: unknown }>;
  transport?: { socket?: { bufferedAmount?: number } };
}

function queuedBytes(socket: EngineSocketView): number {
  let bytes = socket.transport?.socket?.bufferedAmount ?? 0;
  for (const packet of socket.writeBuffer) bytes += typeof packet.data === 'string' ? packet.data.length : 0;
  return bytes;
}

serveControl({
  connections: () => io.engine.clientsCount,
  buffers() {
    let maxQueuedBytes = 0;
    let totalQueuedBytes = 0;
    let closing = 0;
    const clients = (io.engine as unknown as { clients: Record<string, EngineSocketView> }).clients;
    for (const socket of Object.values(clients)) {
      if (socket.readyState !== 'open') closing++;
      const bytes = queuedBytes(socket);
      maxQueuedBytes = Math.max(maxQueuedBytes, bytes);
      totalQueuedBytes += bytes;
    }
    return { connections: io.engine.clientsCount, maxQueuedBytes, totalQueuedBytes, closing };
  },
});
server.listen(envPort(), '127.0.0.1', () => {
  const address = server.address();
  reply({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});
