/**
 * Real sockets for tests: the `ws` WebSocket (Node 20 has no global one) wrapped so a test can
 * count how many the client created, and a raw `ws` server for peers the real API cannot
 * play (one that ignores pings, one that asks clients to move).
 */
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import type { WebSocketConstructor } from '../../src/index.ts';

export interface SocketCounter {
  WebSocket: WebSocketConstructor;
  /** Every socket the client created, in order. */
  readonly created: WebSocket[];
  /** URLs the client opened (ticket, device_type, connection_type are in the query). */
  readonly urls: URL[];
}

export function countingWebSocket(): SocketCounter {
  const created: WebSocket[] = [];
  const urls: URL[] = [];
  class CountingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      created.push(this);
      urls.push(new URL(url));
    }
  }
  return { WebSocket: CountingWebSocket, created, urls };
}

export interface RawServer {
  /** ws://127.0.0.1:<port> */
  url: string;
  readonly connections: WebSocket[];
  close(): Promise<void>;
}

/** A bare `ws` server on 127.0.0.1:0; `onConnection` decides how the peer behaves. */
export async function startRawServer(onConnection: (socket: WebSocket, index: number) => void): Promise<RawServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const connections: WebSocket[] = [];
  wss.on('connection', (socket) => {
    socket.on('error', () => undefined);
    connections.push(socket);
    onConnection(socket, connections.length - 1);
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of wss.clients) socket.terminate();
        wss.close(() => resolve());
      }),
  };
}

/**
 * What the real server sends first; enough for the client to count the connection as open.
 * Written out (not built with the typed helper) so it carries every field a current server
 * sends, including ones a given protocol version may not know yet (those are ignored).
 */
export function connectedFrameText(index: number): string {
  return JSON.stringify({
    action: 'connected',
    data: {
      connection_id: `raw-${index}`,
      user_id: 'raw-user',
      role: 'customer',
      device_type: 'desktop',
      connection_type: 'chat',
      heartbeat_interval_ms: 45_000,
      max_payload_bytes: 65_536,
      max_reconnect_attempts: 15,
      user_seq: 0,
      global_seq: 0,
    },
    timestamp: new Date().toISOString(),
  });
}

/** A server frame as raw text (for peers that are not the real server). */
export function frameText(action: string, data: unknown): string {
  return JSON.stringify({ action, data, timestamp: new Date().toISOString() });
}
