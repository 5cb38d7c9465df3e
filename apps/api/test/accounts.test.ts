/** Sign-up, starting a consultation, staff accounts, and the admin stats feed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

describe('sign-up', () => {
  it('creates a customer and answers like login; the new user can log in', async () => {
    const res = await app.http('POST', '/api/v1/auth/register', {
      body: { username: 'new_customer', password: 'secret-pass', display_name: '赵女士' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      token_type: 'bearer',
      user: { username: 'new_customer', role: 'customer', display_name: '赵女士' },
    });
    expect((await app.login('new_customer', 'secret-pass')).userId).toBe(res.body.user.id);
  });

  it('refuses a taken username (409) and weak input (400 naming the field)', async () => {
    const taken = await app.http('POST', '/api/v1/auth/register', {
      body: { username: 'customer_456', password: 'secret-pass', display_name: 'x' },
    });
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ code: 'USERNAME_TAKEN', detail: 'The username "customer_456" is taken.' });
    const weak = await app.http('POST', '/api/v1/auth/register', {
      body: { username: 'Bad Name', password: 'short', display_name: 'x' },
    });
    expect(weak.status).toBe(400);
    expect(weak.body.issues).toEqual(
      expect.arrayContaining([expect.stringMatching(/^body\.username: /), expect.stringMatching(/^body\.password: /)]),
    );
  });
});

describe('starting a consultation', () => {
  it('pairs a customer with a consultant, who is told at once', async () => {
    const consultant = await app.connect('consultant_001');
    const { token } = await app.login('customer_789');
    const res = await app.http('POST', '/api/v1/conversations', { token, body: { title: '术后咨询' } });
    expect(res.status).toBe(201);
    expect(res.body.participants.map((p: { username: string }) => p.username).sort()).toEqual([
      'consultant_001',
      'customer_789',
    ]);
    const [notice] = await consultant.waitFor('system_notification', {
      where: (f) => f.data.type === 'conversation_started',
    });
    expect(notice?.data.conversation_id).toBe(res.body.id);
    // Enough to add it to the consultant's list without fetching the list.
    expect(notice?.data.data).toEqual({
      title: '术后咨询',
      participants: [
        { user_id: app.userId('customer_789'), role: 'customer', display_name: expect.any(String) },
        { user_id: app.userId('consultant_001'), role: 'consultant', display_name: expect.any(String) },
      ],
    });
    const list = await app.http('GET', '/api/v1/conversations', { token });
    expect(list.body.conversations.map((c: { id: string }) => c.id)).toContain(res.body.id);
    await consultant.close();
  });

  it('without a consultant_id, picks a consultant who is online over an older one who is not', async () => {
    const { token: admin } = await app.login('admin');
    const created = await app.http('POST', '/api/v1/admin/users', {
      token: admin,
      body: { username: 'consultant_online', password: 'demo1234', display_name: '在线顾问', role: 'consultant' },
    });
    const online = await app.connect('consultant_online');
    const { token } = await app.login('customer_456');
    const res = await app.http('POST', '/api/v1/conversations', { token, body: { title: '任意顾问' } });
    expect(res.status).toBe(201);
    expect(res.body.participants.map((p: { id: string }) => p.id)).toContain(created.body.id);
    await online.close();
  });

  it('refuses doctors (403) and an unknown consultant (404)', async () => {
    const { token: doctor } = await app.login('doctor_001');
    expect((await app.http('POST', '/api/v1/conversations', { token: doctor, body: {} })).status).toBe(403);
    const { token } = await app.login('customer_456');
    const res = await app.http('POST', '/api/v1/conversations', {
      token,
      body: { consultant_id: app.userId('doctor_001') },
    });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('USER_NOT_FOUND');
  });
});

describe('staff accounts', () => {
  it('lets an admin create a doctor who can then log in, and lists accounts by role with online state', async () => {
    const { token } = await app.login('admin');
    const created = await app.http('POST', '/api/v1/admin/users', {
      token,
      body: { username: 'doctor_002', password: 'doctor-pass', display_name: '陈医生', role: 'doctor' },
    });
    expect(created.status).toBe(201);
    await app.login('doctor_002', 'doctor-pass');
    const doctorSocket = await app.connect('doctor_001');
    const list = await app.http('GET', '/api/v1/admin/users?role=doctor', { token });
    expect(list.body.users.map((u: { username: string; online: boolean }) => [u.username, u.online]).sort()).toEqual([
      ['doctor_001', true],
      ['doctor_002', false],
    ]);
    const { token: customer } = await app.login('customer_456');
    expect((await app.http('GET', '/api/v1/admin/users', { token: customer })).status).toBe(403);
    await doctorSocket.close();
  });
});

describe('admin stats feed', () => {
  it('sends admin sockets live figures that move with traffic, and nothing to chat sockets', async () => {
    const admin = await app.connect('admin', { connectionType: 'admin' });
    const chat = await app.connect('customer_456', { deviceType: 'mobile' });
    await app.built.publishStats(); // start a fresh window
    const { token } = await app.login('customer_456');
    for (let i = 0; i < 3; i++) {
      await app.http('POST', `/api/v1/chat/${app.conversationId('王小姐的面部护理咨询')}/send`, {
        token,
        body: { content: `统计 ${i}` },
      });
    }
    expect(await app.built.publishStats()).toBe(1);
    const frames = await admin.waitFor('stats', { count: 2 });
    const latest = frames[1]!.data;
    expect(latest.messages_per_second).toBeGreaterThan(0);
    expect(latest.connections).toBe(2);
    expect(latest.by_role).toMatchObject({ admin: 1, customer: 1 });
    expect(latest.by_device_type).toMatchObject({ mobile: 1, desktop: 1 });
    expect(latest.broadcast_latency_ms.p99).toBeGreaterThanOrEqual(latest.broadcast_latency_ms.p50);
    expect(chat.all('stats')).toEqual([]);
    await Promise.all([admin.close(), chat.close()]);
  });
});
