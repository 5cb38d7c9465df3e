/**
 * The chat HTTP API end to end: real API on port 0, every recipient a real WebSocket.
 * Tests that count (seq, unread, history) build their own conversations, and where "only
 * mine" matters their own users, so no test depends on another's order.
 */
import { randomUUID } from 'node:crypto';
import type { Role } from '@anmei/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/passwords.ts';
import { DEMO_PASSWORD } from '../src/db/seed.ts';
import { barrier, businessFrames } from './support/barrier.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';
import type { TestSocket } from './support/test-socket.ts';

let app: TestApp;
let open: TestSocket[] = [];

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.close();
});
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
  // Wait until the server has cleaned up every close, so presence is clean for the next test.
  await waitUntil(() => app.built.ctx.local.size === 0, 'all sockets to be unregistered');
});

async function waitUntil(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

async function connect(username: string): Promise<TestSocket> {
  const socket = await app.connect(username);
  open.push(socket);
  return socket;
}

/** A user only this test knows (password DEMO_PASSWORD), for "only my conversations" counts. */
async function freshUser(role: Role): Promise<string> {
  const username = `${role}_${randomUUID().slice(0, 8)}`;
  await app.built.ctx.store.users.create({
    username,
    displayName: `Test ${username}`,
    role,
    passwordHash: await hashPassword(DEMO_PASSWORD),
  });
  return username;
}

/** A conversation with no messages, between the given users (demo or fresh). */
async function freshConversation(...usernames: string[]): Promise<string> {
  const store = app.built.ctx.store;
  const members = await Promise.all(
    usernames.map(async (username) => {
      const user = await store.users.findByUsername(username);
      if (!user) throw new Error(`unknown user ${username}`);
      return { userId: user.id, role: user.role };
    }),
  );
  const conversation = await store.conversations.create({
    title: `test ${randomUUID()}`,
    createdBy: members[0]!.userId,
    participants: members,
  });
  return conversation.id;
}

async function idOf(username: string): Promise<string> {
  return (await app.login(username)).userId;
}

async function send(username: string, conversationId: string, content: string, clientMessageId?: string) {
  const { token } = await app.login(username);
  return app.http('POST', `/api/v1/chat/${conversationId}/send`, {
    token,
    body: { content, ...(clientMessageId ? { client_message_id: clientMessageId } : {}) },
  });
}

async function sendOk(username: string, conversationId: string, content: string) {
  const res = await send(username, conversationId, content);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { message_id: string; seq: number };
}

async function history(username: string, conversationId: string, query = '') {
  const { token } = await app.login(username);
  return app.http('GET', `/api/v1/chat/${conversationId}/messages${query}`, { token });
}

async function read(username: string, conversationId: string, messageIds: string[]) {
  const { token } = await app.login(username);
  return app.http('POST', `/api/v1/chat/${conversationId}/read`, { token, body: { message_ids: messageIds } });
}

async function conversations(username: string) {
  const { token } = await app.login(username);
  const res = await app.http('GET', '/api/v1/conversations', { token });
  expect(res.status).toBe(200);
  return res.body.conversations as Array<{
    id: string;
    title: string;
    last_seq: number;
    unread_count: number;
    last_message: { id: string; seq: number } | null;
    participants: Array<{ user_id: string; role: Role; display_name: string; last_read_seq: number; online: boolean }>;
  }>;
}

function expectProblem(res: Awaited<ReturnType<TestApp['http']>>, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code });
}

describe('POST /api/v1/chat/{id}/send', () => {
  it("stores a customer's message, answers with its seq, and the others get it as new_message", async () => {
    const conversationId = await freshConversation('customer_456', 'consultant_001', 'doctor_001');
    const sender = await connect('customer_456');
    const consultant = await connect('consultant_001');
    const doctor = await connect('doctor_001');
    const clientMessageId = randomUUID();

    const res = await send('customer_456', conversationId, '我想预约下周的面部护理', clientMessageId);

    expect(res.status).toBe(200);
    const customerId = await idOf('customer_456');
    // The WS ack's fields (MessageSent), then the stored message as live frames carry it.
    expect(res.body).toEqual({
      status: 'sent',
      message_id: expect.any(String),
      conversation_id: conversationId,
      seq: 1,
      client_message_id: clientMessageId,
      duplicate: false,
      created_at: res.body.message.created_at,
      message: {
        id: res.body.message_id,
        conversation_id: conversationId,
        seq: 1,
        sender_id: customerId,
        client_message_id: clientMessageId,
        message_type: 'text',
        content: '我想预约下周的面部护理',
        metadata: null,
        created_at: expect.any(String),
        sender_role: 'customer',
      },
    });
    expect(new Date(res.body.message.created_at).toISOString()).toBe(res.body.message.created_at);
    for (const socket of [consultant, doctor]) {
      const [frame] = await socket.waitFor('new_message');
      expect(frame?.data).toEqual(res.body.message);
    }
    await barrier(app, [sender, consultant, doctor]);
    // The sender's own socket gets the stored message too (device sync: the HTTP send has no socket to skip).
    const [synced] = sender.all('new_message');
    expect(synced?.data).toEqual(res.body.message);
    expect(businessFrames(sender)).toEqual(['new_message']);
    expect(businessFrames(consultant)).toEqual(['new_message']);
    expect(businessFrames(doctor)).toEqual(['new_message']);
  });

  it("sends a consultant's message to the others as consultation_reply", async () => {
    const conversationId = await freshConversation('customer_456', 'consultant_001', 'doctor_001');
    const customer = await connect('customer_456');
    const doctor = await connect('doctor_001');
    const consultant = await connect('consultant_001');

    const res = await send('consultant_001', conversationId, '建议您先做一次皮肤检测');

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'sent', seq: 1, duplicate: false });
    for (const socket of [customer, doctor]) {
      const [frame] = await socket.waitFor('consultation_reply');
      expect(frame?.data).toEqual({
        conversation_id: conversationId,
        consultant_id: await idOf('consultant_001'),
        content: '建议您先做一次皮肤检测',
        reply_type: 'consultation',
        message: { ...res.body.message, sender_role: 'consultant' },
      });
    }
    await barrier(app, [customer, doctor, consultant]);
    expect(businessFrames(customer)).toEqual(['consultation_reply']);
    // The consultant's own device is synced with a plain new_message, never a reply to itself.
    expect(businessFrames(consultant)).toEqual(['new_message']);
  });

  it('numbers messages 1, 2, 3 within each conversation', async () => {
    const a = await freshConversation('customer_456', 'consultant_001');
    const b = await freshConversation('customer_456', 'consultant_001');
    expect((await sendOk('customer_456', a, 'a1')).seq).toBe(1);
    expect((await sendOk('consultant_001', a, 'a2')).seq).toBe(2);
    expect((await sendOk('customer_456', b, 'b1')).seq).toBe(1);
    expect((await sendOk('customer_456', a, 'a3')).seq).toBe(3);
  });

  it('refuses a non-participant with 403 NOT_PARTICIPANT; nothing is stored and nobody receives anything', async () => {
    const conversationId = app.conversationId(FACIAL);
    const sockets = await Promise.all(
      ['customer_456', 'consultant_001', 'doctor_001', 'customer_789'].map((u) => connect(u)),
    );
    const content = `intruder ${randomUUID()}`;

    expectProblem(await send('customer_789', conversationId, content), 403, 'NOT_PARTICIPANT');

    await barrier(app, sockets);
    for (const socket of sockets) expect(businessFrames(socket)).toEqual([]);
    const stored = await history('customer_456', conversationId, '?limit=200');
    expect(stored.body.messages.map((m: { content: string }) => m.content)).not.toContain(content);
  });

  it('answers an unknown conversation with 404 CONVERSATION_NOT_FOUND', async () => {
    expectProblem(await send('customer_456', randomUUID(), 'hello'), 404, 'CONVERSATION_NOT_FOUND');
  });

  it('refuses empty content with 400 VALIDATION_FAILED', async () => {
    const conversationId = await freshConversation('customer_456', 'consultant_001');
    const res = await send('customer_456', conversationId, '');
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect((await history('customer_456', conversationId)).body.messages).toEqual([]);
  });
});

describe('idempotent resend (client_message_id)', () => {
  it('returns the original message with duplicate:true; it is stored and delivered once', async () => {
    const conversationId = await freshConversation('customer_456', 'consultant_001');
    const consultant = await connect('consultant_001');
    const clientMessageId = randomUUID();

    const first = await send('customer_456', conversationId, '第一次发送', clientMessageId);
    // A retry after a lost response; even a changed body must not create a second message.
    const again = await send('customer_456', conversationId, '第一次发送', clientMessageId);
    const changed = await send('customer_456', conversationId, 'edited text', clientMessageId);

    expect(first.status).toBe(200);
    expect(first.body.duplicate).toBe(false);
    for (const retry of [again, changed]) {
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual({ ...first.body, duplicate: true });
    }
    const stored = await history('customer_456', conversationId);
    expect(stored.body.messages).toEqual([first.body.message]);
    await consultant.waitFor('new_message');
    await barrier(app, [consultant]);
    expect(businessFrames(consultant)).toEqual(['new_message']);
    // The next new message takes the next seq: retries burned none.
    expect((await sendOk('customer_456', conversationId, 'next')).seq).toBe(2);
  });

  it('refuses the same client_message_id in another conversation with 409 CLIENT_MESSAGE_ID_CONFLICT', async () => {
    const a = await freshConversation('customer_456', 'consultant_001');
    const b = await freshConversation('customer_456', 'doctor_001');
    const doctor = await connect('doctor_001');
    const clientMessageId = randomUUID();

    expect((await send('customer_456', a, 'in a', clientMessageId)).status).toBe(200);
    expectProblem(await send('customer_456', b, 'in b', clientMessageId), 409, 'CLIENT_MESSAGE_ID_CONFLICT');

    expect((await history('customer_456', b)).body.messages).toEqual([]);
    await barrier(app, [doctor]);
    expect(businessFrames(doctor)).toEqual([]);
  });

  it('lets two different senders use the same client_message_id', async () => {
    const conversationId = await freshConversation('customer_456', 'consultant_001');
    const clientMessageId = randomUUID();
    const mine = await send('customer_456', conversationId, 'from customer', clientMessageId);
    const theirs = await send('consultant_001', conversationId, 'from consultant', clientMessageId);
    expect([mine.body.duplicate, theirs.body.duplicate]).toEqual([false, false]);
    expect(theirs.body.message_id).not.toBe(mine.body.message_id);
  });
});

describe('GET /api/v1/chat/{id}/messages', () => {
  /** A conversation with messages seq 1..count, alternating customer and consultant. */
  async function conversationWith(count: number) {
    const conversationId = await freshConversation('customer_456', 'consultant_001');
    for (let i = 1; i <= count; i++) {
      await sendOk(i % 2 ? 'customer_456' : 'consultant_001', conversationId, `message ${i}`);
    }
    return conversationId;
  }
  const seqs = (res: { body: { messages: Array<{ seq: number }> } }) => res.body.messages.map((m) => m.seq);

  it('returns the messages by seq, ascending, with their content', async () => {
    const conversationId = await conversationWith(5);
    const res = await history('consultant_001', conversationId);
    expect(res.status).toBe(200);
    expect(seqs(res)).toEqual([1, 2, 3, 4, 5]);
    expect(res.body.messages.map((m: { content: string }) => m.content)).toEqual([
      'message 1',
      'message 2',
      'message 3',
      'message 4',
      'message 5',
    ]);
    expect(res.body.has_more).toBe(false);
  });

  it('pages back from the newest with before_seq and limit, has_more until the first message', async () => {
    const conversationId = await conversationWith(5);
    const newest = await history('customer_456', conversationId, '?limit=2');
    expect([seqs(newest), newest.body.has_more]).toEqual([[4, 5], true]);
    const middle = await history('customer_456', conversationId, '?limit=2&before_seq=4');
    expect([seqs(middle), middle.body.has_more]).toEqual([[2, 3], true]);
    const oldest = await history('customer_456', conversationId, '?limit=2&before_seq=2');
    expect([seqs(oldest), oldest.body.has_more]).toEqual([[1], false]);
    // A page that ends exactly at the first message has nothing more before it.
    const exact = await history('customer_456', conversationId, '?limit=2&before_seq=3');
    expect([seqs(exact), exact.body.has_more]).toEqual([[1, 2], false]);
  });

  it('catches up after a known seq with after_seq, has_more until the newest message', async () => {
    const conversationId = await conversationWith(5);
    const first = await history('customer_456', conversationId, '?after_seq=0&limit=2');
    expect([seqs(first), first.body.has_more]).toEqual([[1, 2], true]);
    const next = await history('customer_456', conversationId, '?after_seq=2&limit=2');
    expect([seqs(next), next.body.has_more]).toEqual([[3, 4], true]);
    const last = await history('customer_456', conversationId, '?after_seq=4&limit=2');
    expect([seqs(last), last.body.has_more]).toEqual([[5], false]);
    const none = await history('customer_456', conversationId, '?after_seq=5');
    expect([seqs(none), none.body.has_more]).toEqual([[], false]);
  });

  it('reports has_more on a full page of the maximum size (limit=200)', async () => {
    const conversationId = await freshConversation('customer_456', 'consultant_001');
    const store = app.built.ctx.store;
    const senderId = await idOf('customer_456');
    for (let i = 1; i <= 201; i++) {
      await store.messages.append({
        conversationId,
        senderId,
        clientMessageId: null,
        messageType: 'text',
        content: `bulk ${i}`,
      });
    }
    const newest = await history('customer_456', conversationId, '?limit=200');
    expect(newest.body.messages).toHaveLength(200);
    expect([seqs(newest)[0], seqs(newest).at(-1), newest.body.has_more]).toEqual([2, 201, true]);
    const oldest = await history('customer_456', conversationId, '?limit=200&before_seq=2');
    expect([seqs(oldest), oldest.body.has_more]).toEqual([[1], false]);
    const catchUp = await history('customer_456', conversationId, '?after_seq=0&limit=200');
    expect([seqs(catchUp)[0], seqs(catchUp).at(-1), catchUp.body.has_more]).toEqual([1, 200, true]);
    const rest = await history('customer_456', conversationId, '?after_seq=200&limit=200');
    expect([seqs(rest), rest.body.has_more]).toEqual([[201], false]);
  });

  it('refuses an out-of-range limit or seq with 400 VALIDATION_FAILED and issues naming the parameter', async () => {
    const conversationId = await conversationWith(1);
    for (const [query, parameter] of [
      ['?limit=0', 'limit'],
      ['?limit=201', 'limit'],
      ['?limit=abc', 'limit'],
      ['?limit=1.5', 'limit'],
      ['?before_seq=0', 'before_seq'],
      ['?after_seq=-1', 'after_seq'],
    ]) {
      const res = await history('customer_456', conversationId, query);
      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.issues, query).toEqual([expect.stringContaining(`querystring.${parameter}`)]);
    }
    const max = await history('customer_456', conversationId, '?limit=200');
    expect(max.status).toBe(200);
  });

  it('refuses a non-participant with 403 NOT_PARTICIPANT and an unknown conversation with 404', async () => {
    expectProblem(await history('customer_789', app.conversationId(FACIAL)), 403, 'NOT_PARTICIPANT');
    expectProblem(await history('customer_789', randomUUID()), 404, 'CONVERSATION_NOT_FOUND');
  });
});

describe('GET /api/v1/conversations', () => {
  it('lists only my conversations, newest activity first, with their participants', async () => {
    const me = await freshUser('customer');
    const older = await freshConversation(me, 'consultant_001');
    const newer = await freshConversation(me, 'consultant_001', 'doctor_001');
    await freshConversation('customer_456', 'consultant_001'); // not mine

    expect((await conversations(me)).map((c) => c.id)).toEqual([newer, older]);
    await sendOk('consultant_001', older, 'activity moves it to the top');
    const list = await conversations(me);
    expect(list.map((c) => c.id)).toEqual([older, newer]);
    // Participants added together share joined_at, so their order is not part of the contract.
    expect(list[0]?.participants).toHaveLength(2);
    expect(list[0]?.participants).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ user_id: await idOf(me), role: 'customer', display_name: `Test ${me}` }),
        expect.objectContaining({ user_id: await idOf('consultant_001'), role: 'consultant', display_name: '张顾问' }),
      ]),
    );
    expect(list[0]).toMatchObject({ last_seq: 1, last_message: { seq: 1 } });
    expect(list[1]).toMatchObject({ last_seq: 0, last_message: null, unread_count: 0 });
  });

  it("counts others' messages after my read position as unread, never my own, and drops after /read", async () => {
    const customer = await freshUser('customer');
    const consultant = await freshUser('consultant');
    const conversationId = await freshConversation(customer, consultant);
    await sendOk(consultant, conversationId, 'one');
    const m2 = await sendOk(consultant, conversationId, 'two');
    await sendOk(consultant, conversationId, 'three');
    await sendOk(customer, conversationId, 'my reply');

    const unread = async (username: string) => (await conversations(username))[0]?.unread_count;
    expect(await unread(customer)).toBe(3);
    expect(await unread(consultant)).toBe(1);

    expect((await read(customer, conversationId, [m2.message_id])).body.last_read_seq).toBe(2);
    expect(await unread(customer)).toBe(1);
    const [summary] = await conversations(consultant);
    const readSeq = Object.fromEntries(summary!.participants.map((p) => [p.user_id, p.last_read_seq]));
    expect(readSeq).toEqual({ [await idOf(customer)]: 2, [await idOf(consultant)]: 0 });

    const last = await history(customer, conversationId, '?limit=1');
    await read(customer, conversationId, [last.body.messages[0].id]);
    expect(await unread(customer)).toBe(0);
    expect(await unread(consultant)).toBe(1);
  });

  it("shows participants as online while they have an open socket, and offline once it's closed", async () => {
    const customer = await freshUser('customer');
    const consultant = await freshUser('consultant');
    await freshConversation(customer, consultant);
    const online = async () =>
      Object.fromEntries((await conversations(customer))[0]!.participants.map((p) => [p.user_id, p.online]));
    const customerId = await idOf(customer);
    const consultantId = await idOf(consultant);

    expect(await online()).toEqual({ [customerId]: false, [consultantId]: false });

    const socket = await connect(consultant);
    expect(await online()).toEqual({ [customerId]: false, [consultantId]: true });

    const [connected] = await socket.waitFor('connected');
    await socket.close();
    await app.logs.waitFor(
      (r) => r.msg === 'websocket disconnected' && r.connectionId === connected?.data.connection_id,
      'the server to finish cleaning up the closed socket',
    );
    expect(await online()).toEqual({ [customerId]: false, [consultantId]: false });
  });
});

describe('POST /api/v1/chat/{id}/read', () => {
  it('moves my read position and tells the other participants with read_status', async () => {
    const conversationId = await freshConversation('customer_456', 'consultant_001', 'doctor_001');
    const m1 = await sendOk('consultant_001', conversationId, 'first');
    const m2 = await sendOk('consultant_001', conversationId, 'second');
    const reader = await connect('customer_456');
    const consultant = await connect('consultant_001');
    const doctor = await connect('doctor_001');

    const res = await read('customer_456', conversationId, [m1.message_id, m2.message_id]);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ last_read_seq: 2, message_ids: [m1.message_id, m2.message_id] });
    for (const socket of [consultant, doctor]) {
      const [frame] = await socket.waitFor('read_status');
      expect(frame?.data).toEqual({
        conversation_id: conversationId,
        user_id: await idOf('customer_456'),
        message_ids: [m1.message_id, m2.message_id],
        last_read_seq: 2,
        event_seq: 1,
        event_id: expect.any(String),
      });
    }
    await barrier(app, [reader, consultant, doctor]);
    expect(businessFrames(reader)).toEqual(['event_skipped']);
    expect(businessFrames(consultant)).toEqual(['read_status']);
    expect(businessFrames(doctor)).toEqual(['read_status']);
  });

  it('never moves the read position backwards', async () => {
    const conversationId = await freshConversation('customer_456', 'consultant_001');
    const m1 = await sendOk('consultant_001', conversationId, 'first');
    const m2 = await sendOk('consultant_001', conversationId, 'second');
    expect((await read('customer_456', conversationId, [m2.message_id])).body.last_read_seq).toBe(2);
    const consultant = await connect('consultant_001');
    const older = await read('customer_456', conversationId, [m1.message_id]);
    expect(older.body).toEqual({ last_read_seq: 2, message_ids: [m1.message_id] });
    const [frame] = await consultant.waitFor('read_status');
    expect(frame?.data.last_read_seq).toBe(2);
  });

  it('ignores ids of messages that are not in this conversation', async () => {
    const a = await freshConversation('customer_456', 'consultant_001');
    const b = await freshConversation('customer_456', 'consultant_001');
    const inB = await sendOk('consultant_001', b, 'elsewhere');
    const consultant = await connect('consultant_001');
    const res = await read('customer_456', a, [inB.message_id, randomUUID()]);
    expect(res.status).toBe(200);
    expect(res.body.message_ids).toEqual([]);
    await barrier(app, [consultant]);
    expect(businessFrames(consultant)).toEqual([]);
  });

  it('refuses a non-participant (403), an unknown conversation (404) and an empty list (400)', async () => {
    const facial = app.conversationId(FACIAL);
    const [anyMessage] = (await history('customer_456', facial, '?limit=1')).body.messages;
    expectProblem(await read('customer_789', facial, [anyMessage.id]), 403, 'NOT_PARTICIPANT');
    expectProblem(await read('customer_789', randomUUID(), [anyMessage.id]), 404, 'CONVERSATION_NOT_FOUND');
    expectProblem(await read('customer_456', facial, []), 400, 'VALIDATION_FAILED');
  });
});
