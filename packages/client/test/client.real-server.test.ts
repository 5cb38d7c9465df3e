/** The client against the real API: connect with a ticket, send with ack, receive through typed handlers. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ClientError, UiFrameOf } from '../src/index.ts';
import { clientFor, FACIAL, useTestApp } from './support/real-api.ts';
import { nextEvent, recordStatuses, until, waitForState } from './support/wait.ts';

const app = useTestApp();

describe('connect', () => {
  it('gets a ticket with the access token, opens one socket and reports who it is', async () => {
    const { client, sockets, tokenRequests } = clientFor(app, 'customer_456', { deviceType: 'mobile' });
    const statuses = recordStatuses(client);
    client.connect();
    const open = await waitForState(client, 'open');

    expect(statuses).toEqual(['idle', 'connecting', 'open']);
    expect(open).toMatchObject({
      userId: app.userId('customer_456'),
      role: 'customer',
      deviceType: 'mobile',
      connectionType: 'chat',
      heartbeatIntervalMs: 45_000,
    });
    expect(tokenRequests).toEqual([{ refresh: false }]);
    expect(sockets.created).toHaveLength(1);
    const query = sockets.urls[0]!.searchParams;
    expect(sockets.urls[0]!.pathname).toBe('/api/v1/ws');
    expect(query.get('device_type')).toBe('mobile');
    expect(query.get('connection_type')).toBe('chat');
    expect(query.get('ticket')).toBeTruthy();
    expect(await app.built.ctx.broadcasting.getUserDeviceInfo(app.userId('customer_456'))).toEqual([
      expect.objectContaining({ connection_id: open.connectionId, device_type: 'mobile' }),
    ]);
  });

  it('calling connect() again while open does nothing', async () => {
    const { client, sockets } = clientFor(app, 'customer_456');
    client.connect();
    await waitForState(client, 'open');
    client.connect();
    expect(client.state.status).toBe('open');
    expect(sockets.created).toHaveLength(1);
  });

  it('opens an admin connection for an admin when asked for connectionType admin', async () => {
    const { client } = clientFor(app, 'admin');
    client.connect({ connectionType: 'admin' });
    expect(await waitForState(client, 'open')).toMatchObject({ connectionType: 'admin', role: 'admin' });
  });

  it('disconnect() closes the socket, lands in closed and stays there', async () => {
    const { client, sockets } = clientFor(app, 'customer_789');
    client.connect();
    const { connectionId } = await waitForState(client, 'open');
    const closedOnServer = new Promise<number>((resolve) =>
      app.built.ctx.events.on('connection.closed', (e) => {
        if (e.connection.connectionId === connectionId) resolve(e.code);
      }),
    );
    client.disconnect();
    expect(client.state).toEqual({ status: 'closed', code: 1000, reason: 'client disconnect' });
    expect(await closedOnServer).toBe(1000);
    expect(sockets.created).toHaveLength(1);
  });
});

describe('send', () => {
  it('resolves with the server ack in the UI model and stores the message once', async () => {
    const { client } = clientFor(app, 'customer_456');
    client.connect();
    await waitForState(client, 'open');
    const conversationId = app.conversationId(FACIAL);
    const clientMessageId = randomUUID();

    const ack = await client.send(conversationId, '你好，我想预约面诊', { clientMessageId });

    expect(ack).toMatchObject({ conversationId, clientMessageId, duplicate: false });
    expect(ack.createdAt).toBeInstanceOf(Date);
    expect(ack.seq).toBeGreaterThan(0);
    const stored = await app.built.ctx.store.messages.history(conversationId, { limit: 200 });
    expect(stored.filter((m) => m.clientMessageId === clientMessageId)).toHaveLength(1);
  });

  it('a message sent before connect() is queued and sent once the connection opens', async () => {
    const { client } = clientFor(app, 'customer_456');
    const pending = client.send(app.conversationId(FACIAL), 'queued before connecting');
    expect(client.pendingMessages).toBe(1);
    client.connect();
    expect(await pending).toMatchObject({ duplicate: false });
    expect(client.pendingMessages).toBe(0);
  });

  it('rejects with SERVER_REJECTED and the protocol code when the user is not a participant', async () => {
    const { client } = clientFor(app, 'customer_789');
    client.connect();
    await waitForState(client, 'open');
    await expect(client.send(app.conversationId(FACIAL), 'not my conversation')).rejects.toMatchObject({
      name: 'SendError',
      code: 'SERVER_REJECTED',
      serverCode: 'NOT_PARTICIPANT',
    });
  });

  it('rejects empty content locally with INVALID and sends nothing', async () => {
    const { client } = clientFor(app, 'customer_456');
    await expect(client.send(app.conversationId(FACIAL), '')).rejects.toMatchObject({ code: 'INVALID' });
    expect(client.pendingMessages).toBe(0);
  });
});

describe('receive', () => {
  it('hands every message of a burst to the typed handler, in order, as camelCase with Dates', async () => {
    const customer = clientFor(app, 'customer_456').client;
    const consultant = clientFor(app, 'consultant_001').client;
    const received: UiFrameOf<'new_message'>[] = [];
    consultant.on('new_message', (frame) => {
      received.push(frame);
    });
    customer.connect();
    consultant.connect();
    await Promise.all([waitForState(customer, 'open'), waitForState(consultant, 'open')]);

    const burst = Array.from({ length: 20 }, (_, i) => `burst ${i}`);
    const conversationId = app.conversationId(FACIAL);
    await Promise.all(burst.map((text) => customer.send(conversationId, text)));
    await until(() => received.length >= burst.length, `${burst.length} new_message frames`);

    expect(received.map((f) => f.data.content)).toEqual(burst);
    const seqs = received.map((f) => f.data.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const first = received[0]!;
    expect(first.data).toMatchObject({ conversationId, senderId: app.userId('customer_456'), messageType: 'text' });
    expect(first.data.createdAt).toBeInstanceOf(Date);
    expect(first.timestamp).toBeInstanceOf(Date);
    expect(consultant.getSnapshot().lastMessage?.action).toBe('new_message');
  });

  it('isolates a throwing handler: it is reported, and the other handlers still get every frame', async () => {
    const customer = clientFor(app, 'customer_456').client;
    const { client: consultant } = clientFor(app, 'consultant_001');
    const errors: ClientError[] = [];
    consultant.onEvent('error', (e) => {
      errors.push(e);
    });
    consultant.on('new_message', () => {
      throw new Error('page A crashed');
    });
    const seen: string[] = [];
    consultant.on('new_message', (frame) => {
      seen.push(frame.data.content);
    });
    customer.connect();
    consultant.connect();
    await Promise.all([waitForState(customer, 'open'), waitForState(consultant, 'open')]);

    await customer.send(app.conversationId(FACIAL), 'one');
    await customer.send(app.conversationId(FACIAL), 'two');
    await until(() => seen.length === 2, 'both messages at the healthy handler');

    expect(seen).toEqual(['one', 'two']);
    expect(errors.map((e) => [e.code, e.action, e.reason])).toEqual([
      ['HANDLER_FAILED', 'new_message', 'a "new_message" handler threw: page A crashed'],
      ['HANDLER_FAILED', 'new_message', 'a "new_message" handler threw: page A crashed'],
    ]);
    expect(consultant.state.status).toBe('open');
  });

  it('unsubscribing a handler stops its calls', async () => {
    const customer = clientFor(app, 'customer_456').client;
    const consultant = clientFor(app, 'consultant_001').client;
    const calls: string[] = [];
    const off = consultant.on('new_message', (f) => {
      calls.push(f.data.content);
    });
    const all: string[] = [];
    consultant.on('*', (f) => {
      if (f.action === 'new_message') all.push(f.data.content);
    });
    customer.connect();
    consultant.connect();
    await Promise.all([waitForState(customer, 'open'), waitForState(consultant, 'open')]);
    await customer.send(app.conversationId(FACIAL), 'before');
    await until(() => all.length === 1, 'the first message');
    off();
    await customer.send(app.conversationId(FACIAL), 'after');
    await until(() => all.length === 2, 'the second message');
    expect(calls).toEqual(['before']);
  });

  it('delivers typing indicators both ways and measures the round trip of a ping', async () => {
    const customer = clientFor(app, 'customer_456').client;
    const consultant = clientFor(app, 'consultant_001').client;
    customer.connect();
    consultant.connect();
    await Promise.all([waitForState(customer, 'open'), waitForState(consultant, 'open')]);
    const typing = new Promise<UiFrameOf<'typing_status'>>((resolve) => consultant.on('typing_status', resolve));
    expect(customer.sendTyping(app.conversationId(FACIAL), true)).toBe(true);
    expect((await typing).data).toMatchObject({ userId: app.userId('customer_456'), isTyping: true });

    const rtt = nextEvent(customer, 'rtt');
    expect(customer.ping()).toBe(true);
    expect((await rtt).rttMs).toBeGreaterThanOrEqual(0);
    expect(customer.getSnapshot().rttMs).toBe((await rtt).rttMs);
  });
});
