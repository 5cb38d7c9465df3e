/**
 * Every BroadcastingService method end to end: real API on port 0, every device a real
 * WebSocket. Conversation FACIAL = customer_456 + consultant_001 + doctor_001;
 * FOLLOW_UP = customer_789 + consultant_001.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BroadcastingService } from '../src/broadcasting/broadcasting-service.ts';
import { ParticipantDirectory } from '../src/broadcasting/participant-directory.ts';
import { type AppEventMap, TypedEvents } from '../src/events.ts';
import { MemoryBusHub } from '../src/realtime/bus/memory.ts';
import { MemoryPresenceStore } from '../src/realtime/presence/memory.ts';
import { barrier, businessFrames } from './support/barrier.ts';
import { LEVEL } from './support/log-capture.ts';
import { FACIAL, FOLLOW_UP, startTestApp, type TestApp } from './support/test-app.ts';
import type { TestSocket } from './support/test-socket.ts';

let app: TestApp;
let open: TestSocket[] = [];

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
  // Wait until the server has seen every close, so presence is clean for the next test.
  await waitUntil(() => app.built.ctx.local.size === 0, 'all sockets to be unregistered');
});

async function connect(username: string, deviceType: 'mobile' | 'desktop' | 'tablet' = 'desktop') {
  const socket = await app.connect(username, { deviceType });
  open.push(socket);
  return socket;
}

async function waitUntil(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

function pushLogs(userId: string) {
  return app.logs.find(
    (r) =>
      r.level === LEVEL.info && typeof r.msg === 'string' && r.msg.startsWith('📱') && r.msg.includes(`: ${userId}\n`),
  );
}

describe('broadcastMessage', () => {
  it("delivers to every device of every other participant, not to outsiders; the sender's other devices are synced", async () => {
    const customerMobile = await connect('customer_456', 'mobile');
    const customerDesktop = await connect('customer_456', 'desktop');
    const consultant = await connect('consultant_001');
    const doctorTablet = await connect('doctor_001', 'tablet');
    const outsider = await connect('customer_789');
    const conversationId = app.conversationId(FACIAL);

    customerDesktop.send({
      action: 'send_message',
      request_id: 'r1',
      data: { conversation_id: conversationId, client_message_id: randomUUID(), content: '你好，我想咨询一下' },
    });
    const [ack] = await customerDesktop.waitFor('ack');
    expect(ack?.data).toMatchObject({ request_id: 'r1', conversation_id: conversationId, duplicate: false });

    for (const socket of [consultant, doctorTablet]) {
      const [frame] = await socket.waitFor('new_message');
      expect(frame?.data).toMatchObject({
        id: ack?.data.message_id,
        seq: ack?.data.seq,
        content: '你好，我想咨询一下',
        sender_id: app.userId('customer_456'),
      });
    }
    await barrier(app, [customerMobile, customerDesktop, consultant, doctorTablet, outsider]);
    // broadcastMessage excludes the sender's user (seed); ChatService then syncs the sender's OTHER
    // devices, skipping the one it was sent from (which has the ack).
    expect(businessFrames(customerMobile)).toEqual(['new_message']);
    expect(customerMobile.all('new_message')[0]?.data.id).toBe(ack?.data.message_id);
    expect(businessFrames(customerDesktop)).toEqual(['ack']);
    expect(businessFrames(outsider)).toEqual([]);
    expect(businessFrames(consultant)).toEqual(['new_message']);
  });
});

describe('broadcastConsultationReply', () => {
  it('sends the reply live to online participants and a high-priority mobile push to offline ones', async () => {
    const customerMobile = await connect('customer_456', 'mobile');
    const customerDesktop = await connect('customer_456', 'desktop');
    const consultant = await connect('consultant_001');
    // doctor_001 stays offline.
    const { token } = await app.login('consultant_001');
    const conversationId = app.conversationId(FACIAL);
    const content = `根据您的需求，我推荐以下方案 ${randomUUID()}`;

    const res = await app.http('POST', `/api/v1/chat/${conversationId}/send`, { token, body: { content } });
    expect(res.status).toBe(200);

    for (const socket of [customerMobile, customerDesktop]) {
      const [frame] = await socket.waitFor('consultation_reply');
      expect(frame?.data).toMatchObject({
        conversation_id: conversationId,
        consultant_id: app.userId('consultant_001'),
        content,
        message: { id: res.body.message_id, seq: res.body.seq },
      });
    }
    const doctorId = app.userId('doctor_001');
    const push = await app.logs.waitFor(
      (r) => typeof r.msg === 'string' && r.msg.startsWith('📱') && r.msg.includes(doctorId) && r.msg.includes(content),
      'push for the offline doctor',
    );
    expect(push.level).toBe(LEVEL.info);
    expect(push.msg).toBe(
      `📱 push notification [mobile] [priority: high]: ${doctorId}\n` +
        '   title: 顾问回复\n' +
        `   content: ${content}\n` +
        `   [data: {"conversation_id":"${conversationId}","action":"open_conversation"}]`,
    );
    // Online participants get no push for it, and the sender gets nothing back.
    expect(pushLogs(app.userId('customer_456')).filter((r) => r.msg.includes(content))).toEqual([]);
    await barrier(app, [consultant]);
    // Sent over HTTP, so the consultant's socket is synced with the stored message, not a reply.
    expect(businessFrames(consultant)).toEqual(['new_message']);
  });
});

describe('sendMobileOnlyNotification', () => {
  it('reaches only mobile sockets; participants without a mobile socket get a mobile push', async () => {
    const customerMobile = await connect('customer_456', 'mobile');
    const customerDesktop = await connect('customer_456', 'desktop');
    const consultantDesktop = await connect('consultant_001', 'desktop');
    const doctorMobile = await connect('doctor_001', 'mobile');
    const { token } = await app.login('admin');
    const conversationId = app.conversationId(FACIAL);
    const title = `预约提醒 ${randomUUID()}`;

    const res = await app.http('POST', '/api/v1/admin/mobile-notifications', {
      token,
      body: { conversation_id: conversationId, title, content: '您的预约将在30分钟后开始', action: 'open_appointment' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, delivered: 3, push_queued: true });

    for (const socket of [customerMobile, doctorMobile]) {
      const [frame] = await socket.waitFor('mobile_notification');
      expect(frame?.data).toMatchObject({ conversation_id: conversationId, title, action: 'open_appointment' });
    }
    const consultantId = app.userId('consultant_001');
    await app.logs.waitFor(
      (r) =>
        typeof r.msg === 'string' &&
        r.msg.startsWith(`📱 push notification [mobile] [priority: high]: ${consultantId}\n   title: ${title}`),
      'mobile push for the consultant who has only a desktop socket',
    );
    await barrier(app, [customerDesktop, consultantDesktop]);
    // Desktops get the notice's position only, so their event stream has no hole.
    const [delivered] = await customerMobile.waitFor('mobile_notification');
    for (const desktop of [customerDesktop, consultantDesktop]) {
      expect(businessFrames(desktop)).toEqual(['event_skipped']);
      expect(desktop.all('event_skipped')[0]?.data).toEqual({
        conversation_id: conversationId,
        event_seq: delivered?.data.event_seq,
      });
    }
  });
});

describe('broadcastTypingStatus', () => {
  it('tells the other participants, not the typist on any device', async () => {
    const customerMobile = await connect('customer_456', 'mobile');
    const customerDesktop = await connect('customer_456', 'desktop');
    const consultant = await connect('consultant_001');
    const outsider = await connect('customer_789');
    const conversationId = app.conversationId(FACIAL);

    customerDesktop.send({ action: 'typing', data: { conversation_id: conversationId, is_typing: true } });
    const [on] = await consultant.waitFor('typing_status');
    expect(on?.data).toEqual({ conversation_id: conversationId, user_id: app.userId('customer_456'), is_typing: true });
    customerDesktop.send({ action: 'typing', data: { conversation_id: conversationId, is_typing: false } });
    const frames = await consultant.waitFor('typing_status', { count: 2 });
    expect(frames[1]?.data.is_typing).toBe(false);

    await barrier(app, [customerMobile, customerDesktop, outsider]);
    expect(businessFrames(customerMobile)).toEqual([]);
    expect(businessFrames(customerDesktop)).toEqual([]);
    expect(businessFrames(outsider)).toEqual([]);
  });
});

describe('broadcastReadStatus', () => {
  it('sends read receipts with the new read position to the other participants only', async () => {
    const customer = await connect('customer_456');
    const consultant = await connect('consultant_001');
    const conversationId = app.conversationId(FACIAL);
    const { token } = await app.login('customer_456');
    const sent = await app.http('POST', `/api/v1/chat/${conversationId}/send`, {
      token,
      body: { content: '请问价格？' },
    });
    await consultant.waitFor('new_message', { where: (f) => f.data.id === sent.body.message_id });

    consultant.send({ action: 'read', data: { conversation_id: conversationId, message_ids: [sent.body.message_id] } });
    const [receipt] = await customer.waitFor('read_status');
    expect(receipt?.data).toEqual({
      conversation_id: conversationId,
      user_id: app.userId('consultant_001'),
      message_ids: [sent.body.message_id],
      last_read_seq: sent.body.seq,
      // Durable: positioned in the conversation's event stream so a reconnect can replay it.
      event_seq: expect.any(Number),
      event_id: expect.any(String),
    });
    await barrier(app, [consultant]);
    // The reader's own receipt reaches the reader as its position only.
    expect(businessFrames(consultant)).toEqual(['new_message', 'event_skipped']);
    expect(consultant.all('event_skipped')[0]?.data).toEqual({
      conversation_id: conversationId,
      event_seq: receipt?.data.event_seq,
    });
  });
});

describe('broadcastSystemNotification', () => {
  it('reaches every device of every participant of the conversation and no one else', async () => {
    const customerMobile = await connect('customer_456', 'mobile');
    const customerDesktop = await connect('customer_456', 'desktop');
    const consultant = await connect('consultant_001');
    const outsider = await connect('customer_789');
    const { token } = await app.login('admin');
    const conversationId = app.conversationId(FACIAL);

    const res = await app.http('POST', '/api/v1/admin/notifications', {
      token,
      body: {
        conversation_id: conversationId,
        title: '系统维护通知',
        message: '系统将在今晚23:00-01:00进行维护',
        type: 'maintenance',
      },
    });
    expect(res.status).toBe(200);
    for (const socket of [customerMobile, customerDesktop, consultant]) {
      const [frame] = await socket.waitFor('system_notification');
      expect(frame?.data).toMatchObject({
        conversation_id: conversationId,
        title: '系统维护通知',
        type: 'maintenance',
      });
    }
    await barrier(app, [outsider]);
    expect(businessFrames(outsider)).toEqual([]);
  });

  it('with conversation_id null reaches everyone connected', async () => {
    const customer = await connect('customer_456');
    const outsider = await connect('customer_789');
    const { token } = await app.login('admin');
    const res = await app.http('POST', '/api/v1/admin/notifications', {
      token,
      body: { conversation_id: null, title: '全员通知', message: '新版本已上线' },
    });
    expect(res.status).toBe(200);
    for (const socket of [customer, outsider]) {
      const [frame] = await socket.waitFor('system_notification', { where: (f) => f.data.title === '全员通知' });
      expect(frame?.data).toMatchObject({ conversation_id: null, type: 'announcement' });
    }
  });
});

describe('sendDirectMessage', () => {
  it('reaches all devices of an online user and nobody else', async () => {
    const mobile = await connect('customer_456', 'mobile');
    const desktop = await connect('customer_456', 'desktop');
    const other = await connect('customer_789');
    const outcome = await app.built.ctx.broadcasting.sendDirectMessage(app.userId('customer_456'), {
      title: '个人通知',
      content: '您的会员等级已升级',
      type: 'membership_upgrade',
    });
    expect(outcome).toEqual({ ok: true, delivered: 1, pushQueued: true });
    for (const socket of [mobile, desktop]) {
      const [frame] = await socket.waitFor('direct_message');
      expect(frame?.data).toMatchObject({ user_id: app.userId('customer_456'), content: '您的会员等级已升级' });
    }
    await barrier(app, [other]);
    expect(businessFrames(other)).toEqual([]);
  });

  it('becomes a push notification for an offline user', async () => {
    const userId = app.userId('customer_789');
    const content = `会员到期提醒 ${randomUUID()}`;
    const outcome = await app.built.ctx.broadcasting.sendDirectMessage(userId, { title: '个人通知', content });
    expect(outcome).toEqual({ ok: true, delivered: 1, pushQueued: true });
    await app.logs.waitFor(
      (r) =>
        r.msg ===
        `📱 push notification [mobile] [priority: normal]: ${userId}\n   title: 个人通知\n   content: ${content}`,
      'push for the offline user',
    );
  });
});

describe('getUserDeviceInfo', () => {
  it('lists every connected device of a user, oldest first, and forgets closed ones', async () => {
    const mobile = await connect('customer_456', 'mobile');
    const desktop = await connect('customer_456', 'desktop');
    const userId = app.userId('customer_456');
    const devices = await app.built.ctx.broadcasting.getUserDeviceInfo(userId);
    expect(devices.map((d) => [d.connection_id, d.device_type])).toEqual([
      [mobile.all('connected')[0]?.data.connection_id, 'mobile'],
      [desktop.all('connected')[0]?.data.connection_id, 'desktop'],
    ]);
    expect(Number.isNaN(Date.parse(devices[0]?.connected_at ?? ''))).toBe(false);

    await mobile.close();
    await waitUntil(() => app.built.ctx.local.size === 1, 'the mobile socket to be unregistered');
    const { token } = await app.login('admin');
    const res = await app.http('GET', `/api/v1/admin/users/${userId}/devices`, { token });
    expect(res.status).toBe(200);
    expect(res.body.devices.map((d: { device_type: string }) => d.device_type)).toEqual(['desktop']);
  });
});

describe('service errors', () => {
  it('are logged and reported as ok:false, never thrown to the caller', async () => {
    const events = new TypedEvents<AppEventMap>({ onListenerError: () => undefined });
    const hub = new MemoryBusHub();
    const bus = hub.createBus('broken-instance');
    await bus.close(); // every publish now rejects with "bus is closed"
    const service = new BroadcastingService({
      store: app.built.ctx.store,
      bus,
      presence: new MemoryPresenceStore().createPresence(),
      participants: new ParticipantDirectory(app.built.ctx.store),
      pushes: app.built.ctx.pushes,
      events,
      instanceId: 'broken-instance',
      logger: app.built.logger,
    });
    const conversationId = app.conversationId(FOLLOW_UP);
    const message = {
      id: randomUUID(),
      conversation_id: conversationId,
      seq: 1,
      sender_id: app.userId('customer_789'),
      client_message_id: null,
      message_type: 'text' as const,
      content: 'x',
      metadata: null,
      created_at: new Date().toISOString(),
    };
    await expect(service.broadcastMessage(conversationId, message)).resolves.toEqual({
      ok: false,
      delivered: 0,
      pushQueued: false,
    });
    const logged = await app.logs.waitFor(
      (r) => r.msg === 'broadcast failed' && r.kind === 'message',
      'broadcast failure log',
    );
    expect(logged.level).toBe(LEVEL.error);
    expect(JSON.stringify(logged.err)).toContain('bus is closed');
  });
});
