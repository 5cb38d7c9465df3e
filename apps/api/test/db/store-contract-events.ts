/** Durable event streams of the Store contract: positions without gaps, replay after a position. */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/db/store-types.ts';
import { fixtures } from './fixtures.ts';

export function describeEventsContract(store: () => Store): void {
  const make = fixtures(store);
  const payload = (extra: Record<string, unknown>) => (position: number, id: string) => ({
    ...extra,
    event_seq: position,
    event_id: id,
  });

  describe('events', () => {
    it('numbers conversation events 1, 2, 3 per conversation and stores the payload built with its position', async () => {
      const customer = await make.user();
      const one = await make.conversation(customer);
      const two = await make.conversation(customer);
      const a = await store().events.appendToConversation(one.id, { kind: 'read_status', payload: payload({ n: 1 }) });
      const b = await store().events.appendToConversation(one.id, {
        kind: 'mobile_notification',
        payload: payload({ n: 2 }),
        deviceTypes: ['mobile'],
        excludeUserId: customer.id,
      });
      const c = await store().events.appendToConversation(two.id, { kind: 'read_status', payload: payload({ n: 3 }) });
      expect([a.position, b.position, c.position]).toEqual([1, 2, 1]);
      expect(a.payload).toEqual({ n: 1, event_seq: 1, event_id: a.id });

      const replay = await store().events.conversationAfter(one.id, 0, 10);
      expect(replay.map((e) => [e.kind, e.position])).toEqual([
        ['read_status', 1],
        ['mobile_notification', 2],
      ]);
      expect(replay[1]).toMatchObject({ deviceTypes: ['mobile'], excludeUserId: customer.id });
      expect(replay[0]).toMatchObject({ deviceTypes: null, excludeUserId: null });
      expect((await store().events.conversationAfter(one.id, 1, 10)).map((e) => e.position)).toEqual([2]);
      expect(await store().events.conversationAfter(one.id, 0, 1)).toHaveLength(1);
    });

    it('keeps conversation event positions gapless under concurrent appends', async () => {
      const conversation = await make.conversation(await make.user());
      const stored = await Promise.all(
        Array.from({ length: 15 }, (_, i) =>
          store().events.appendToConversation(conversation.id, { kind: 'read_status', payload: payload({ i }) }),
        ),
      );
      expect(stored.map((e) => e.position).sort((x, y) => x - y)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    });

    it('numbers user events per user and replays after a position', async () => {
      const [alice, bob] = [await make.user(), await make.user()];
      await store().events.appendToUser(alice.id, { kind: 'direct_message', payload: payload({ to: 'alice' }) });
      await store().events.appendToUser(bob.id, { kind: 'direct_message', payload: payload({ to: 'bob' }) });
      const second = await store().events.appendToUser(alice.id, {
        kind: 'direct_message',
        payload: payload({ to: 'alice' }),
      });
      expect(second.position).toBe(2);
      expect((await store().events.userAfter(alice.id, 1, 10)).map((e) => e.payload.event_seq)).toEqual([2]);
      expect(await store().events.userAfter(bob.id, 1, 10)).toEqual([]);
    });

    it('appends global events with increasing positions and replays those after a position', async () => {
      const first = await store().events.appendGlobal({ kind: 'system_notification', payload: payload({ t: 'a' }) });
      const second = await store().events.appendGlobal({ kind: 'system_notification', payload: payload({ t: 'b' }) });
      expect(second.position).toBeGreaterThan(first.position);
      expect(second.payload).toMatchObject({ t: 'b', event_seq: second.position, event_id: second.id });
      const after = await store().events.globalAfter(first.position, 100);
      expect(after[0]?.id).toBe(second.id);
    });

    it('reports the heads of a user stream and of the global stream', async () => {
      const alice = await make.user();
      const before = await store().events.heads(alice.id);
      expect(before.userSeq).toBe(0);
      await store().events.appendToUser(alice.id, { kind: 'direct_message', payload: payload({}) });
      await store().events.appendToUser(alice.id, { kind: 'direct_message', payload: payload({}) });
      const global = await store().events.appendGlobal({ kind: 'system_notification', payload: payload({}) });
      expect(await store().events.heads(alice.id)).toEqual({ userSeq: 2, globalSeq: global.position });
      // Unknown user: no user stream yet, and the global head is the same for everyone.
      expect(await store().events.heads('00000000-0000-4000-8000-000000000000')).toEqual({
        userSeq: 0,
        globalSeq: global.position,
      });
    });

    it("reports many users' heads at once, as heads reports each, leaving out unknown users", async () => {
      const [alice, bob] = [await make.user(), await make.user()];
      await store().events.appendToUser(alice.id, { kind: 'direct_message', payload: payload({}) });
      const global = await store().events.appendGlobal({ kind: 'system_notification', payload: payload({}) });
      const unknown = '00000000-0000-4000-8000-000000000000';
      const many = await store().events.userHeads([alice.id, bob.id, unknown]);
      expect(many.globalSeq).toBe(global.position);
      expect([...many.userSeqs].sort()).toEqual(
        [
          [alice.id, (await store().events.heads(alice.id)).userSeq],
          [bob.id, 0],
        ].sort(),
      );
      expect(many.userSeqs.get(alice.id)).toBe(1);
      // Only unknown users: still the global head.
      expect(await store().events.userHeads([unknown])).toEqual({ globalSeq: global.position, userSeqs: new Map() });
      expect(await store().events.userHeads([])).toEqual({ globalSeq: 0, userSeqs: new Map() });
    });

    it('refuses events for a conversation or user that does not exist', async () => {
      await expect(
        store().events.appendToConversation('no-such-conversation', { kind: 'read_status', payload: payload({}) }),
      ).rejects.toThrow('does not exist');
      await expect(
        store().events.appendToUser('no-such-user', { kind: 'direct_message', payload: payload({}) }),
      ).rejects.toThrow('does not exist');
    });
  });
}
