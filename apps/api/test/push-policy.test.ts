/**
 * Who gets a push for a customer's message, over real sockets: the conversation's staff, only
 * when none of them is online, and one push per burst of messages (issue #14's policy). A
 * provider double stands in for the push service.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushProviderDouble } from './support/push-provider-double.ts';
import { FACIAL, FOLLOW_UP, startTestApp, type TestApp } from './support/test-app.ts';
import { eventually } from './support/wait.ts';

let app: TestApp;
const provider = new PushProviderDouble();

beforeAll(async () => {
  app = await startTestApp({ PUSH_POLL_INTERVAL: '50' }, { notificationProvider: provider });
});
afterAll(async () => {
  await app.close();
});

async function sendAs(username: string, conversationId: string, content: string) {
  const { token } = await app.login(username);
  const res = await app.http('POST', `/api/v1/chat/${conversationId}/send`, { token, body: { content } });
  expect(res.status).toBe(200);
  return res.body.message_id as string;
}

/** Resolves once the conversation's burst decision was run (it is deleted then). */
async function burstDecided(conversationId: string) {
  await eventually(
    () => app.built.ctx.store.pushJobs.find(`burst:${conversationId}`),
    (job) => job === null,
    `the burst decision of ${conversationId} to run`,
  );
}

describe("a customer's message", () => {
  it('pushes once per burst to every staff member when none of them is online', async () => {
    const conversationId = app.conversationId(FACIAL);
    const first = `第一条 ${randomUUID()}`;
    await sendAs('customer_456', conversationId, first);
    await sendAs('customer_456', conversationId, `第二条 ${randomUUID()}`);
    await sendAs('customer_456', conversationId, `第三条 ${randomUUID()}`);
    // Both staff (consultant and doctor) get one push for the burst; the customer none.
    const calls = await provider.waitForCalls(first, 2);
    expect(calls.map((c) => c.notification.userId).sort()).toEqual(
      [app.userId('consultant_001'), app.userId('doctor_001')].sort(),
    );
    expect(calls[0]?.notification).toMatchObject({
      title: '客户消息',
      priority: 'high',
      collapseKey: `conversation:${conversationId}`,
      data: { conversation_id: conversationId, action: 'open_conversation' },
    });
    await burstDecided(conversationId);
    const burstCalls = provider.calls.filter((c) =>
      c.notification.idempotencyKey?.startsWith(`burst:${conversationId}@`),
    );
    expect(burstCalls).toHaveLength(2);
  });

  it('pushes to nobody while a staff member is online', async () => {
    const conversationId = app.conversationId(FOLLOW_UP);
    const consultant = await app.connect('consultant_001', { deviceType: 'desktop' });
    const content = `在吗 ${randomUUID()}`;
    await sendAs('customer_789', conversationId, content);
    await consultant.waitFor('new_message', { where: (f) => f.data.content === content });
    await burstDecided(conversationId);
    expect(provider.callsFor(content)).toEqual([]);
    await consultant.close();
  });

  it('starts a new burst, with its own push, once the last one was decided', async () => {
    const conversationId = app.conversationId(FOLLOW_UP);
    await eventually(
      async () => app.built.ctx.local.size,
      (n) => n === 0,
      'the consultant socket of the previous test to be unregistered',
    );
    const content = `新一轮 ${randomUUID()}`;
    await sendAs('customer_789', conversationId, content);
    const [call] = await provider.waitForCalls(content, 1);
    expect(call?.notification.userId).toBe(app.userId('consultant_001'));
  });
});

describe("a consultant's replies while everyone else is online", () => {
  it('deletes their decisions, which send nothing, several in one statement, and pushes nothing', async () => {
    const conversationId = app.conversationId(FACIAL);
    const online = [await app.connect('customer_456'), await app.connect('doctor_001')];
    const pushJobs = app.built.ctx.store.pushJobs;
    const deleteOnce = pushJobs.completeEmptyDecisions.bind(pushJobs);
    const batches: number[] = [];
    // Counts the worker's calls; the store's own method does the work.
    pushJobs.completeEmptyDecisions = (decisions) => {
      batches.push(decisions.length);
      return deleteOnce(decisions);
    };
    try {
      const tag = randomUUID();
      const ids = await Promise.all(
        Array.from({ length: 40 }, (_, i) => sendAs('consultant_001', conversationId, `回复 ${i} ${tag}`)),
      );
      await eventually(
        async () => (await Promise.all(ids.map((id) => pushJobs.find(`message:${id}`)))).filter(Boolean).length,
        (left) => left === 0,
        'every decision of the 40 replies to run',
      );
      expect(provider.calls.filter((c) => c.notification.content.includes(tag))).toEqual([]);
      expect(batches.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(40);
      expect(Math.max(...batches)).toBeGreaterThan(1);
    } finally {
      pushJobs.completeEmptyDecisions = deleteOnce;
      for (const socket of online) await socket.close();
    }
  });
});
