/**
 * Resume after reconnect: the server replays the gap from the database in order, holds live
 * frames meanwhile and drops those the replay already carried (the seam), and says `reload`
 * when the gap exceeds RESUME_WINDOW.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';
import { TestSocket } from './support/test-socket.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ RESUME_WINDOW: '50' });
});
afterAll(async () => {
  await app.close();
});

async function openResuming(username: string, deviceType = 'desktop'): Promise<TestSocket> {
  const { token } = await app.login(username);
  const ticket = await app.ticket(token);
  const socket = new TestSocket(new WebSocket(`${app.wsUrl}?ticket=${ticket}&device_type=${deviceType}&resume=1`));
  await socket.waitFor('connected');
  return socket;
}

async function send(username: string, conversationId: string, content: string) {
  const { token } = await app.login(username);
  const res = await app.http('POST', `/api/v1/chat/${conversationId}/send`, {
    token,
    body: { content, client_message_id: randomUUID() },
  });
  expect(res.status).toBe(200);
  return res.body as { message_id: string; seq: number };
}

/** Fresh conversation so positions start at 0. */
async function conversationOf(...usernames: string[]): Promise<string> {
  const store = app.built.ctx.store;
  const users = await Promise.all(usernames.map((u) => store.users.findByUsername(u)));
  const conversation = await store.conversations.create({
    title: `resume ${randomUUID()}`,
    createdBy: users[0]!.id,
    participants: users.map((u) => ({ userId: u!.id, role: u!.role })),
  });
  return conversation.id;
}

function seqsOf(socket: TestSocket, conversationId: string): number[] {
  return socket
    .all('new_message')
    .filter((f) => f.data.conversation_id === conversationId)
    .map((f) => f.data.seq);
}

describe('resume', () => {
  it('replays missed messages and conversation events in order, then answers recovered', async () => {
    const conversationId = await conversationOf('customer_456', 'customer_789', 'doctor_001');
    const first = await send('customer_789', conversationId, 'before the drop');
    // customer_456 is offline for these:
    const missed = [
      await send('customer_789', conversationId, 'missed 1'),
      await send('customer_789', conversationId, 'missed 2'),
    ];
    const { token: adminToken } = await app.login('admin');
    await app.http('POST', '/api/v1/admin/notifications', {
      token: adminToken,
      body: { conversation_id: conversationId, title: '维护', message: '今晚维护' },
    });

    const socket = await openResuming('customer_456');
    socket.send({
      action: 'resume',
      request_id: 'r1',
      data: { conversations: [{ conversation_id: conversationId, last_seq: first.seq, last_event_seq: 0 }] },
    });
    const [resumed] = await socket.waitFor('resumed');
    expect(resumed?.data).toEqual({
      request_id: 'r1',
      conversations: [
        { conversation_id: conversationId, status: 'recovered', replayed_messages: 2, replayed_events: 1 },
      ],
    });
    expect(socket.all('new_message').map((f) => f.data.id)).toEqual(missed.map((m) => m.message_id));
    const [notice] = socket.all('system_notification');
    expect(notice?.data).toMatchObject({ conversation_id: conversationId, title: '维护', event_seq: 1 });
    // Replayed frames come before the answer.
    const order = socket.frames.map((f) => f.action);
    expect(order.indexOf('resumed')).toBeGreaterThan(order.lastIndexOf('new_message'));
    await socket.close();
  });

  it('replays direct messages and global notices missed while offline, from the positions in connected', async () => {
    const before = await app.connect('customer_789');
    const { user_seq, global_seq } = before.all('connected')[0]!.data;
    await before.close();
    const userId = app.userId('customer_789');
    await app.built.ctx.broadcasting.sendDirectMessage(userId, { title: '个人通知', content: '离线私信' });
    await app.built.ctx.broadcasting.broadcastSystemNotificationToAll({
      title: '全员',
      message: '离线公告',
      type: 'x',
    });

    const socket = await openResuming('customer_789');
    socket.send({ action: 'resume', data: { conversations: [], user_seq, global_seq } });
    const [resumed] = await socket.waitFor('resumed');
    expect(resumed?.data.user).toEqual({ status: 'recovered', replayed: 1 });
    expect(resumed?.data.global?.status).toBe('recovered');
    expect(socket.all('direct_message')[0]?.data).toMatchObject({ content: '离线私信', user_seq: user_seq + 1 });
    expect(socket.all('system_notification').map((f) => f.data.message)).toContain('离线公告');
    await socket.close();
  });

  it('a first resume at the heads of connected needs no replay: what came after arrives live, once; a later resume at the same positions replays it', async () => {
    const socket = await openResuming('customer_456');
    const { user_seq, global_seq } = socket.all('connected')[0]!.data;
    const userId = app.userId('customer_456');
    // Stored after registration: held (resume=1) until the first resume, then released.
    await app.built.ctx.broadcasting.sendDirectMessage(userId, { title: '个人通知', content: 'after connected' });
    socket.send({ action: 'resume', data: { conversations: [], user_seq, global_seq } });
    const [first] = await socket.waitFor('resumed');
    expect(first?.data.user).toEqual({ status: 'recovered', replayed: 0 });
    await socket.waitFor('direct_message', { where: (f) => f.data.content === 'after connected' });
    // A later resume from the same positions (as after a lost frame) reads the store and replays it.
    socket.send({ action: 'resume', data: { conversations: [], user_seq, global_seq } });
    const [, second] = await socket.waitFor('resumed', { count: 2 });
    expect(second?.data.user).toEqual({ status: 'recovered', replayed: 1 });
    expect(socket.all('direct_message').map((f) => [f.data.content, f.data.user_seq])).toEqual([
      ['after connected', user_seq + 1],
      ['after connected', user_seq + 1],
    ]);
    await socket.close();
  });

  it('neither loses nor doubles frames published while the replay runs (the seam)', async () => {
    const conversationId = await conversationOf('customer_456', 'consultant_001');
    for (let i = 1; i <= 20; i++) await send('customer_456', conversationId, `old ${i}`);
    // Opened with resume=1: everything published from now on is held until the resume frame.
    const socket = await openResuming('consultant_001');
    const during = [];
    for (let i = 1; i <= 5; i++) during.push(await send('customer_456', conversationId, `during hold ${i}`));
    socket.send({
      action: 'resume',
      data: { conversations: [{ conversation_id: conversationId, last_seq: 10, last_event_seq: 0 }] },
    });
    // And more while the replay may still be running.
    const after = [];
    for (let i = 1; i <= 5; i++) after.push(await send('customer_456', conversationId, `after ${i}`));

    await socket.waitFor('resumed');
    await socket.waitFor('new_message', { where: (f) => f.data.seq === 30 });
    // The 5 frames held during the hold were also in the replay: the server must have dropped them.
    const dropped = await app.logs.waitFor(
      (r) => r.msg === 'dropped live frames already replayed',
      'held duplicates dropped',
    );
    expect(dropped.skipped).toBeGreaterThanOrEqual(5);
    // 11..30: the gap, then the held and later frames, each exactly once and in order.
    expect(seqsOf(socket, conversationId)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
    expect(during.map((m) => m.seq)).toEqual([21, 22, 23, 24, 25]);
    expect(after.map((m) => m.seq)).toEqual([26, 27, 28, 29, 30]);
    await socket.close();
  });

  it('drops held frames the replay carried and releases the rest; later ones arrive once, for every stream (messages, events, direct, global)', async () => {
    const conversationId = await conversationOf('customer_789', 'doctor_001');
    const mine = await send('customer_789', conversationId, '医生您好');
    const socket = await openResuming('customer_789');
    const { connection_id: connectionId, user_seq, global_seq } = socket.all('connected')[0]!.data;
    const userId = app.userId('customer_789');
    const { token: doctorToken } = await app.login('doctor_001');
    const notice = `全员 ${randomUUID()}`;
    // Held (resume=1, no resume frame yet): one or two frames of each durable stream. A doctor's
    // message goes out live as `consultation_reply` (its stored message inside) and is replayed as `new_message`.
    await send('doctor_001', conversationId, 'held 1');
    await send('doctor_001', conversationId, 'held 2');
    await app.http('POST', `/api/v1/chat/${conversationId}/read`, {
      token: doctorToken,
      body: { message_ids: [mine.message_id] },
    });
    await app.built.ctx.broadcasting.sendDirectMessage(userId, { content: 'held direct' });
    await app.built.ctx.broadcasting.broadcastSystemNotificationToAll({ title: notice, message: notice, type: 'x' });

    socket.send({
      action: 'resume',
      data: {
        conversations: [{ conversation_id: conversationId, last_seq: mine.seq, last_event_seq: 0 }],
        user_seq,
        global_seq,
      },
    });
    await socket.waitFor('resumed');
    // Live again: one more message and direct message, written at once.
    await send('doctor_001', conversationId, 'live');
    await app.built.ctx.broadcasting.sendDirectMessage(userId, { content: 'live direct' });
    await socket.waitFor('direct_message', { where: (f) => f.data.content === 'live direct' });
    await socket.waitFor('consultation_reply', { where: (f) => f.data.message?.seq === 4 });

    const dropped = await app.logs.waitFor(
      (r) => r.msg === 'dropped live frames already replayed' && r.connectionId === connectionId,
      'held duplicates dropped',
    );
    // The two messages and the read receipt: the replay carried them. The direct message and the
    // notice were not replayed (this first resume starts at connected's heads): the hold releases them.
    expect(dropped.skipped).toBe(3);
    expect(seqsOf(socket, conversationId)).toEqual([2, 3]);
    expect(socket.all('consultation_reply').map((f) => f.data.message?.seq)).toEqual([4]);
    expect(socket.all('read_status').map((f) => f.data.event_seq)).toEqual([1]);
    expect(socket.all('direct_message').map((f) => [f.data.content, f.data.user_seq])).toEqual([
      ['held direct', user_seq + 1],
      ['live direct', user_seq + 2],
    ]);
    expect(socket.all('system_notification').filter((f) => f.data.title === notice)).toHaveLength(1);
    await socket.close();
  });

  it('answers reload, replaying nothing, when the gap is larger than RESUME_WINDOW; history then has everything', async () => {
    const conversationId = await conversationOf('customer_456', 'customer_789');
    for (let i = 1; i <= 60; i++) await send('customer_789', conversationId, `flood ${i}`);
    const socket = await openResuming('customer_456');
    socket.send({
      action: 'resume',
      data: { conversations: [{ conversation_id: conversationId, last_seq: 2, last_event_seq: 0 }] },
    });
    const [resumed] = await socket.waitFor('resumed');
    expect(resumed?.data.conversations).toEqual([
      { conversation_id: conversationId, status: 'reload', replayed_messages: 0, replayed_events: 0 },
    ]);
    expect(seqsOf(socket, conversationId)).toEqual([]);
    const { token } = await app.login('customer_456');
    const history = await app.http('GET', `/api/v1/chat/${conversationId}/messages?after_seq=2&limit=200`, { token });
    expect(history.body.messages.map((m: { seq: number }) => m.seq)).toEqual(
      Array.from({ length: 58 }, (_, i) => i + 3),
    );
    await socket.close();
  });

  it('replays mobile-only notices only to mobile sockets and no read receipt to its reader: those get event_skipped at that position', async () => {
    const conversationId = await conversationOf('customer_456', 'consultant_001');
    const message = await send('customer_456', conversationId, '请看一下');
    const { token } = await app.login('consultant_001');
    await app.http('POST', `/api/v1/chat/${conversationId}/read`, {
      token,
      body: { message_ids: [message.message_id] },
    });
    const { token: adminToken } = await app.login('admin');
    await app.http('POST', '/api/v1/admin/mobile-notifications', {
      token: adminToken,
      body: { conversation_id: conversationId, title: '预约提醒', content: '30分钟后开始' },
    });
    const cursor = { conversation_id: conversationId, last_seq: 1, last_event_seq: 0 };

    const mobile = await openResuming('customer_456', 'mobile');
    const desktop = await openResuming('customer_456', 'desktop');
    const reader = await openResuming('consultant_001', 'mobile');
    for (const s of [mobile, desktop, reader]) s.send({ action: 'resume', data: { conversations: [cursor] } });
    await Promise.all([mobile, desktop, reader].map((s) => s.waitFor('resumed')));
    // Every socket gets every event position, 1 then 2, as the event or as its event_skipped.
    const replayed = (s: typeof mobile) =>
      s.frames
        .filter((f) => f.action !== 'connected')
        .map((f) =>
          f.action === 'resumed' ? 'resumed' : `${f.action}@${(f.data as { event_seq: number }).event_seq}`,
        );
    expect(replayed(mobile)).toEqual(['read_status@1', 'mobile_notification@2', 'resumed']);
    expect(replayed(desktop)).toEqual(['read_status@1', 'event_skipped@2', 'resumed']);
    expect(replayed(reader)).toEqual(['event_skipped@1', 'mobile_notification@2', 'resumed']);
    // replayed_events counts the events handed over, not the skipped positions.
    expect(desktop.all('resumed')[0]?.data.conversations[0]?.replayed_events).toBe(1);
    await Promise.all([mobile, desktop, reader].map((s) => s.close()));
  });

  it('refuses to replay a conversation the user is not in', async () => {
    const socket = await openResuming('customer_789');
    const facial = app.conversationId(FACIAL);
    socket.send({
      action: 'resume',
      data: { conversations: [{ conversation_id: facial, last_seq: 0, last_event_seq: 0 }] },
    });
    const [resumed] = await socket.waitFor('resumed');
    expect(resumed?.data.conversations[0]?.status).toBe('forbidden');
    expect(socket.all('new_message')).toEqual([]);
    await socket.close();
  });
});
