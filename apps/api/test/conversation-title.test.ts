/** PATCH /api/v1/chat/{id}: who may rename a conversation, and what its participants see. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FACIAL, FOLLOW_UP, startTestApp, type TestApp } from './support/test-app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

const rename = async (as: string | null, conversationId: string, body: unknown) => {
  const token = as ? (await app.login(as)).token : undefined;
  return app.http('PATCH', `/api/v1/chat/${conversationId}`, { ...(token ? { token } : {}), body });
};

it('lets a participant rename it: everyone in it gets a conversation_renamed notice, and the list has the title', async () => {
  const id = app.conversationId(FOLLOW_UP);
  const customer = await app.connect('customer_789');
  const res = await rename('consultant_001', id, { title: '  术后复诊（第二次）  ' });
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ id, title: '术后复诊（第二次）', changed: true });
  const [notice] = await customer.waitFor('system_notification', {
    where: (f) => f.data.type === 'conversation_renamed',
  });
  expect(notice?.data).toMatchObject({
    conversation_id: id,
    title: '会话已改名',
    message: '张顾问 将会话改名为“术后复诊（第二次）”',
    data: { title: '术后复诊（第二次）' },
  });
  const { token } = await app.login('customer_789');
  const list = await app.http('GET', '/api/v1/conversations', { token });
  expect(list.body.conversations.find((c: { id: string }) => c.id === id)?.title).toBe('术后复诊（第二次）');

  // The same title again: nothing is stored or sent (a ping behind it comes back first).
  expect((await rename('customer_789', id, { title: '术后复诊（第二次）' })).body.changed).toBe(false);
  customer.send({ action: 'ping', data: { ts: 1 } });
  await customer.waitFor('pong', { where: (f) => f.data.ts === 1 });
  expect(customer.all('system_notification').filter((f) => f.data.type === 'conversation_renamed')).toHaveLength(1);
  await customer.close();
});

it('lets an admin rename any conversation, and refuses outsiders (403), bad titles (400), unknown ids (404), anonymous (401)', async () => {
  const id = app.conversationId(FACIAL);
  expect((await rename('admin', id, { title: '面部护理' })).body).toEqual({ id, title: '面部护理', changed: true });
  const outsider = await rename('customer_789', id, { title: '不是我的' });
  expect([outsider.status, outsider.body.code]).toEqual([403, 'NOT_PARTICIPANT']);
  for (const body of [{ title: '   ' }, { title: 'x'.repeat(101) }, {}, { title: '好', extra: 1 }]) {
    const res = await rename('customer_456', id, body);
    expect([JSON.stringify(body).slice(0, 30), res.status, res.body.code]).toEqual([
      JSON.stringify(body).slice(0, 30),
      400,
      'VALIDATION_FAILED',
    ]);
  }
  const unknown = await rename('admin', '00000000-0000-4000-8000-000000000000', { title: '无' });
  expect([unknown.status, unknown.body.code]).toEqual([404, 'CONVERSATION_NOT_FOUND']);
  const anonymous = await rename(null, id, { title: '匿名' });
  expect([anonymous.status, anonymous.body.code]).toEqual([401, 'UNAUTHENTICATED']);
});
