/** Inbox behaviour of the Store contract: listForUser (order, participants, unread) and markRead. */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/db/store-types.ts';
import { fixtures } from './fixtures.ts';

export function describeInboxContract(store: () => Store): void {
  const make = fixtures(store);

  describe('conversations.listForUser', () => {
    it('lists only my conversations, with participants, last message and unread count', async () => {
      const customer = await make.user('customer', '王小姐');
      const consultant = await make.user('consultant', '张顾问');
      const stranger = await make.user('customer', '路人');
      const conversation = await make.conversation(customer, consultant);
      await make.conversation(stranger, consultant);
      await make.send(conversation, customer, 'question');
      await make.send(conversation, consultant, 'answer 1');
      const last = await make.send(conversation, consultant, 'answer 2');

      const [summary, ...rest] = await store().conversations.listForUser(customer.id);
      expect(rest).toEqual([]);
      expect(summary).toMatchObject({ id: conversation.id, title: conversation.title, lastSeq: 3, unreadCount: 2 });
      expect(summary!.lastMessage).toEqual(last);
      expect(summary!.participants).toEqual(
        expect.arrayContaining([
          { userId: customer.id, role: 'customer', displayName: '王小姐', lastReadSeq: 0 },
          { userId: consultant.id, role: 'consultant', displayName: '张顾问', lastReadSeq: 0 },
        ]),
      );
      expect(summary!.participants).toHaveLength(2);

      // The consultant's own messages never count as unread for them.
      const [forConsultant] = (await store().conversations.listForUser(consultant.id)).filter(
        (c) => c.id === conversation.id,
      );
      expect(forConsultant!.unreadCount).toBe(1);
    });

    it('shows an empty conversation with no last message and nothing unread', async () => {
      const customer = await make.user();
      const conversation = await make.conversation(customer);
      expect(await store().conversations.listForUser(customer.id)).toEqual([
        {
          ...conversation,
          participants: [expect.objectContaining({ userId: customer.id })],
          lastMessage: null,
          unreadCount: 0,
        },
      ]);
      expect(await store().conversations.listForUser(crypto.randomUUID())).toEqual([]);
    });

    it('orders conversations by newest activity first', async () => {
      const me = await make.user('consultant');
      const a = await make.user();
      const b = await make.user();
      const c = await make.user();
      const first = await make.conversation(me, a);
      const second = await make.conversation(me, b);
      const third = await make.conversation(me, c);
      const order = async () => (await store().conversations.listForUser(me.id)).map((s) => s.id);

      expect(await order()).toEqual([third.id, second.id, first.id]);
      await make.send(first, a);
      expect(await order()).toEqual([first.id, third.id, second.id]);
      await make.send(second, me);
      expect(await order()).toEqual([second.id, first.id, third.id]);
    });

    it('counts unread from my read position onwards', async () => {
      const customer = await make.user();
      const consultant = await make.user('consultant');
      const conversation = await make.conversation(customer, consultant);
      for (let i = 0; i < 4; i++) await make.send(conversation, consultant);
      await store().messages.markRead(conversation.id, customer.id, 3);
      const [summary] = await store().conversations.listForUser(customer.id);
      expect(summary!.unreadCount).toBe(1);
      expect(summary!.participants.find((p) => p.userId === customer.id)!.lastReadSeq).toBe(3);
    });
  });

  describe('messages.markRead', () => {
    it('only moves forward, is clamped to lastSeq and returns the new position', async () => {
      const customer = await make.user();
      const consultant = await make.user('consultant');
      const conversation = await make.conversation(customer, consultant);
      for (let i = 0; i < 5; i++) await make.send(conversation, consultant);
      const markRead = (seq: number) => store().messages.markRead(conversation.id, customer.id, seq);

      expect(await markRead(3)).toBe(3);
      expect(await markRead(2)).toBe(3);
      expect(await markRead(-1)).toBe(3);
      expect(await markRead(99)).toBe(5);
      const members = await store().conversations.participants(conversation.id);
      expect(members.find((p) => p.userId === customer.id)!.lastReadSeq).toBe(5);
      expect(members.find((p) => p.userId === consultant.id)!.lastReadSeq).toBe(0);
    });

    it('returns 0 and changes nothing for a non-participant or unknown conversation', async () => {
      const customer = await make.user();
      const outsider = await make.user();
      const conversation = await make.conversation(customer);
      await make.send(conversation, customer);
      expect(await store().messages.markRead(conversation.id, outsider.id, 1)).toBe(0);
      expect(await store().messages.markRead(crypto.randomUUID(), customer.id, 1)).toBe(0);
      expect(await store().conversations.isParticipant(conversation.id, outsider.id)).toBe(false);
    });
  });
}
