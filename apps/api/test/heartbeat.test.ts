/** The server pings every WS_HEARTBEAT_INTERVAL ms and terminates peers that stop answering. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from './support/test-app.ts';
import { TestSocket } from './support/test-socket.ts';

const INTERVAL_MS = 200;
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ WS_HEARTBEAT_INTERVAL: String(INTERVAL_MS) });
});
afterAll(async () => {
  await app.close();
});

async function open(username: string, autoPong: boolean): Promise<TestSocket> {
  const { token } = await app.login(username);
  const ticket = await app.ticket(token);
  const socket = new TestSocket(new WebSocket(`${app.wsUrl}?ticket=${ticket}&device_type=mobile`, { autoPong }));
  await socket.waitFor('connected');
  return socket;
}

function pings(socket: TestSocket, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    socket.ws.on('ping', () => {
      if (++seen === count) resolve();
    });
  });
}

describe('heartbeat', () => {
  it('keeps a peer that answers pings connected across many intervals', async () => {
    const socket = await open('customer_456', true);
    await pings(socket, 5);
    expect(socket.closed).toBeNull();
    expect(await app.built.ctx.broadcasting.getUserDeviceInfo(app.userId('customer_456'))).toHaveLength(1);
    await socket.close();
  });

  it('closes a peer that stops answering with 4000 within two intervals and removes its presence', async () => {
    const userId = app.userId('customer_789');
    const socket = await open('customer_789', false);
    const connectionId = socket.all('connected')[0]?.data.connection_id;
    expect((await app.built.ctx.broadcasting.getUserDeviceInfo(userId)).map((d) => d.connection_id)).toEqual([
      connectionId,
    ]);

    const started = Date.now();
    const closed = await socket.waitForClose(INTERVAL_MS * 10);
    // The peer is alive enough to read the close frame, so it learns why.
    expect(closed).toEqual({ code: 4000, reason: 'heartbeat timeout' });
    // The last sign of life was the handshake; the deadline is 2 intervals (+ scheduling slack).
    expect(Date.now() - started).toBeLessThan(INTERVAL_MS * 2 + 1_000);
    await app.logs.waitFor(
      (r) => r.msg === 'heartbeat timeout: terminating connection' && r.connectionId === connectionId,
      'the heartbeat timeout warning',
    );
    await app.logs.waitFor((r) => r.msg === 'websocket disconnected' && r.connectionId === connectionId, 'cleanup');
    expect(await app.built.ctx.broadcasting.getUserDeviceInfo(userId)).toEqual([]);
    expect(await app.built.ctx.presence.isOnline(userId)).toBe(false);
  });
});

describe('heartbeat against a dead peer', () => {
  it('cuts the TCP connection when the peer answers neither pings nor the close frame', async () => {
    const userId = app.userId('doctor_001');
    const { token } = await app.login('doctor_001');
    const ticket = await app.ticket(token);
    const ws = new WebSocket(`${app.wsUrl}?ticket=${ticket}`, { autoPong: false });
    const socket = new TestSocket(ws);
    await socket.waitFor('connected');
    // Freeze the peer: it stops reading, so it can neither pong nor answer the close handshake.
    (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    await app.logs.waitFor(
      (r) => r.msg === 'websocket disconnected' && r.userId === userId,
      'the server to cut the frozen peer',
      INTERVAL_MS * 2 + 5_000,
    );
    expect(await app.built.ctx.presence.isOnline(userId)).toBe(false);
    ws.terminate();
  });
});
