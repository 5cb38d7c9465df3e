/**
 * A socket the server closes because of its peer (slow consumer, invalid UTF-8) is released at
 * once: out of presence, local delivery and the bus, so pushes go out for its user, without
 * waiting for a peer that may never answer the close; its TCP connection (and send queue) goes
 * CLOSE_GRACE_MS later at the latest. Regression of issue #15: a cut slow consumer stayed online
 * for the ~30 s of ws's close handshake timeout. Real API on port 0, real sockets that stop reading.
 */
import type { Socket } from 'node:net';
import { CloseCode } from '@anmei/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { directMessagePush, PushDecider } from '../src/notifications/push-rules.ts';
import { CLOSE_GRACE_MS } from '../src/ws/socket-writer.ts';
import { bulkNotice, floodUntilClosed } from './support/bulk.ts';
import { startTestApp, type TestApp } from './support/test-app.ts';
import { TestSocket } from './support/test-socket.ts';

const MAX_BUFFERED_BYTES = 256 * 1024;
/** Scheduling slack on a busy 2-core machine, ms. */
const SLACK_MS = 1_000;
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ WS_MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES) });
});
afterAll(async () => {
  await app.close();
});

/** A plain ws client (so the test can reach its TCP socket) of `username`, after `connected`. */
async function open(username: string): Promise<{ socket: TestSocket; tcp: Socket; connectionId: string }> {
  const { token } = await app.login(username);
  const ticket = await app.ticket(token);
  const ws = new WebSocket(`${app.wsUrl}?ticket=${ticket}&device_type=mobile`);
  const socket = new TestSocket(ws);
  const [connected] = await socket.waitFor('connected');
  const tcp = (ws as unknown as { _socket: Socket })._socket;
  return { socket, tcp, connectionId: connected!.data.connection_id };
}

/** The server's side of a connection, to watch it close. */
function serverSocketOf(connectionId: string): WebSocket {
  const socket = app.built.ctx.local.get(connectionId)?.socket;
  if (!socket) throw new Error(`the server holds no socket for connection ${connectionId}`);
  return socket;
}

/** Resolves with Date.now() when the server's side of the socket has closed (TCP included). */
function serverClosed(socket: WebSocket): Promise<number> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve(Date.now());
  return new Promise((resolve) => socket.once('close', () => resolve(Date.now())));
}

/** Whom a direct-message push for `userId` would go to right now (the user when offline). */
function directMessageRecipients(userId: string): Promise<string[]> {
  const { ctx } = app.built;
  const decider = new PushDecider({
    participants: ctx.participants,
    presence: ctx.presence,
    devices: ctx.store.devices,
    userProvider: 'logging',
    deviceProviders: new Set(),
  });
  return decider.recipients({
    id: 'event:cut-test',
    kind: 'decide',
    conversationId: null,
    userId,
    excludeUserId: null,
    deviceId: null,
    provider: null,
    ...directMessagePush({ content: 'are you there?' }),
    state: 'pending',
    attempts: 1,
    createdAt: new Date(),
    lastOutcome: null,
    lastError: null,
  });
}

/** Presence, the devices API, local delivery and the push rules all say the connection is gone. */
async function expectReleased(userId: string, connectionId: string): Promise<void> {
  const { ctx } = app.built;
  expect(ctx.local.get(connectionId)).toBeUndefined();
  expect(await ctx.presence.isOnline(userId)).toBe(false);
  expect(await ctx.broadcasting.getUserDeviceInfo(userId)).toEqual([]);
  expect(await directMessageRecipients(userId)).toEqual([userId]);
}

describe('a socket the server cuts', () => {
  it('releases a slow consumer from presence at the 4009 cut and ends its TCP connection within CLOSE_GRACE_MS', async () => {
    const userId = app.userId('customer_789');
    const { socket, tcp, connectionId } = await open('customer_789');
    expect(await directMessageRecipients(userId)).toEqual([]);
    const server = serverSocketOf(connectionId);
    const tcpClosed = serverClosed(server);
    // The client stops reading: its kernel buffers fill, then the server's send queue grows.
    tcp.pause();
    const published = await floodUntilClosed(app.built.ctx.bus, userId, server, bulkNotice('bulk'));
    // Measured from the server's own lines (pino's `time`, ms since the epoch): the cut, then the cleanup.
    const cut = await app.logs.waitFor(
      (r) => r.msg === 'closing slow consumer' && r.connectionId === connectionId,
      'the slow consumer warning',
    );
    const cleanup = await app.logs.waitFor(
      (r) => r.msg === 'websocket disconnected' && r.connectionId === connectionId,
      'the cut socket to be unregistered',
    );
    const releasedMs = Number(cleanup.time) - Number(cut.time);
    expect(cleanup.code).toBe(CloseCode.slowConsumer);
    await expectReleased(userId, connectionId);

    // The peer never reads, so it never answers the close frame: the TCP connection is destroyed.
    const closedMs = (await tcpClosed) - Number(cut.time);
    console.log(
      `slow consumer cut after ${published} frames of 64 KiB: unregistered ${releasedMs} ms after the cut, ` +
        `TCP connection closed ${closedMs} ms after it (CLOSE_GRACE_MS = ${CLOSE_GRACE_MS})`,
    );
    expect(releasedMs).toBeLessThan(SLACK_MS);
    expect(closedMs).toBeLessThan(CLOSE_GRACE_MS + SLACK_MS);
    // Cut before its close frame could leave the server's queue: the client sees an abnormal closure.
    tcp.resume();
    expect((await socket.waitForClose()).code).toBe(1006);
  });

  it('releases a socket that sent invalid UTF-8 at once, and cuts it when it does not answer the 1007 close', async () => {
    const userId = app.userId('doctor_001');
    const { socket, tcp, connectionId } = await open('doctor_001');
    const tcpClosed = serverClosed(serverSocketOf(connectionId));
    // Send the bad frame, then stop reading, so the close frame is never answered.
    await new Promise<void>((resolve, reject) =>
      socket.ws.send(Buffer.from([0xc3, 0x28]), { binary: false }, (err) => (err ? reject(err) : resolve())),
    );
    tcp.pause();
    const sentAt = Date.now();
    const cleanup = await app.logs.waitFor(
      (r) => r.msg === 'websocket disconnected' && r.connectionId === connectionId,
      'the failed socket to be unregistered',
    );
    const releasedMs = Number(cleanup.time) - sentAt;
    expect(cleanup.code).toBe(CloseCode.invalidPayload);
    await expectReleased(userId, connectionId);
    const closedMs = (await tcpClosed) - sentAt;
    console.log(
      `invalid UTF-8: unregistered ${releasedMs} ms after the frame was sent, TCP connection closed ${closedMs} ms after it`,
    );
    expect(releasedMs).toBeLessThan(SLACK_MS);
    expect(closedMs).toBeLessThan(CLOSE_GRACE_MS + SLACK_MS);
    tcp.resume();
    // The close frame was in the client's kernel buffer before the cut, so it learns why.
    expect((await socket.waitForClose()).code).toBe(1007);
  });
});
