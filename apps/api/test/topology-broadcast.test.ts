/**
 * Three real API processes + a test-owned Redis + Postgres: every BroadcastingService method
 * reaches exactly the right sockets on every instance, device info spans instances, and an
 * instance with no recipient receives no pub/sub traffic for a conversation.
 *
 * Placement: api-1 holds customer_456/mobile and consultant_001/desktop; api-2 holds
 * customer_456/desktop and doctor_001/tablet; api-3 holds only customer_789/desktop.
 */

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ApiClient } from './support/api-client.ts';
import { rawExchange, upgradeRequest } from './support/raw-http.ts';
import { TestSocket } from './support/test-socket.ts';
import { demoIds, startTopology, type Topology } from './support/topology.ts';

let topo: Topology;
let ids: Awaited<ReturnType<typeof demoIds>>;
let a: ApiClient;
let b: ApiClient;
let c: ApiClient;
let customerMobileA: TestSocket;
let consultantA: TestSocket;
let customerDesktopB: TestSocket;
let doctorB: TestSocket;
let outsiderC: TestSocket;
let all: TestSocket[];

beforeAll(async () => {
  topo = await startTopology(3);
  [a, b, c] = topo.direct as [ApiClient, ApiClient, ApiClient];
  ids = await demoIds(a);
  customerMobileA = await a.connect('customer_456', { deviceType: 'mobile' });
  consultantA = await a.connect('consultant_001');
  customerDesktopB = await b.connect('customer_456');
  doctorB = await b.connect('doctor_001', { deviceType: 'tablet' });
  outsiderC = await c.connect('customer_789');
  all = [customerMobileA, consultantA, customerDesktopB, doctorB, outsiderC];
}, 120_000);

afterAll(async () => {
  await Promise.all((all ?? []).map((s) => s.close()));
  await topo?.stop();
});

/**
 * Proves non-delivery without sleeping: an admin notice to everyone, published by the
 * instance whose publishes we check (one publisher's messages reach a subscriber in order).
 */
async function barrier(via: ApiClient): Promise<void> {
  const marker = `barrier-${randomUUID()}`;
  const { token } = await via.login('admin');
  const res = await via.http('POST', '/api/v1/admin/notifications', {
    token,
    body: { conversation_id: null, title: marker, message: marker },
  });
  expect(res.status).toBe(200);
  await Promise.all(all.map((s) => s.waitFor('system_notification', { where: (f) => f.data.title === marker })));
}

function count(socket: TestSocket, action: Parameters<TestSocket['all']>[0], contains: string): number {
  return socket.all(action).filter((f) => JSON.stringify(f.data).includes(contains)).length;
}

describe('across three instances', () => {
  it('accepts a ticket issued by one instance on another, exactly once', async () => {
    const { token } = await a.login('customer_789');
    const ticket = await a.ticket(token);
    const onB = new TestSocket(new WebSocket(`${b.wsUrl}?ticket=${ticket}`));
    await onB.waitFor('connected');
    await onB.close();
    const port = Number(new URL(c.baseUrl).port);
    const again = await rawExchange(port, upgradeRequest(`/api/v1/ws?ticket=${ticket}`));
    expect(again.status).toBe(401);
    expect(JSON.parse(again.body).code).toBe('TICKET_REUSED');
  });

  it('broadcastMessage: a WS send on api-2 reaches the other participants on api-1 and api-2 only', async () => {
    const content = `多实例消息 ${randomUUID()}`;
    customerDesktopB.send({
      action: 'send_message',
      data: { conversation_id: ids.facial, client_message_id: randomUUID(), content },
    });
    await consultantA.waitFor('new_message', { where: (f) => f.data.content === content });
    await doctorB.waitFor('new_message', { where: (f) => f.data.content === content });
    await barrier(b);
    // The sender's other device (on api-1) is synced; the sending device is not echoed.
    expect(count(customerMobileA, 'new_message', content)).toBe(1);
    expect(count(customerDesktopB, 'new_message', content)).toBe(0);
    expect(count(outsiderC, 'new_message', content)).toBe(0);
  });

  it('broadcastConsultationReply: live on every instance for online users, a push from the queue for offline ones', async () => {
    const { token } = await c.login('consultant_001');
    const live = `在线回复 ${randomUUID()}`;
    expect((await c.http('POST', `/api/v1/chat/${ids.facial}/send`, { token, body: { content: live } })).status).toBe(
      200,
    );
    for (const s of [customerMobileA, customerDesktopB, doctorB]) {
      await s.waitFor('consultation_reply', { where: (f) => f.data.content === live });
    }

    await doctorB.close();
    all = all.filter((s) => s !== doctorB);
    await topo.instances[1]!.waitForLog(
      (r) => r.msg === 'websocket disconnected' && r.userId === ids.users.doctor_001,
      'doctor gone',
    );
    const offline = `离线回复 ${randomUUID()}`;
    expect(
      (await c.http('POST', `/api/v1/chat/${ids.facial}/send`, { token, body: { content: offline } })).status,
    ).toBe(200);
    const isPush = (r: { msg?: unknown }) =>
      typeof r.msg === 'string' &&
      r.msg.startsWith(`📱 push notification [mobile] [priority: high]: ${ids.users.doctor_001}`) &&
      r.msg.includes(offline);
    // Any instance's push worker may run the job (they share the queue in Postgres).
    await Promise.any(topo.instances.map((i) => i.waitForLog(isPush, 'a push for the offline doctor')));
    expect(topo.instances.flatMap((i) => i.logs.filter(isPush))).toHaveLength(1);
    doctorB = await b.connect('doctor_001', { deviceType: 'tablet' });
    all.push(doctorB);
  });

  it('sendMobileOnlyNotification: only mobile sockets, wherever they are; others get a push', async () => {
    const { token } = await c.login('admin');
    const title = `预约提醒 ${randomUUID()}`;
    const res = await c.http('POST', '/api/v1/admin/mobile-notifications', {
      token,
      body: { conversation_id: ids.facial, title, content: '您的预约将在30分钟后开始' },
    });
    expect(res.body).toEqual({ ok: true, delivered: 3, push_queued: true });
    await customerMobileA.waitFor('mobile_notification', { where: (f) => f.data.title === title });
    // The consultant and the doctor have no mobile socket: each gets one push, from whichever instance runs it.
    for (const user of [ids.users.consultant_001, ids.users.doctor_001]) {
      const isPush = (r: { msg?: unknown }) =>
        typeof r.msg === 'string' &&
        r.msg.startsWith(`📱 push notification [mobile] [priority: high]: ${user}\n   title: ${title}`);
      await Promise.any(topo.instances.map((i) => i.waitForLog(isPush, `a mobile-notice push for ${user}`)));
    }
    const pushedTo = topo.instances.flatMap((i) =>
      i.logs.filter((r) => typeof r.msg === 'string' && r.msg.startsWith('📱') && r.msg.includes(title)),
    );
    expect(pushedTo).toHaveLength(2);
    await barrier(c);
    expect(count(customerDesktopB, 'mobile_notification', title)).toBe(0);
    expect(count(doctorB, 'mobile_notification', title)).toBe(0);
    expect(count(consultantA, 'mobile_notification', title)).toBe(0);
  });

  it('broadcastTypingStatus and broadcastReadStatus: the other participants on every instance', async () => {
    consultantA.send({ action: 'typing', data: { conversation_id: ids.facial, is_typing: true } });
    for (const s of [customerMobileA, customerDesktopB, doctorB]) {
      await s.waitFor('typing_status', { where: (f) => f.data.user_id === ids.users.consultant_001 });
    }
    const { token } = await b.login('customer_456');
    const sent = await b.http('POST', `/api/v1/chat/${ids.facial}/send`, { token, body: { content: '已读测试' } });
    await consultantA.waitFor('new_message', { where: (f) => f.data.id === sent.body.message_id });
    consultantA.send({ action: 'read', data: { conversation_id: ids.facial, message_ids: [sent.body.message_id] } });
    for (const s of [customerMobileA, customerDesktopB, doctorB]) {
      await s.waitFor('read_status', { where: (f) => f.data.message_ids.includes(sent.body.message_id) });
    }
    await barrier(a);
    expect(count(consultantA, 'typing_status', ids.users.consultant_001)).toBe(0);
    expect(count(outsiderC, 'read_status', sent.body.message_id)).toBe(0);
  });

  it('broadcastSystemNotification and sendDirectMessage reach the right users on other instances', async () => {
    const { token } = await b.login('admin');
    const title = `系统维护 ${randomUUID()}`;
    await b.http('POST', '/api/v1/admin/notifications', {
      token,
      body: { conversation_id: ids.facial, title, message: '今晚维护', type: 'maintenance' },
    });
    for (const s of [customerMobileA, consultantA, customerDesktopB, doctorB]) {
      await s.waitFor('system_notification', { where: (f) => f.data.title === title });
    }
    const dm = `会员升级 ${randomUUID()}`;
    const res = await a.http('POST', '/api/v1/admin/direct-messages', {
      token,
      body: { user_id: ids.users.customer_789, content: dm },
    });
    expect(res.body).toEqual({ ok: true, delivered: 1, push_queued: true });
    await outsiderC.waitFor('direct_message', { where: (f) => f.data.content === dm });
    await barrier(b);
    expect(count(outsiderC, 'system_notification', title)).toBe(0);
  });

  it('getUserDeviceInfo lists devices held by every instance', async () => {
    const { token } = await c.login('admin');
    const res = await c.http('GET', `/api/v1/admin/users/${ids.users.customer_456}/devices`, { token });
    expect(
      res.body.devices.map((d: { device_type: string; instance_id: string }) => [d.device_type, d.instance_id]),
    ).toEqual([
      ['mobile', 'api-1'],
      ['desktop', 'api-2'],
    ]);
  });

  it('adding a participant through one instance takes effect at once on the others (no stale cache)', async () => {
    const { token: customer789 } = await c.login('customer_789');
    // Warm api-3's participant cache for the follow-up conversation.
    await c.http('POST', `/api/v1/chat/${ids.followUp}/send`, { token: customer789, body: { content: '预热' } });
    const { token: consultant } = await a.login('consultant_001');
    const added = await a.http('POST', `/api/v1/chat/${ids.followUp}/participants`, {
      token: consultant,
      body: { user_id: ids.users.doctor_001 },
    });
    expect(added.body).toMatchObject({ added: true, user: { id: ids.users.doctor_001, role: 'doctor' } });
    await doctorB.waitFor('system_notification', { where: (f) => f.data.type === 'participant_added' });
    const content = `医生请看 ${randomUUID()}`;
    await c.http('POST', `/api/v1/chat/${ids.followUp}/send`, { token: customer789, body: { content } });
    await doctorB.waitFor('new_message', { where: (f) => f.data.content === content });
  });

  it('a resend storm of one client_message_id through every instance stores one message, delivered once per device', async () => {
    const clientMessageId = randomUUID();
    const content = `重发风暴 ${randomUUID()}`;
    const frame = {
      action: 'send_message',
      data: { conversation_id: ids.facial, client_message_id: clientMessageId, content },
    };
    const { token } = await a.login('customer_456');
    const results = await Promise.all([
      a.http('POST', `/api/v1/chat/${ids.facial}/send`, {
        token,
        body: { content, client_message_id: clientMessageId },
      }),
      b.http('POST', `/api/v1/chat/${ids.facial}/send`, {
        token,
        body: { content, client_message_id: clientMessageId },
      }),
      c.http('POST', `/api/v1/chat/${ids.facial}/send`, {
        token,
        body: { content, client_message_id: clientMessageId },
      }),
    ]);
    customerMobileA.send({ ...frame, request_id: 'storm-a' });
    customerDesktopB.send({ ...frame, request_id: 'storm-b' });
    const acks = [
      ...(await customerMobileA.waitFor('ack', { where: (f) => f.data.request_id === 'storm-a' })),
      ...(await customerDesktopB.waitFor('ack', { where: (f) => f.data.request_id === 'storm-b' })),
    ];
    const messageIds = new Set([...results.map((r) => r.body.message_id), ...acks.map((f) => f.data.message_id)]);
    expect(messageIds.size).toBe(1);
    expect(results.filter((r) => r.body.duplicate === false)).toHaveLength(1);
    expect(acks.every((f) => f.data.duplicate)).toBe(true);
    await barrier(c);
    for (const s of [consultantA, doctorB]) expect(count(s, 'new_message', content)).toBe(1);
  });

  it('routes per instance: the instance with no participant of a conversation receives nothing for it', async () => {
    const redisCli = (...args: string[]) =>
      promisify(execFile)('redis-cli', ['-p', String(topo.redis.port), ...args]).then((r) =>
        r.stdout.trim().split('\n'),
      );
    // Redis routes each user to exactly the instances holding their sockets, and each instance
    // listens on one channel of its own (no per-user channels on a standalone Redis).
    const routes = async (userId: string) => (await redisCli('HGET', 'ws:bus:routes', userId))[0]!.split(' ').sort();
    expect(await routes(ids.users.customer_456)).toEqual(['api-1', 'api-2']);
    expect(await routes(ids.users.customer_789)).toEqual(['api-3']);
    expect(await redisCli('PUBSUB', 'NUMSUB', 'ws:instance:api-1', 'ws:instance:api-2', 'ws:instance:api-3')).toEqual([
      'ws:instance:api-1',
      '1',
      'ws:instance:api-2',
      '1',
      'ws:instance:api-3',
      '1',
    ]);
    expect(await redisCli('PUBSUB', 'CHANNELS', 'ws:user:*')).toEqual(['']);
    expect(await redisCli('SMEMBERS', 'ws:online_users')).toHaveLength(4);

    const received = async () => (await c.http('GET', '/health')).body.bus.received as number;
    const before = await received();
    const { token } = await a.login('customer_456');
    for (let i = 0; i < 20; i++) {
      await a.http('POST', `/api/v1/chat/${ids.facial}/send`, { token, body: { content: `路由 ${i}` } });
    }
    // Then one message api-3 must deliver; once it arrived, the 20 before it were processed too.
    const { token: consultant } = await a.login('consultant_001');
    const marker = `给李先生 ${randomUUID()}`;
    await a.http('POST', `/api/v1/chat/${ids.followUp}/send`, { token: consultant, body: { content: marker } });
    await outsiderC.waitFor('consultation_reply', { where: (f) => f.data.content === marker });
    expect(await received()).toBe(before + 1);
  });
});
