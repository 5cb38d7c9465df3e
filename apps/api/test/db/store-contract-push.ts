/**
 * The push queue of the Store contract: decisions stored with their event, leased claims that no
 * two claimers share, fenced results, idempotent expansion. Other tests of the same database may
 * leave jobs behind, so every assertion looks only at this test's own job ids.
 */
import { describe, expect, it } from 'vitest';
import type { PushDecisionInput, PushJobRow, Store } from '../../src/db/store-types.ts';
import { eventually } from '../support/wait.ts';
import { fixtures } from './fixtures.ts';

/** Long enough that a claimed job stays claimed for the whole test. */
const LONG_LEASE_MS = 60_000;

const reply = (senderId: string): PushDecisionInput => ({
  reason: 'consultation_reply',
  excludeUserId: senderId,
  notification: { title: '顾问回复', content: '您好', priority: 'high', deviceType: 'mobile', data: { a: 1 } },
});

export function describePushQueueContract(store: () => Store): void {
  const make = fixtures(store);

  /** Claims everything due (other tests' jobs included) and returns this test's jobs among them. */
  const claimOwn = async (ids: readonly string[], leaseMs = LONG_LEASE_MS): Promise<PushJobRow[]> => {
    const claimed = await store().pushJobs.claim(1_000, leaseMs);
    return claimed.filter((job) => ids.includes(job.id));
  };

  /** Claims the job as soon as it is due again (its lease ended, or its retry came). */
  const claimOnceDue = async (id: string, what: string): Promise<PushJobRow> =>
    (await eventually(
      async () => (await claimOwn([id]))[0],
      (job) => job !== undefined,
      what,
      5_000,
    )) as PushJobRow;

  const staffReply = async () => {
    const customer = await make.user('customer');
    const consultant = await make.user('consultant');
    const conversation = await make.conversation(customer, consultant);
    const result = await store().messages.append({
      conversationId: conversation.id,
      senderId: consultant.id,
      clientMessageId: crypto.randomUUID(),
      messageType: 'text',
      content: '您好',
      push: reply(consultant.id),
    });
    if (result.status !== 'created') throw new Error(`expected created, got ${result.status}`);
    return { customer, consultant, conversation, message: result.message, decisionId: `message:${result.message.id}` };
  };

  describe('push queue', () => {
    it('stores a push decision in the same append as the message, and none for a duplicate or a plain append', async () => {
      const { consultant, conversation, message, decisionId } = await staffReply();
      const decision = await store().pushJobs.find(decisionId);
      expect(decision).toMatchObject({
        kind: 'decide',
        reason: 'consultation_reply',
        conversationId: conversation.id,
        userId: null,
        excludeUserId: consultant.id,
        state: 'pending',
        attempts: 0,
        notification: reply(consultant.id).notification,
      });

      const again = await store().messages.append({
        conversationId: conversation.id,
        senderId: consultant.id,
        clientMessageId: message.clientMessageId,
        messageType: 'text',
        content: '您好',
        push: reply(consultant.id),
      });
      expect(again.status).toBe('duplicate');
      const plain = await make.send(conversation, consultant, 'no push');
      expect(await store().pushJobs.find(`message:${plain.id}`)).toBeNull();
      expect((await claimOwn([decisionId])).map((j) => j.id)).toEqual([decisionId]);
    });

    it('stores the decisions of appends batched into one statement', async () => {
      const customer = await make.user('customer');
      const consultant = await make.user('consultant');
      const conversation = await make.conversation(customer, consultant);
      // Appends issued in one turn share one statement (the group commit).
      const results = await Promise.all(
        [1, 2, 3].map((n) =>
          store().messages.append({
            conversationId: conversation.id,
            senderId: consultant.id,
            clientMessageId: `batch-${n}-${crypto.randomUUID()}`,
            messageType: 'text',
            content: `reply ${n}`,
            push: n === 2 ? null : reply(consultant.id),
          }),
        ),
      );
      const ids = results.map((r) => (r.status === 'created' ? r.message.id : 'missing'));
      expect(await store().pushJobs.find(`message:${ids[0]}`)).toMatchObject({ kind: 'decide' });
      expect(await store().pushJobs.find(`message:${ids[1]}`)).toBeNull();
      expect(await store().pushJobs.find(`message:${ids[2]}`)).toMatchObject({ kind: 'decide' });
    });

    it('stores a decision with a conversation event and with a user event, keyed by the event id', async () => {
      const customer = await make.user('customer');
      const conversation = await make.conversation(customer);
      const notice = await store().events.appendToConversation(conversation.id, {
        kind: 'mobile_notification',
        payload: (event_seq, event_id) => ({ event_seq, event_id }),
        push: {
          reason: 'mobile_notification',
          notification: { title: '提醒', content: '明天复诊', priority: 'high', deviceType: 'mobile' },
        },
      });
      const direct = await store().events.appendToUser(customer.id, {
        kind: 'direct_message',
        payload: (user_seq, event_id) => ({ user_seq, event_id }),
        push: {
          reason: 'direct_message',
          notification: { title: '新消息', content: '你好', priority: 'normal', deviceType: 'mobile' },
        },
      });
      expect(await store().pushJobs.find(`event:${notice.id}`)).toMatchObject({
        reason: 'mobile_notification',
        conversationId: conversation.id,
        userId: null,
      });
      expect(await store().pushJobs.find(`event:${direct.id}`)).toMatchObject({
        reason: 'direct_message',
        conversationId: null,
        userId: customer.id,
      });
      await claimOwn([`event:${notice.id}`, `event:${direct.id}`]);
    });

    it('leases a claimed job: not claimed again until the lease ends, then claimed with the next attempt number', async () => {
      const { decisionId } = await staffReply();
      const [first] = await claimOwn([decisionId], 300);
      expect(first?.attempts).toBe(1);
      expect(await claimOwn([decisionId], 300)).toEqual([]);
      const second = await claimOnceDue(decisionId, 'the decision to be claimable again after its 300 ms lease');
      expect(second.attempts).toBe(2);
    });

    it('deletes decisions without sends in one call, each only while its own attempts still match', async () => {
      const replies = await Promise.all([staffReply(), staffReply(), staffReply()]);
      const ids = replies.map((r) => r.decisionId);
      const claimed = await claimOwn(ids);
      expect(claimed.map((job) => job.id).sort()).toEqual([...ids].sort());
      const byId = new Map(claimed.map((job) => [job.id, job]));
      const [first, second, third] = ids.map((id) => byId.get(id)!);
      // The second as an instance whose lease had ended would hold it: an older attempt number.
      const deleted = await store().pushJobs.completeEmptyDecisions([
        first!,
        { id: second!.id, attempts: second!.attempts - 1 },
        third!,
      ]);
      expect([...deleted].sort()).toEqual([first!.id, third!.id].sort());
      expect(await store().pushJobs.find(first!.id)).toBeNull();
      expect(await store().pushJobs.find(second!.id)).toMatchObject({ kind: 'decide', attempts: second!.attempts });
      expect(await store().pushJobs.find(third!.id)).toBeNull();
      // Again: nothing left to delete but the second, now with its own attempts.
      expect([...(await store().pushJobs.completeEmptyDecisions([first!, second!]))]).toEqual([second!.id]);
      expect(await store().pushJobs.completeEmptyDecisions([])).toEqual(new Set());
    });

    it('expands a decision into one send per user exactly once, even when it runs twice', async () => {
      const { customer, decisionId } = await staffReply();
      const [decision] = await claimOwn([decisionId]);
      if (!decision) throw new Error('decision not claimed');
      const sends = [{ userId: customer.id, deviceId: null, provider: 'logging', notification: decision.notification }];
      expect(await store().pushJobs.completeDecision(decision, sends)).toBe(true);
      // A second run (e.g. by an instance whose lease had ended) changes nothing.
      expect(await store().pushJobs.completeDecision(decision, sends)).toBe(false);
      expect(await store().pushJobs.find(decisionId)).toBeNull();
      const send = await store().pushJobs.find(`${decisionId}:${customer.id}`);
      expect(send).toMatchObject({ kind: 'send', userId: customer.id, state: 'pending', attempts: 0 });
      expect(send?.createdAt.getTime()).toBe(decision.createdAt.getTime());
      await claimOwn([`${decisionId}:${customer.id}`]);
    });

    it('fences results: a claim that was superseded cannot finish the job', async () => {
      const { customer, decisionId } = await staffReply();
      const [decision] = await claimOwn([decisionId]);
      if (!decision) throw new Error('decision not claimed');
      await store().pushJobs.completeDecision(decision, [
        { userId: customer.id, deviceId: null, provider: 'logging', notification: decision.notification },
      ]);
      const sendId = `${decisionId}:${customer.id}`;
      const [stale] = await claimOwn([sendId], 1);
      if (!stale) throw new Error('send not claimed');
      const current = await claimOnceDue(sendId, 'the send to be claimable again after a 1 ms lease');
      expect(await store().pushJobs.finish(stale, { state: 'failed', outcome: 'permanent', error: 'stale' })).toBe(
        false,
      );
      expect(await store().pushJobs.finish(current, { state: 'delivered', outcome: 'success' })).toBe(true);
      expect(await store().pushJobs.find(sendId)).toMatchObject({
        state: 'delivered',
        lastOutcome: 'success',
        lastError: null,
        attempts: current.attempts,
      });
      // Finished: never claimed again.
      expect(await claimOwn([sendId])).toEqual([]);
    });

    it('reschedules a retryable result after the given delay and keeps the reason', async () => {
      const { decisionId } = await staffReply();
      const [decision] = await claimOwn([decisionId]);
      if (!decision) throw new Error('decision not claimed');
      expect(await store().pushJobs.postponeDecision(decision, 200, 'presence unavailable')).toBe(true);
      expect(await store().pushJobs.find(decisionId)).toMatchObject({
        state: 'pending',
        lastOutcome: 'retryable',
        lastError: 'presence unavailable',
      });
      const again = await claimOnceDue(decisionId, 'the postponed decision to be due again');
      expect(again.attempts).toBe(2);
    });

    it('never hands one due job to two concurrent claims', async () => {
      const made = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(() => staffReply()));
      const ids = made.map((m) => m.decisionId);
      const claims = await Promise.all([1, 2, 3, 4].map(() => store().pushJobs.claim(3, LONG_LEASE_MS)));
      const own = claims.flat().filter((job) => ids.includes(job.id));
      expect(new Set(own.map((j) => j.id)).size).toBe(own.length);
      await claimOwn(ids);
    });

    it('gives a send to a device its own id and keeps its provider', async () => {
      const { customer, decisionId } = await staffReply();
      const { device } = await store().devices.register({
        userId: customer.id,
        platform: 'android',
        deviceType: 'mobile',
        provider: 'fcm',
        token: `fcm-${crypto.randomUUID()}`,
      });
      const [decision] = await claimOwn([decisionId]);
      if (!decision) throw new Error('decision not claimed');
      await store().pushJobs.completeDecision(decision, [
        { userId: customer.id, deviceId: device.id, provider: 'fcm', notification: decision.notification },
      ]);
      const send = await store().pushJobs.find(`${decisionId}:${customer.id}:${device.id}`);
      expect(send).toMatchObject({ kind: 'send', deviceId: device.id, provider: 'fcm', userId: customer.id });
      await claimOwn([`${decisionId}:${customer.id}:${device.id}`]);
    });

    it('registers a device once per token, moves it to the user who registers it next, and deletes only your own', async () => {
      const alice = await make.user('customer');
      const bob = await make.user('customer');
      const token = `apns-${crypto.randomUUID()}`;
      const first = await store().devices.register({
        userId: alice.id,
        platform: 'ios',
        deviceType: 'mobile',
        provider: 'apns',
        token,
      });
      expect(first.created).toBe(true);
      const again = await store().devices.register({
        userId: bob.id,
        platform: 'ios',
        deviceType: 'tablet',
        provider: 'apns',
        token,
      });
      expect(again).toMatchObject({
        created: false,
        device: { id: first.device.id, userId: bob.id, deviceType: 'tablet' },
      });
      expect(await store().devices.listForUser(alice.id)).toEqual([]);
      expect((await store().devices.listForUsers([alice.id, bob.id])).map((d) => d.id)).toEqual([first.device.id]);
      expect(await store().devices.delete(first.device.id, alice.id)).toBe(false);
      expect(await store().devices.delete(first.device.id, bob.id)).toBe(true);
      expect(await store().devices.find(first.device.id)).toBeNull();
    });

    it('counts pending and finished jobs and prunes finished ones', async () => {
      const { customer, decisionId } = await staffReply();
      const before = await store().pushJobs.counts();
      const [decision] = await claimOwn([decisionId]);
      if (!decision) throw new Error('decision not claimed');
      await store().pushJobs.completeDecision(decision, [
        { userId: customer.id, deviceId: null, provider: 'logging', notification: decision.notification },
      ]);
      const [send] = await claimOwn([`${decisionId}:${customer.id}`]);
      if (!send) throw new Error('send not claimed');
      await store().pushJobs.finish(send, { state: 'expired', outcome: 'expired' });
      const after = await store().pushJobs.counts();
      expect(after.expired).toBe(before.expired + 1);
      expect(after.oldestPendingAgeMs === null || after.oldestPendingAgeMs >= 0).toBe(true);
      expect(await store().pushJobs.prune(0)).toBeGreaterThanOrEqual(1);
      expect(await store().pushJobs.find(send.id)).toBeNull();
    });

    it('summarises the pending jobs for the metrics: how many, from at most `cap` rows, and the oldest age', async () => {
      const before = await store().pushJobs.pendingSummary(1_000_000);
      const { decisionId } = await staffReply();
      const after = await store().pushJobs.pendingSummary(1_000_000);
      expect(after.pending).toBe(before.pending + 1);
      expect(after.oldestAgeSeconds).not.toBeNull();
      expect(after.oldestAgeSeconds).toBeGreaterThanOrEqual(0);
      // The cap bounds the rows read, whatever the queue holds.
      expect((await store().pushJobs.pendingSummary(1)).pending).toBe(1);
      const [decision] = await claimOwn([decisionId]);
      if (!decision) throw new Error('decision not claimed');
      await store().pushJobs.completeDecision(decision, []);
      expect((await store().pushJobs.pendingSummary(1_000_000)).pending).toBe(before.pending);
    });
  });
}
