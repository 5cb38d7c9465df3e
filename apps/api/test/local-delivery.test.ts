/**
 * LocalConnections' delivery through the real path (BroadcastingService / bus -> gateway ->
 * sockets) as a user's socket count changes, with every filter, and its slow-consumer closes.
 * Real API on port 0, every device a real WebSocket.
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { CloseCode, encodeFrame, ServerAction, serverFrame } from '@anmei/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { barrier, businessFrames } from './support/barrier.ts';
import { bulkNotice } from './support/bulk.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';
import { TestSocket } from './support/test-socket.ts';

const MAX_BUFFERED_BYTES = 16 * 1024;
let app: TestApp;
let open: TestSocket[] = [];

beforeAll(async () => {
  app = await startTestApp({ WS_MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES) });
});
afterAll(async () => {
  await app.close();
});
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  await Promise.all(open.map((s) => disconnected(s)));
  open = [];
});

async function connect(username: string, deviceType: 'mobile' | 'desktop' | 'tablet' = 'desktop') {
  const socket = await app.connect(username, { deviceType });
  open.push(socket);
  return socket;
}

function connectionIdOf(socket: TestSocket): string {
  const id = socket.all('connected')[0]?.data.connection_id;
  if (!id) throw new Error('socket has no connected frame');
  return id;
}

/** Resolves once the server has cleaned up the socket (its own log line says so). */
async function disconnected(socket: TestSocket): Promise<void> {
  const connectionId = connectionIdOf(socket);
  await app.logs.waitFor((r) => r.msg === 'websocket disconnected' && r.connectionId === connectionId, 'cleanup');
}

async function closeAndForget(socket: TestSocket): Promise<void> {
  await socket.close();
  await disconnected(socket);
  open = open.filter((s) => s !== socket);
}

/** Sends a direct message to every device of `username`; returns its content. */
async function direct(username: string, label: string): Promise<string> {
  const content = `${label} ${randomUUID()}`;
  const outcome = await app.built.ctx.broadcasting.sendDirectMessage(app.userId(username), { content });
  expect(outcome.ok).toBe(true);
  return content;
}

function directContents(socket: TestSocket): string[] {
  return socket.all('direct_message').map((f) => f.data.content);
}

describe('a user whose socket count changes', () => {
  it('gets every frame on exactly the sockets open at the time, going 1 -> 2 -> 3 -> 2 -> 1 -> 2', async () => {
    const a = await connect('customer_456', 'desktop');
    const first = await direct('customer_456', 'one socket');
    const b = await connect('customer_456', 'mobile');
    const second = await direct('customer_456', 'two sockets');
    const c = await connect('customer_456', 'tablet');
    const third = await direct('customer_456', 'three sockets');
    // Remove the oldest of three, then the newest of the remaining two.
    await closeAndForget(a);
    const fourth = await direct('customer_456', 'two again');
    await closeAndForget(c);
    const fifth = await direct('customer_456', 'one again');
    const d = await connect('customer_456', 'desktop');
    const sixth = await direct('customer_456', 'two after one');
    await barrier(app, [b, d]);

    expect(directContents(a)).toEqual([first, second, third]);
    expect(directContents(b)).toEqual([second, third, fourth, fifth, sixth]);
    expect(directContents(c)).toEqual([third, fourth]);
    expect(directContents(d)).toEqual([sixth]);
  });

  it('is unsubscribed only when the last socket goes: a socket opened later still receives', async () => {
    const userId = app.userId('customer_789');
    const a = await connect('customer_789');
    await closeAndForget(a);
    expect(await app.built.ctx.presence.isOnline(userId)).toBe(false);
    const b = await connect('customer_789');
    const content = await direct('customer_789', 'after a full reconnect');
    const [frame] = await b.waitFor('direct_message');
    expect(frame?.data.content).toBe(content);
  });
});

describe('filters on a user with several sockets', () => {
  it('a mobile-only notice reaches only the mobile socket among three of the same user', async () => {
    const mobile = await connect('customer_456', 'mobile');
    const desktop = await connect('customer_456', 'desktop');
    const tablet = await connect('customer_456', 'tablet');
    const title = `提醒 ${randomUUID()}`;
    const outcome = await app.built.ctx.broadcasting.sendMobileOnlyNotification(app.conversationId(FACIAL), {
      title,
      content: '预约即将开始',
    });
    expect(outcome.ok).toBe(true);
    const [frame] = await mobile.waitFor('mobile_notification');
    expect(frame?.data.title).toBe(title);
    await barrier(app, [mobile, desktop, tablet]);
    // The other sockets get only the notice's position (event_skipped), not the notice.
    expect(businessFrames(desktop)).toEqual(['event_skipped']);
    expect(businessFrames(tablet)).toEqual(['event_skipped']);
    expect(businessFrames(mobile).filter((a) => a === 'event_skipped')).toEqual([]);
  });

  it("a sent message skips only the sender's own socket among its three", async () => {
    const mobile = await connect('customer_456', 'mobile');
    const desktop = await connect('customer_456', 'desktop');
    const tablet = await connect('customer_456', 'tablet');
    desktop.send({
      action: 'send_message',
      request_id: 'r1',
      data: { conversation_id: app.conversationId(FACIAL), client_message_id: randomUUID(), content: '多设备' },
    });
    const [ack] = await desktop.waitFor('ack');
    for (const socket of [mobile, tablet]) {
      const [frame] = await socket.waitFor('new_message');
      expect(frame?.data.id).toBe(ack?.data.message_id);
    }
    await barrier(app, [mobile, desktop, tablet]);
    expect(businessFrames(desktop)).toEqual(['ack']);
  });

  it('an admin-only frame to everyone reaches admin sockets and no chat socket', async () => {
    const admin = await app.connect('admin', { connectionType: 'admin' });
    open.push(admin);
    const chat = await connect('admin');
    expect(await app.built.publishStats()).toBe(1);
    await admin.waitFor('stats');
    await barrier(app, [admin, chat]);
    expect(businessFrames(chat)).toEqual([]);
  });
});

describe('bursts', () => {
  it('delivers frames published in one event-loop turn (held for one write per socket) completely and in order', async () => {
    const { bus } = app.built.ctx;
    const desktop = await connect('customer_456', 'desktop');
    const mobile = await connect('customer_456', 'mobile');
    const other = await connect('consultant_001');
    const users = [app.userId('customer_456'), app.userId('consultant_001')];
    const notice = (title: string) =>
      encodeFrame(
        serverFrame(ServerAction.systemNotification, { conversation_id: null, title, message: title, type: 'test' }),
      );
    // One turn: 40 publishes and a ping answered on one socket in between.
    const burst = Array.from({ length: 40 }, (_, i) => `burst ${i}`);
    const published = burst.map((title, i) => {
      if (i === 20) desktop.send({ action: 'ping', data: { ts: 1 } });
      return bus.publishToUsers(users, { frame: notice(title), origin: 'test' });
    });
    await Promise.all(published);
    // A later turn: written on its own, after the held frames left.
    await new Promise((resolve) => setImmediate(resolve));
    await bus.publishToUsers(users, { frame: notice('after'), origin: 'test' });
    const titles = (socket: TestSocket) => socket.all('system_notification').map((f) => f.data.title);
    for (const socket of [desktop, mobile, other]) {
      await socket.waitFor('system_notification', { where: (f) => f.data.title === 'after' });
      expect(titles(socket)).toEqual([...burst, 'after']);
    }
    expect(await desktop.waitFor('pong')).toHaveLength(1);
  });
});

describe('slow consumers', () => {
  it('closes a socket whose unread bytes pass WS_MAX_BUFFERED_BYTES with 4009, and keeps delivering to others', async () => {
    const slow = await connect('customer_456', 'mobile');
    const other = await connect('customer_456', 'desktop');
    const connectionId = connectionIdOf(slow);
    // The client stops reading: its kernel buffers fill, then the server's send queue grows.
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    const closing = app.logs.waitFor(
      (r) => r.msg === 'closing slow consumer' && r.connectionId === connectionId,
      'the slow consumer warning',
      20_000,
    );
    let warned = false;
    void closing.then(() => {
      warned = true;
    });
    const { bus } = app.built.ctx;
    const frame = bulkNotice('bulk');
    let published = 0;
    while (!warned) {
      await bus.publishToUsers([app.userId('customer_456')], { frame, origin: 'test' });
      published++;
      // Let the delivery and the socket writes run before the next frame.
      await new Promise((resolve) => setImmediate(resolve));
      if (published > 2_000) throw new Error('no slow-consumer close after 128 MiB');
    }
    await closing;
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    expect(await slow.waitForClose(20_000)).toMatchObject({ code: CloseCode.slowConsumer });
    // The other socket of the same user read everything and is still served.
    await other.waitFor('system_notification', { count: published, where: (f) => f.data.title === 'bulk' });
    const content = await direct('customer_456', 'after the slow consumer');
    const [last] = await other.waitFor('direct_message');
    expect(last?.data.content).toBe(content);
  });

  /**
   * Stops the client reading, then queues frames on the server side of its socket past the
   * writer (as an earlier burst would have) until more than MAX_BUFFERED_BYTES wait there.
   */
  function fillPastTheCap(socket: TestSocket): void {
    (socket.ws as unknown as { _socket: Socket })._socket.pause();
    const server = app.built.ctx.local.get(connectionIdOf(socket))?.socket;
    if (!server) throw new Error('the server holds no socket for this connection');
    const filler = bulkNotice('filler');
    for (let frames = 0; server.bufferedAmount <= MAX_BUFFERED_BYTES; frames++) {
      if (frames > 2_000) throw new Error('the server socket still took every byte after 128 MiB');
      server.send(filler);
    }
  }

  /** Waits for the server's slow-consumer warning, lets the client read again, and returns its close. */
  async function closedAsSlowConsumer(socket: TestSocket): Promise<{ code: number }> {
    const connectionId = connectionIdOf(socket);
    await app.logs.waitFor(
      (r) => r.msg === 'closing slow consumer' && r.connectionId === connectionId,
      'the slow consumer warning',
    );
    (socket.ws as unknown as { _socket: Socket })._socket.resume();
    return socket.waitForClose(20_000);
  }

  it('closes a socket over WS_MAX_BUFFERED_BYTES with 4009 instead of writing its pong', async () => {
    const socket = await connect('customer_456');
    fillPastTheCap(socket);
    socket.send({ action: 'ping', data: { ts: 1 } });
    expect(await closedAsSlowConsumer(socket)).toMatchObject({ code: CloseCode.slowConsumer });
    expect(socket.all('pong')).toEqual([]);
  });

  it('closes a socket over WS_MAX_BUFFERED_BYTES with 4009 instead of writing an error frame', async () => {
    const socket = await connect('customer_456');
    fillPastTheCap(socket);
    socket.send('{ not json');
    expect(await closedAsSlowConsumer(socket)).toMatchObject({ code: CloseCode.slowConsumer });
    expect(socket.all('error')).toEqual([]);
  });

  it('closes a socket over WS_MAX_BUFFERED_BYTES with 4009 instead of writing the ack of its message', async () => {
    const socket = await connect('customer_456');
    fillPastTheCap(socket);
    socket.send({
      action: 'send_message',
      request_id: 'r1',
      data: { conversation_id: app.conversationId(FACIAL), client_message_id: randomUUID(), content: '慢' },
    });
    expect(await closedAsSlowConsumer(socket)).toMatchObject({ code: CloseCode.slowConsumer });
    expect(socket.all('ack')).toEqual([]);
  });

  it('closes a resuming socket with 4009 once it holds MAX_HELD_FRAMES frames', async () => {
    const { token } = await app.login('customer_789');
    const ticket = await app.ticket(token);
    const socket = new TestSocket(new WebSocket(`${app.wsUrl}?ticket=${ticket}&resume=1`));
    open.push(socket);
    await socket.waitFor('connected');
    const { bus } = app.built.ctx;
    const frame = encodeFrame(
      serverFrame(ServerAction.systemNotification, {
        conversation_id: null,
        title: 'held',
        message: 'm',
        type: 'test',
      }),
    );
    const userId = app.userId('customer_789');
    // No `resume` frame is sent, so everything is held (up to 10 000 frames) until the hold times out.
    for (let i = 0; i <= 10_000; i++) await bus.publishToUsers([userId], { frame, origin: 'test' });
    expect(await socket.waitForClose()).toMatchObject({ code: CloseCode.slowConsumer });
    // Closed while holding: none of the held frames was written.
    expect(socket.all('system_notification')).toEqual([]);
  });
});
