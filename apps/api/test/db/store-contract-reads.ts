/** Inbox behaviour of the Store contract: listForUser (order, participants, unread) and recordRead. */
import { describe, expect, it } from 'vitest';
import type { MessageRow, Store } from '../../src/db/store-types.ts';
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
      const sent: MessageRow[] = [];
      for (let i = 0; i < 4; i++) sent.push(await make.send(conversation, consultant));
      await store().messages.recordRead(conversation.id, customer.id, [sent[2]!.id]);
      const [summary] = await store().conversations.listForUser(customer.id);
      expect(summary!.unreadCount).toBe(1);
      expect(summary!.participants.find((p) => p.userId === customer.id)!.lastReadSeq).toBe(3);
    });
  });

  describe('messages.recordRead', () => {
    it('moves the position to the newest named message, never backwards, and stores one read_status event per read', async () => {
      const customer = await make.user();
      const consultant = await make.user('consultant');
      const conversation = await make.conversation(customer, consultant);
      const sent: MessageRow[] = [];
      for (let i = 0; i < 5; i++) sent.push(await make.send(conversation, consultant));
      const read = (...indexes: number[]) =>
        store().messages.recordRead(
          conversation.id,
          customer.id,
          indexes.map((i) => sent[i]!.id),
        );

      const first = await read(2, 0);
      expect(first).toMatchObject({ lastReadSeq: 3, messageIds: [sent[0]!.id, sent[2]!.id] });
      expect(first.event).toMatchObject({
        kind: 'read_status',
        position: 1,
        excludeUserId: customer.id,
        deviceTypes: null,
        payload: {
          conversation_id: conversation.id,
          user_id: customer.id,
          message_ids: [sent[0]!.id, sent[2]!.id],
          last_read_seq: 3,
          event_seq: 1,
          event_id: first.event!.id,
        },
      });
      expect(first.event!.createdAt).toBeInstanceOf(Date);
      // An older message: the position stays, and the others still learn what was read.
      const older = await read(1);
      expect(older).toMatchObject({ lastReadSeq: 3, messageIds: [sent[1]!.id] });
      expect(older.event).toMatchObject({ position: 2, payload: { last_read_seq: 3, message_ids: [sent[1]!.id] } });
      expect((await read(4)).lastReadSeq).toBe(5);

      // Replay finds exactly what was returned, in order.
      const replay = await store().events.conversationAfter(conversation.id, 0, 10);
      expect(replay.map((e) => e.position)).toEqual([1, 2, 3]);
      expect(replay[0]).toEqual(first.event);
      const members = await store().conversations.participants(conversation.id);
      expect(members.find((p) => p.userId === customer.id)!.lastReadSeq).toBe(5);
      expect(members.find((p) => p.userId === consultant.id)!.lastReadSeq).toBe(0);
    });

    it('changes nothing and stores no event when no named message is in the conversation', async () => {
      const customer = await make.user();
      const consultant = await make.user('consultant');
      const conversation = await make.conversation(customer, consultant);
      const other = await make.conversation(customer, consultant);
      const here = await make.send(conversation, consultant);
      await make.send(conversation, consultant);
      const elsewhere = await make.send(other, consultant);
      await store().messages.recordRead(conversation.id, customer.id, [here.id]);

      for (const ids of [[elsewhere.id], [crypto.randomUUID()], [], ['not a uuid', '']]) {
        expect(await store().messages.recordRead(conversation.id, customer.id, ids)).toEqual({
          lastReadSeq: 1,
          messageIds: [],
          event: null,
        });
      }
      expect((await store().events.conversationAfter(conversation.id, 0, 10)).map((e) => e.position)).toEqual([1]);
    });

    it('returns 0 and changes nothing for a non-participant or an unknown conversation', async () => {
      const customer = await make.user();
      const outsider = await make.user();
      const conversation = await make.conversation(customer);
      const message = await make.send(conversation, customer);
      expect(await store().messages.recordRead(conversation.id, outsider.id, [message.id])).toMatchObject({
        lastReadSeq: 0,
        event: null,
      });
      expect(await store().messages.recordRead(crypto.randomUUID(), customer.id, [message.id])).toEqual({
        lastReadSeq: 0,
        messageIds: [],
        event: null,
      });
      expect(await store().conversations.isParticipant(conversation.id, outsider.id)).toBe(false);
      expect(await store().events.conversationAfter(conversation.id, 0, 10)).toEqual([]);
    });

    it('answers each read of one turn as if it were alone, over several conversations and readers', async () => {
      const customer = await make.user();
      const other = await make.user();
      const consultant = await make.user('consultant');
      const outsider = await make.user();
      const one = await make.conversation(customer, consultant);
      const two = await make.conversation(other, consultant);
      const inOne = [await make.send(one, consultant), await make.send(one, consultant)];
      const inTwo = await make.send(two, consultant);
      const [a, b, c, d, e] = await Promise.all([
        store().messages.recordRead(one.id, customer.id, [inOne[0]!.id]),
        store().messages.recordRead(two.id, other.id, [inTwo.id]),
        store().messages.recordRead(one.id, outsider.id, [inOne[1]!.id]),
        store().messages.recordRead(one.id, consultant.id, [inTwo.id]),
        store().messages.recordRead(one.id, customer.id, [inOne[1]!.id]),
      ]);
      expect(a).toMatchObject({ messageIds: [inOne[0]!.id], event: { position: 1 } });
      expect(b).toMatchObject({ lastReadSeq: 1, messageIds: [inTwo.id], event: { position: 1 } });
      expect(c).toEqual({ lastReadSeq: 0, messageIds: [inOne[1]!.id], event: null });
      expect(d).toEqual({ lastReadSeq: 0, messageIds: [], event: null });
      // Two reads by one reader in one statement: both report the reader's final position.
      expect(e).toMatchObject({ lastReadSeq: 2, messageIds: [inOne[1]!.id], event: { position: 2 } });
      expect(a!.event!.payload).toMatchObject({ last_read_seq: 2, event_seq: 1, user_id: customer.id });
      expect(b!.event!.payload).toMatchObject({ last_read_seq: 1, event_seq: 1, user_id: other.id });
      const replay = await store().events.conversationAfter(one.id, 0, 10);
      expect(replay).toEqual([a!.event, e!.event]);
    });

    it('numbers concurrent reads and message appends of one conversation without gaps or duplicates', async () => {
      const customer = await make.user();
      const consultant = await make.user('consultant');
      const conversation = await make.conversation(customer, consultant);
      const first = await make.send(conversation, consultant);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2 === 0
            ? store().messages.recordRead(conversation.id, i % 4 === 0 ? customer.id : consultant.id, [first.id])
            : make.send(conversation, consultant),
        ),
      );
      expect(results).toHaveLength(20);
      const events = await store().events.conversationAfter(conversation.id, 0, 100);
      expect(events.map((e) => e.position)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      const history = await store().messages.history(conversation.id, { afterSeq: 0 });
      expect(history.map((m) => m.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    });
  });
}
