/**
 * One adapter per target: open a client the way a real user of that target would, join its
 * rooms, hand every received frame to `onFrame`, and publish. Subscribers of `ws` targets get
 * raw Buffers (no JSON parsing in the generator); Socket.IO's client decodes packets itself.
 */
import { ReadReceipts, systemTimers } from '@anmei/client';
import { ServerAction } from '@anmei/protocol';
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

/** ours: a single-use ticket from `POST /api/v1/ws/ticket` with the spec's access token. */
export async function fetchTicket(spec: ClientSpec): Promise<string> {
  const res = await fetch(`${spec.url}/api/v1/ws/ticket`, {
    method: 'POST',
    headers: { authorization: `Bearer ${spec.token}` },
  });
  if (!res.ok) throw new Error(`ticket: HTTP ${res.status} ${await res.text()}`);
  const { ticket } = (await res.json()) as { ticket: string };
  return ticket;
}

/** ours: the upgrade URL carrying `credential` (default parameter `ticket`), as a desktop device. */
/** The upgrade URL with a ticket, or a resume ticket (the server takes both as `ticket`). */
export function oursSocketUrl(spec: ClientSpec, ticket: string): string {
  return `${spec.url.replace(/^http/, 'ws')}/api/v1/ws?ticket=${encodeURIComponent(ticket)}&device_type=desktop`;
}

/** What ours' first frame said, as far as the bench needs it. */
export interface OursConnected {
  /** The single-use resume ticket for the next connection (absent when the server issues none: scenario 8 skips). */
  resumeTicket?: string;
}

/** The `connected` frame narrowed from unknown JSON; throws when the first frame is anything else. */
function readConnected(data: WebSocket.RawData): OursConnected {
  const frame: unknown = JSON.parse(data.toString());
  const action = (frame as { action?: unknown } | null)?.action;
  if (action !== ServerAction.connected) throw new Error(`first frame is ${String(action)}, expected connected`);
  const resume = (frame as { data?: { resume_ticket?: unknown } }).data?.resume_ticket;
  return typeof resume === 'string' ? { resumeTicket: resume } : {};
}

/**
 * ours: opens `url` and resolves once the `connected` frame arrives, i.e. once the server has
 * registered the socket (bus subscription, presence, stream heads). `onOpen` is called at the HTTP 101.
 */
export function openOurs(url: string, onOpen?: () => void): Promise<{ ws: WebSocket; connected: OursConnected }> {
  const ws = new WebSocket(url, WS_OPTIONS);
  if (onOpen) ws.once('open', onOpen);
  // The `connected` frame may come in the same TCP segment as the 101 response, so listen
  // before the socket is even open.
  return once(
    (resolve, reject) => {
      ws.once('message', (data) => {
        try {
          resolve({ ws, connected: readConnected(data) });
        } catch (error) {
          reject(error as Error);
        }
      });
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`closed with ${code} before the connected frame`)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    },
    30_000,
    'connected frame',
  );
}

async function connectOurs(spec: ClientSpec, onFrame: FrameHandler, onDrop: DropHandler): Promise<BenchClient> {
  if (spec.publishTo && spec.publishVia !== 'chat') {
    // Pure fan-out publisher: the bench ingress calls BroadcastingService.broadcastMessage.
    const ws = await openWs(spec.ingressUrl!);
    ws.on('error', () => undefined);
    ws.on('close', onDrop);
    return wsClient(ws, onDrop, (room, body) => ws.send(JSON.stringify({ room, from: spec.userId, body })));
  }
  const { ws } = await openOurs(oursSocketUrl(spec, await fetchTicket(spec)));
  ws.on('error', () => undefined);
  ws.on('message', (data) => onFrame(data as Buffer));
  if (spec.readReceiptIntervalMs !== undefined) {
    const reads = readReceipts(ws, spec.readReceiptIntervalMs);
    ws.on('message', (data) => markRead(reads, data as Buffer, spec.userId));
    ws.on('close', () => reads.clear());
  }
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

const NEW_MESSAGE_PREFIX = Buffer.from(`{"action":"${ServerAction.newMessage}"`);
const CONSULTATION_REPLY_PREFIX = Buffer.from(`{"action":"${ServerAction.consultationReply}"`);
const startsWith = (data: Buffer, prefix: Buffer) => data.subarray(0, prefix.length).compare(prefix) === 0;

interface ReadableMessage {
  id: string;
  conversation_id: string;
  sender_id: string;
}

/** The SDK's read receipts (what `client.markRead` does) over this bench socket. */
function readReceipts(ws: WebSocket, intervalMs: number): ReadReceipts {
  return new ReadReceipts({
    send: (conversationId, messageIds) => {
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify({ action: 'read', data: { conversation_id: conversationId, message_ids: messageIds } }));
      return true;
    },
    timers: systemTimers,
    intervalMs,
  });
}

/**
 * Marks a message another member sent (`new_message`, or a consultant's `consultation_reply`
 * carrying it) read: the web app's open chat view calls `client.markRead` for each message it shows.
 */
function markRead(reads: ReadReceipts, data: Buffer, me: string | undefined): void {
  let message: ReadableMessage;
  if (startsWith(data, NEW_MESSAGE_PREFIX)) {
    message = (JSON.parse(data.toString()) as { data: ReadableMessage }).data;
  } else if (startsWith(data, CONSULTATION_REPLY_PREFIX)) {
    message = (JSON.parse(data.toString()) as { data: { message: ReadableMessage } }).data.message;
  } else {
    return;
  }
  if (message.sender_id !== me) reads.mark(message.conversation_id, [message.id]);
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
