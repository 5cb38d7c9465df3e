/** POST /api/v1/chat/{id}/participants: who may add whom, and what the conversation sees. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/passwords.ts';
import { FACIAL, FOLLOW_UP, startTestApp, type TestApp } from './support/test-app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

const add = async (as: string, conversationId: string, userId: string) => {
  const { token } = await app.login(as);
  return app.http('POST', `/api/v1/chat/${conversationId}/participants`, { token, body: { user_id: userId } });
};

it('lets a consultant in the conversation add a doctor, who then receives its messages', async () => {
  const conversationId = app.conversationId(FOLLOW_UP);
  const doctor = await app.connect('doctor_001');
  const customer = await app.connect('customer_789');
  const res = await add('consultant_001', conversationId, app.userId('doctor_001'));
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    added: true,
    user: { id: app.userId('doctor_001'), role: 'doctor', display_name: '刘医生' },
  });
  const [notice] = await customer.waitFor('system_notification', { where: (f) => f.data.type === 'participant_added' });
  expect(notice?.data).toMatchObject({ message: '刘医生 加入了会话', data: { user_id: app.userId('doctor_001') } });
  // The doctor gets it too, with what their list needs to add the conversation without asking for the list.
  const [joined] = await doctor.waitFor('system_notification', { where: (f) => f.data.type === 'participant_added' });
  const { participants, ...joinedData } = joined!.data.data as { participants: Array<{ user_id: string }> };
  expect(joinedData).toEqual({
    user_id: app.userId('doctor_001'),
    role: 'doctor',
    display_name: '刘医生',
    title: FOLLOW_UP,
  });
  // Everyone in it now (the seed joined the first two at the same moment: their order is not specified).
  expect(participants.sort((a, b) => a.user_id.localeCompare(b.user_id))).toEqual(
    ['customer_789', 'consultant_001', 'doctor_001']
      .map((u) => ({ user_id: app.userId(u), role: u.replace(/_\d+$/, ''), display_name: expect.any(String) }))
      .sort((a, b) => a.user_id.localeCompare(b.user_id)),
  );

  const { token } = await app.login('customer_789');
  await app.http('POST', `/api/v1/chat/${conversationId}/send`, { token, body: { content: '医生您好' } });
  await doctor.waitFor('new_message', { where: (f) => f.data.content === '医生您好' });

  expect((await add('consultant_001', conversationId, app.userId('doctor_001'))).body.added).toBe(false);
});

it('refuses customers (403), staff outside the conversation (403), and unknown users (404)', async () => {
  const conversationId = app.conversationId(FOLLOW_UP);
  expect((await add('customer_789', conversationId, app.userId('customer_456'))).body.code).toBe('FORBIDDEN');
  // A consultant who is not in the conversation may not add people to it.
  await app.built.ctx.store.users.create({
    username: 'consultant_outsider',
    displayName: '外部顾问',
    role: 'consultant',
    passwordHash: await hashPassword('demo1234'),
  });
  const outsider = await add('consultant_outsider', conversationId, app.userId('customer_456'));
  expect(outsider.status).toBe(403);
  expect(outsider.body.code).toBe('NOT_PARTICIPANT');
  expect((await add('admin', conversationId, 'no-such-user')).body.code).toBe('USER_NOT_FOUND');
  expect((await add('admin', 'no-such-conversation', app.userId('doctor_001'))).body.code).toBe(
    'CONVERSATION_NOT_FOUND',
  );
});

const remove = async (as: string, conversationId: string, userId: string) => {
  const { token } = await app.login(as);
  return app.http('DELETE', `/api/v1/chat/${conversationId}/participants/${userId}`, { token });
};

it('lets a consultant remove the doctor: everyone, the doctor included, gets the notice; then the doctor is out', async () => {
  const conversationId = app.conversationId(FACIAL);
  const doctor = await app.connect('doctor_001');
  const customer = await app.connect('customer_456');
  const res = await remove('consultant_001', conversationId, app.userId('doctor_001'));
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    removed: true,
    user: { id: app.userId('doctor_001'), role: 'doctor', display_name: '刘医生' },
  });
  for (const socket of [doctor, customer]) {
    const [notice] = await socket.waitFor('system_notification', {
      where: (f) => f.data.type === 'participant_removed',
    });
    expect(notice?.data).toMatchObject({
      conversation_id: conversationId,
      message: '刘医生 已离开会话',
      data: { user_id: app.userId('doctor_001'), role: 'doctor', display_name: '刘医生' },
    });
  }
  // Out: no history, and the customer's next message does not reach the doctor (a ping behind it
  // on the doctor's socket comes back first, the message is in the customer's history).
  const { token: doctorToken } = await app.login('doctor_001');
  const history = await app.http('GET', `/api/v1/chat/${conversationId}/messages`, { token: doctorToken });
  expect([history.status, history.body.code]).toEqual([403, 'NOT_PARTICIPANT']);
  const { token } = await app.login('customer_456');
  await app.http('POST', `/api/v1/chat/${conversationId}/send`, { token, body: { content: '医生还在吗' } });
  doctor.send({ action: 'ping', data: { ts: 7 } });
  await doctor.waitFor('pong', { where: (f) => f.data.ts === 7 });
  expect(doctor.all('new_message').filter((f) => f.data.content === '医生还在吗')).toEqual([]);

  expect((await remove('consultant_001', conversationId, app.userId('doctor_001'))).body.removed).toBe(false);
  await Promise.all([doctor.close(), customer.close()]);
});

it('never removes the customer (403), and refuses customers (403) and staff outside the conversation (403)', async () => {
  const conversationId = app.conversationId(FOLLOW_UP);
  const customer = await remove('consultant_001', conversationId, app.userId('customer_789'));
  expect([customer.status, customer.body.code]).toEqual([403, 'FORBIDDEN']);
  const byCustomer = await remove('customer_789', conversationId, app.userId('consultant_001'));
  expect([byCustomer.status, byCustomer.body.code]).toEqual([403, 'FORBIDDEN']);
  const outsider = await remove('consultant_outsider', conversationId, app.userId('consultant_001'));
  expect([outsider.status, outsider.body.code]).toEqual([403, 'NOT_PARTICIPANT']);
  expect((await remove('admin', conversationId, 'no-such-user')).body.code).toBe('USER_NOT_FOUND');
});
