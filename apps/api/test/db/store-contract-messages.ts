/** Message behaviour of the Store contract: seq assignment, idempotency, history, unread, read marks. */
import { describe, expect, it } from 'vitest';
import type { AppendMessageResult, Store } from '../../src/db/store-types.ts';
import { fixtures } from './fixtures.ts';

export function describeMessageContract(store: () => Store): void {
  const make = fixtures(store);

  /** A customer/consultant pair in a fresh conversation. */
  async function chat() {
    const customer = await make.user('customer', '王小姐');
    const consultant = await make.user('consultant', '张顾问');
    const conversation = await make.conversation(customer, consultant);
    return { customer, consultant, conversation };
  }

  describe('messages.append', () => {
    it('assigns seq 1, 2, 3 to successive appends and advances lastSeq', async () => {
      const { customer, consultant, conversation } = await chat();
      const seqs = [
        (await make.send(conversation, customer, 'a')).seq,
        (await make.send(conversation, consultant, 'b')).seq,
        (await make.send(conversation, customer, 'c')).seq,
      ];
      expect(seqs).toEqual([1, 2, 3]);
      expect((await store().conversations.findById(conversation.id))!.lastSeq).toBe(3);
    });

    it('stores type, content and metadata as given', async () => {
      const { customer, conversation } = await chat();
      const result = await store().messages.append({
        conversationId: conversation.id,
        senderId: customer.id,
        clientMessageId: 'img-1',
        messageType: 'image',
        content: 'https://cdn.example/x.png',
        metadata: { width: 640, tags: ['face'], nested: { ok: true } },
      });
      expect(result).toMatchObject({
        status: 'created',
        message: {
          conversationId: conversation.id,
          senderId: customer.id,
          clientMessageId: 'img-1',
          messageType: 'image',
          content: 'https://cdn.example/x.png',
          metadata: { width: 640, tags: ['face'], nested: { ok: true } },
        },
      });
      const [stored] = await store().messages.history(conversation.id);
      expect(stored).toEqual(result.status === 'created' ? result.message : undefined);
      expect(stored!.createdAt).toBeInstanceOf(Date);
    });

    it('returns the original for a repeated clientMessageId without using a seq', async () => {
      const { customer, conversation } = await chat();
      const original = await make.send(conversation, customer, 'first', 'client-1');
      const again = await store().messages.append({
        conversationId: conversation.id,
        senderId: customer.id,
        clientMessageId: 'client-1',
        messageType: 'text',
        content: 'retried with different text',
      });
      expect(again).toEqual({ status: 'duplicate', message: original });
      expect((await store().conversations.findById(conversation.id))!.lastSeq).toBe(1);
      expect((await make.send(conversation, customer, 'next')).seq).toBe(2);
    });

    it('never deduplicates messages without a clientMessageId', async () => {
      const { customer, conversation } = await chat();
      await make.send(conversation, customer, 'same', null);
      expect((await make.send(conversation, customer, 'same', null)).seq).toBe(2);
    });

    it('treats the same clientMessageId from different senders as different messages', async () => {
      const { customer, consultant, conversation } = await chat();
      await make.send(conversation, customer, 'a', 'shared-id');
      expect((await make.send(conversation, consultant, 'b', 'shared-id')).seq).toBe(2);
    });

    it('reports a conflict when a sender reuses a clientMessageId in another conversation', async () => {
      const { customer, consultant, conversation } = await chat();
      const other = await make.conversation(customer, consultant);
      await make.send(conversation, customer, 'a', 'client-x');
      const reused = await store().messages.append({
        conversationId: other.id,
        senderId: customer.id,
        clientMessageId: 'client-x',
        messageType: 'text',
        content: 'b',
      });
      expect(reused).toEqual({ status: 'conflict', existingConversationId: conversation.id });
      expect((await store().conversations.findById(other.id))!.lastSeq).toBe(0);
      expect(await store().messages.history(other.id)).toEqual([]);
    });

    it('gives 20 parallel appends the seqs 1..20 with no gap or duplicate', async () => {
      const { customer, consultant, conversation } = await chat();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => make.send(conversation, i % 2 ? customer : consultant, `m${i}`)),
      );
      expect(results.map((m) => m.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect((await store().conversations.findById(conversation.id))!.lastSeq).toBe(20);
    });

    it('creates exactly one message from 5 parallel appends sharing a clientMessageId', async () => {
      const { customer, conversation } = await chat();
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          store().messages.append({
            conversationId: conversation.id,
            senderId: customer.id,
            clientMessageId: 'burst',
            messageType: 'text',
            content: 'once',
          }),
        ),
      );
      const created = results.filter((r) => r.status === 'created');
      expect(created).toHaveLength(1);
      expect(results.filter((r) => r.status === 'duplicate')).toHaveLength(4);
      expect(results.every((r) => r.status !== 'conflict' && r.message.id === created[0]!.message.id)).toBe(true);
      expect((await store().conversations.findById(conversation.id))!.lastSeq).toBe(1);
      expect((await make.send(conversation, customer, 'after')).seq).toBe(2);
    });

    it('lets exactly one of two parallel appends win a clientMessageId raced across conversations', async () => {
      const { customer, consultant, conversation } = await chat();
      const other = await make.conversation(customer, consultant);
      const results = await Promise.all(
        [conversation, other].map((c) =>
          store().messages.append({
            conversationId: c.id,
            senderId: customer.id,
            clientMessageId: 'raced',
            messageType: 'text',
            content: 'x',
          }),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual(['conflict', 'created']);
      const winner = results.find((r) => r.status === 'created')!;
      const loserId = winner.message.conversationId === conversation.id ? other.id : conversation.id;
      expect(results.find((r) => r.status === 'conflict')).toEqual({
        status: 'conflict',
        existingConversationId: winner.message.conversationId,
      });
      expect((await store().conversations.findById(loserId))!.lastSeq).toBe(0);
    });

    it('gives a parallel burst mixing resends and new keys gap-free seqs, one row per key', async () => {
      const { customer, consultant, conversation } = await chat();
      // 10 distinct keys per sender, each sent 3 times, all 60 appends in flight at once.
      const sends = [customer, consultant].flatMap((sender) =>
        Array.from({ length: 30 }, (_, i) => ({ sender, key: `k${i % 10}` })),
      );
      const results = await Promise.all(
        sends.map(({ sender, key }) =>
          store().messages.append({
            conversationId: conversation.id,
            senderId: sender.id,
            clientMessageId: key,
            messageType: 'text',
            content: key,
          }),
        ),
      );
      const created = results.flatMap((r) => (r.status === 'created' ? [r.message] : []));
      expect(created).toHaveLength(20);
      expect(created.map((m) => m.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const byKey = new Map(created.map((m) => [`${m.senderId}/${m.clientMessageId}`, m]));
      for (const [i, result] of results.entries()) {
        expect(result.status === 'conflict' ? undefined : result.message).toEqual(
          byKey.get(`${sends[i]!.sender.id}/${sends[i]!.key}`),
        );
      }
      expect((await store().conversations.findById(conversation.id))!.lastSeq).toBe(20);
      expect(await store().messages.history(conversation.id, { limit: 200 })).toHaveLength(20);
    });

    it('rejects an append to a missing conversation even when its key is stored in another one', async () => {
      const { customer, conversation } = await chat();
      await make.send(conversation, customer, 'a', 'used-elsewhere');
      await expect(
        store().messages.append({
          conversationId: crypto.randomUUID(),
          senderId: customer.id,
          clientMessageId: 'used-elsewhere',
          messageType: 'text',
          content: 'x',
        }),
      ).rejects.toThrow(/does not exist/);
    });

    it('stores appends made in the same turn each as given, and one bad append fails alone', async () => {
      const { customer, consultant, conversation } = await chat();
      const second = await make.conversation(customer, consultant);
      await make.send(conversation, customer, 'stored before', 'known-key');
      const append = (input: Partial<Parameters<Store['messages']['append']>[0]>) =>
        store().messages.append({
          conversationId: conversation.id,
          senderId: customer.id,
          clientMessageId: null,
          messageType: 'text',
          content: 'x',
          ...input,
        });
      // Started together: one batch statement; the unknown sender makes it fail as a whole, so
      // every append is retried alone and only that one is refused.
      const settled = await Promise.allSettled([
        append({ content: '一', metadata: { width: 640, nested: { ok: true } }, messageType: 'image' }),
        append({ conversationId: second.id, senderId: consultant.id, clientMessageId: 'k-2', content: '二' }),
        append({ clientMessageId: 'known-key', content: 'resend' }),
        append({ senderId: 'no-such-user', content: 'refused' }),
        append({ conversationId: crypto.randomUUID(), content: 'nowhere' }),
        append({ senderId: consultant.id, content: '三', metadata: null }),
      ]);
      expect(settled.map((r) => r.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'fulfilled',
        'rejected',
        'rejected',
        'fulfilled',
      ]);
      const value = (i: number) => (settled[i] as PromiseFulfilledResult<AppendMessageResult>).value;
      expect(value(0)).toMatchObject({
        status: 'created',
        message: { seq: 2, messageType: 'image', content: '一', metadata: { width: 640, nested: { ok: true } } },
      });
      expect(value(1)).toMatchObject({ status: 'created', message: { conversationId: second.id, seq: 1 } });
      expect(value(2)).toMatchObject({ status: 'duplicate', message: { content: 'stored before', seq: 1 } });
      expect(value(5)).toMatchObject({ status: 'created', message: { seq: 3, content: '三', metadata: null } });
      expect((settled[4] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
      expect((await store().messages.history(conversation.id)).map((m) => m.content)).toEqual([
        'stored before',
        '一',
        '三',
      ]);
      expect((await store().conversations.findById(conversation.id))!.lastSeq).toBe(3);
    });

    it('stores a batch without a failing row in one go: the same turn, every key new', async () => {
      const { customer, consultant, conversation } = await chat();
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          store().messages.append({
            conversationId: conversation.id,
            senderId: i % 2 ? customer.id : consultant.id,
            clientMessageId: i % 3 ? `batch-${i}` : null,
            messageType: 'text',
            content: `#${i}`,
          }),
        ),
      );
      // Call order is seq order.
      expect(results.map((r) => (r.status === 'created' ? r.message.seq : -1))).toEqual(
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
    });

    it('rejects an append to a conversation that does not exist', async () => {
      const { customer } = await chat();
      await expect(
        store().messages.append({
          conversationId: crypto.randomUUID(),
          senderId: customer.id,
          clientMessageId: null,
          messageType: 'text',
          content: 'x',
        }),
      ).rejects.toThrow(/does not exist/);
    });
  });

  describe('messages.history', () => {
    /** A conversation holding `count` messages whose content is their seq. */
    async function filled(count: number) {
      const { customer, conversation } = await chat();
      for (let i = 1; i <= count; i++) await make.send(conversation, customer, String(i));
      return conversation;
    }
    const seqs = (rows: Array<{ seq: number }>) => rows.map((r) => r.seq);
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

    it('pages backwards with beforeSeq and forwards with afterSeq, always ascending', async () => {
      const conversation = await filled(10);
      const history = store().messages.history.bind(store().messages);
      expect(seqs(await history(conversation.id, { limit: 3 }))).toEqual([8, 9, 10]);
      expect(seqs(await history(conversation.id, { beforeSeq: 8, limit: 3 }))).toEqual([5, 6, 7]);
      expect(seqs(await history(conversation.id, { beforeSeq: 3, limit: 3 }))).toEqual([1, 2]);
      expect(seqs(await history(conversation.id, { afterSeq: 4, limit: 3 }))).toEqual([5, 6, 7]);
      expect(seqs(await history(conversation.id, { afterSeq: 9, limit: 3 }))).toEqual([10]);
      expect(seqs(await history(conversation.id, { afterSeq: 10 }))).toEqual([]);
      expect(seqs(await history(conversation.id, { afterSeq: 2, beforeSeq: 6 }))).toEqual([3, 4, 5]);
      expect(await history(crypto.randomUUID())).toEqual([]);
    });

    it('defaults to the newest 50 and clamps limit to 1..200', async () => {
      const conversation = await filled(205);
      const history = store().messages.history.bind(store().messages);
      expect(seqs(await history(conversation.id))).toEqual(range(156, 205));
      expect(seqs(await history(conversation.id, { limit: 1000 }))).toEqual(range(6, 205));
      expect(seqs(await history(conversation.id, { limit: 0 }))).toEqual([205]);
      expect(seqs(await history(conversation.id, { limit: -5, afterSeq: 0 }))).toEqual([1]);
      expect(seqs(await history(conversation.id, { afterSeq: 0, limit: 500 }))).toEqual(range(1, 200));
    });
  });
}
