/**
 * The push pipeline end to end on the real API (in-process, PGlite, real sockets), with a
 * provider double in place of FCM/APNs: a sender's answer never waits for a provider, and the
 * durable queue's retry policy (retry, give up, expire) shows in the jobs and in admin stats.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushProviderDouble } from './support/push-provider-double.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';
import { eventually } from './support/wait.ts';

describe('the ack path never waits for a push provider', () => {
  let app: TestApp;
  const provider = new PushProviderDouble();

  beforeAll(async () => {
    // Long enough that no provider call is abandoned during the test: it stays pending.
    app = await startTestApp(
      { PUSH_SEND_TIMEOUT: '600000', PUSH_LEASE: '1200000' },
      { notificationProvider: provider },
    );
  });
  afterAll(async () => {
    provider.release();
    await app.close();
  });

  it('answers a consultant over HTTP and WS, and delivers live, while the push to the offline doctor hangs', async () => {
    const conversationId = app.conversationId(FACIAL);
    const customer = await app.connect('customer_456', { deviceType: 'mobile' });
    const consultant = await app.connect('consultant_001');
    const { token } = await app.login('consultant_001');
    const first = `HTTP 回复 ${randomUUID()}`;
    const second = `WS 回复 ${randomUUID()}`;
    provider.script(first, 'hang');
    provider.script(second, 'hang');

    // If the answer waited for the provider, this would never resolve: the provider never answers.
    const sent = await app.http('POST', `/api/v1/chat/${conversationId}/send`, { token, body: { content: first } });
    expect(sent.status).toBe(200);
    await customer.waitFor('consultation_reply', { where: (f) => f.data.content === first });
    const [hanging] = await provider.waitForCalls(first, 1);
    expect(hanging?.notification).toMatchObject({
      userId: app.userId('doctor_001'),
      title: '顾问回复',
      priority: 'high',
      idempotencyKey: `message:${sent.body.message_id}:${app.userId('doctor_001')}`,
    });

    // With that call still pending, a WS send is acked and delivered as well.
    consultant.send({
      action: 'send_message',
      request_id: 'r-ws',
      data: { conversation_id: conversationId, client_message_id: randomUUID(), content: second },
    });
    const [ack] = await consultant.waitFor('ack', { where: (f) => f.data.request_id === 'r-ws' });
    expect(ack?.data.duplicate).toBe(false);
    await customer.waitFor('consultation_reply', { where: (f) => f.data.content === second });
    await provider.waitForCalls(second, 1);
    expect(provider.callsFor(first).map((c) => c.answered)).toEqual([false]);
    expect(provider.callsFor(second).map((c) => c.answered)).toEqual([false]);
    // The online customer got no push for either.
    expect(provider.calls.filter((c) => c.notification.userId === app.userId('customer_456'))).toEqual([]);
  });
});

describe('retry policy, against a provider double', () => {
  let app: TestApp;
  const provider = new PushProviderDouble();

  beforeAll(async () => {
    app = await startTestApp(
      { PUSH_RETRY_BASE: '20', PUSH_POLL_INTERVAL: '20', PUSH_MAX_AGE: '5000', PUSH_SEND_TIMEOUT: '2000' },
      { notificationProvider: provider },
    );
  });
  afterAll(async () => {
    await app.close();
  });

  /** A direct message to the offline customer_789; resolves with the push job once it finished. */
  async function pushAndFinish(content: string) {
    const outcome = await app.built.ctx.broadcasting.sendDirectMessage(app.userId('customer_789'), {
      title: '通知',
      content,
    });
    expect(outcome).toEqual({ ok: true, delivered: 1, pushQueued: true });
    const [call] = await provider.waitForCalls(content, 1);
    const jobId = call?.notification.idempotencyKey ?? '';
    const job = await eventually(
      () => app.built.ctx.store.pushJobs.find(jobId),
      (found) => found !== null && found.state !== 'pending',
      `push job ${jobId} to finish`,
    );
    if (!job) throw new Error(`push job ${jobId} vanished`);
    return job;
  }

  it('retries a retryable failure and delivers once; both attempts are counted', async () => {
    const before = (await app.built.ctx.figures.push()).attempts;
    const content = `retry then ok ${randomUUID()}`;
    provider.script(content, { ok: false, error: 'HTTP 503', retryable: true }, { ok: true });
    const job = await pushAndFinish(content);
    expect(job).toMatchObject({ state: 'delivered', attempts: 2, lastOutcome: 'success', lastError: null });
    expect(provider.callsFor(content)).toHaveLength(2);
    const after = (await app.built.ctx.figures.push()).attempts;
    expect(after.retryable - before.retryable).toBe(1);
    expect(after.success - before.success).toBe(1);
  });

  it('does not retry a permanent failure', async () => {
    const content = `permanent ${randomUUID()}`;
    provider.script(content, { ok: false, error: 'device token unregistered', retryable: false });
    const job = await pushAndFinish(content);
    expect(job).toMatchObject({
      state: 'failed',
      attempts: 1,
      lastOutcome: 'permanent',
      lastError: 'device token unregistered',
    });
    // A later push goes through the same worker; by then the failed one has still had one call.
    await pushAndFinish(`after the permanent failure ${randomUUID()}`);
    expect(provider.callsFor(content)).toHaveLength(1);
  });

  it('drops a push whose next retry would pass PUSH_MAX_AGE, and counts it as expired', async () => {
    const before = (await app.built.ctx.figures.push()).attempts.expired;
    const content = `expires ${randomUUID()}`;
    // The provider asks to wait 60 s; the maximum age is 5 s.
    provider.script(content, { ok: false, error: 'HTTP 429', retryable: true, retryAfterMs: 60_000 });
    const job = await pushAndFinish(content);
    expect(job).toMatchObject({ state: 'expired', attempts: 1, lastOutcome: 'expired' });
    expect(job.lastError).toContain('last error: HTTP 429');
    expect((await app.built.ctx.figures.push()).attempts.expired - before).toBe(1);
  });

  it('shows every outcome in GET /api/v1/admin/stats', async () => {
    const { token } = await app.login('admin');
    const res = await app.http('GET', '/api/v1/admin/stats', { token });
    expect(res.status).toBe(200);
    const { push } = res.body;
    expect(push.providers).toEqual(['double']);
    // From the tests above: 2 delivered (one after a retry), 1 failed, 1 expired; nothing pending.
    expect(push.queue).toMatchObject({ pending: 0, oldest_pending_age_seconds: null, delivered: 2, failed: 1 });
    expect(push.queue.expired).toBe(1);
    expect(push.success_rate).toBeCloseTo(2 / 4);
    expect(push.instance.attempts).toEqual({ success: 2, retryable: 2, permanent: 1, expired: 1 });
    expect(push.instance.by_provider).toEqual({ double: { success: 2, retryable: 2, permanent: 1, expired: 1 } });
    expect(push.by_provider.double).toMatchObject({ delivered: 2, failed: 1, expired: 1 });
    // Per attempt on this instance: 2 delivered of 5 provider attempts.
    expect(push.instance.success_rate).toBeCloseTo(2 / 5);
  });
  it("carries this instance's attempts per provider in the admin stats frames", async () => {
    const admin = await app.connect('admin', { connectionType: 'admin' });
    expect(await app.built.publishStats()).toBe(1);
    const [frame] = await admin.waitFor('stats');
    expect(frame?.data.push).toMatchObject({
      sent: 2,
      failed: 3,
      expired: 1,
      by_provider: { double: { sent: 2, failed: 3, success_rate: 2 / 5 } },
    });
    await admin.close();
  });
});
