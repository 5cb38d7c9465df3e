/**
 * One adapter per target: open a client the way a real user of that target would, join its
 * rooms, hand every received frame to `onFrame`, and publish. Subscribers of `ws` targets get
 * raw Buffers (no JSON parsing in the generator); Socket.IO's client decodes packets itself.
 */
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { ClientSpec } from '../common/types.ts';

export interface BenchClient {
  publish(room: string, body: string): void;
  /** Bytes queued on the publishing socket (open loop skips a send when it is backed up). */
  backlog(): number;
  /** Stop reading from the TCP socket (the server's queue toward it grows), or read again. */
  pause(): void;
  resume(): void;
  close(): void;
}

export type FrameHandler = (frame: Buffer | string) => void;
/** A close the client did not ask for: the WebSocket close code (Socket.IO: its disconnect reason). */
export type DropHandler = (code: number | string) => void;

const WS_OPTIONS = { perMessageDeflate: false, skipUTF8Validation: true } as const;

function once<T>(setup: (resolve: (v: T) => void, reject: (e: Error) => void) => void, ms: number, what: string) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    setup(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function firstMessage(ws: WebSocket, what: string): Promise<void> {
  return once<void>(
    (resolve, reject) => {
      ws.once('message', () => resolve());
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`closed with ${code} before ${what}`)));
    },
    30_000,
    what,
  );
}

export function openWs(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, WS_OPTIONS);
  return once<WebSocket>(
    (resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    },
    30_000,
    `open ${url.split('?')[0]}`,
  );
}

async function connectRaw(spec: ClientSpec, onFrame: FrameHandler, onDrop: DropHandler): Promise<BenchClient> {
  const ws = await openWs(spec.url.replace(/^http/, 'ws'));
  ws.on('error', () => undefined);
  if (spec.rooms.length > 0) {
    const joined = firstMessage(ws, 'join');
    ws.send(JSON.stringify({ t: 'join', rooms: spec.rooms }));
    await joined;
  }
  ws.on('message', (data) => onFrame(data as Buffer));
  ws.on('close', onDrop);
  return wsClient(ws, onDrop, (room, body) => ws.send(JSON.stringify({ t: 'pub', room, body })));
}

/** A `ws`-based client: `publish` is the target's own; backlog, pause/resume and close are the socket's. */
function wsClient(ws: WebSocket, onDrop: DropHandler, publish: BenchClient['publish']): BenchClient {
  return {
    publish,
    backlog: () => ws.bufferedAmount,
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    close: () => {
      ws.off('close', onDrop);
      ws.close();
    },
  };
}

async function connectSocketIo(spec: ClientSpec, onFrame: FrameHandler, onDrop: DropHandler): Promise<BenchClient> {
  const socket: Socket = io(spec.url, { transports: ['websocket'], forceNew: true, reconnection: false });
  await once<void>(
    (resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    },
    30_000,
    'socket.io connect',
  );
  if (spec.rooms.length > 0) {
    await once<void>((resolve) => socket.emit('join', spec.rooms, () => resolve()), 30_000, 'socket.io join');
  }
  socket.on('msg', (msg: { body: string }) => onFrame(msg.body));
  const onDisconnect = (reason: string) => onDrop(reason);
  socket.on('disconnect', onDisconnect);
  // Engine.IO's websocket transport in Node is a `ws` WebSocket: pause its TCP socket.
  const transportSocket = () =>
    (socket.io.engine as unknown as { transport?: { ws?: { pause(): void; resume(): void } } }).transport?.ws;
  return {
    publish: (room, body) => socket.emit('pub', { room, body }),
    backlog: () => 0,
    pause: () => transportSocket()?.pause(),
    resume: () => transportSocket()?.resume(),
    close: () => {
      socket.off('disconnect', onDisconnect);
      socket.close();
    },
  };
}

async function connectOurs(spec: ClientSpec, onFrame: FrameHandler, onDrop: DropHandler): Promise<BenchClient> {
  if (spec.publishTo && spec.publishVia !== 'chat') {
    // Pure fan-out publisher: the bench ingress calls BroadcastingService.broadcastMessage.
    const ws = await openWs(spec.ingressUrl!);
    ws.on('error', () => undefined);
    ws.on('close', onDrop);
    return wsClient(ws, onDrop, (room, body) => ws.send(JSON.stringify({ room, from: spec.userId, body })));
  }
  const res = await fetch(`${spec.url}/api/v1/ws/ticket`, {
    method: 'POST',
    headers: { authorization: `Bearer ${spec.token}` },
  });
  if (!res.ok) throw new Error(`ticket: HTTP ${res.status} ${await res.text()}`);
  const { ticket } = (await res.json()) as { ticket: string };
  const ws = new WebSocket(
    `${spec.url.replace(/^http/, 'ws')}/api/v1/ws?ticket=${ticket}&device_type=desktop`,
    WS_OPTIONS,
  );
  // Registered (bus subscription + presence) once the `connected` frame arrives; it may come in
  // the same TCP segment as the 101 response, so listen before the socket is even open.
  const connected = firstMessage(ws, 'connected frame');
  ws.once('unexpected-response', (_req, res) => ws.emit('error', new Error(`upgrade refused: HTTP ${res.statusCode}`)));
  await connected;
  ws.on('error', () => undefined);
  ws.on('message', (data) => onFrame(data as Buffer));
  ws.on('close', onDrop);
  let n = 0;
  return wsClient(ws, onDrop, (room, body) =>
    ws.send(
      JSON.stringify({
        action: 'send_message',
        request_id: `r${++n}`,
        data: { conversation_id: room, client_message_id: `${spec.userId}-${n}-${Date.now()}`, content: body },
      }),
    ),
  );
}

export function connectClient(spec: ClientSpec, onFrame: FrameHandler, onDrop: DropHandler): Promise<BenchClient> {
  switch (spec.kind) {
    case 'rawws':
      return connectRaw(spec, onFrame, onDrop);
    case 'socketio':
      return connectSocketIo(spec, onFrame, onDrop);
    case 'ours':
      return connectOurs(spec, onFrame, onDrop);
  }
}
