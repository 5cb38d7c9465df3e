import { describe, expect, it } from 'vitest';
import type { ConversationSummary } from '../src/lib/api.ts';
import { watchedUsers, withPresence } from '../src/lib/presence.ts';

function conversation(id: string, people: string[]): ConversationSummary {
  return {
    id,
    title: id,
    last_seq: 0,
    last_event_seq: 0,
    unread_count: 0,
    last_message: null,
    participants: people.map((userId) => ({
      user_id: userId,
      role: 'customer',
      display_name: userId,
      last_read_seq: 0,
      online: false,
    })),
  };
}

describe('watchedUsers', () => {
  it('lists every other participant of the list once, sorted, and nobody for no list', () => {
    const list = [conversation('a', ['me', 'zhang', 'liu']), conversation('b', ['me', 'zhang', 'wang'])];
    expect(watchedUsers(list, 'me')).toEqual(['liu', 'wang', 'zhang']);
    expect(watchedUsers(null, 'me')).toEqual([]);
  });
});

describe('withPresence', () => {
  it('sets the online flag of the named users in every conversation they are in, and leaves the others as they were', () => {
    const list = [
      conversation('a', ['me', 'zhang']),
      conversation('b', ['me', 'zhang', 'wang']),
      conversation('c', ['me']),
    ];
    const next = withPresence(list, [{ userId: 'zhang', online: true }])!;
    expect(next.map((c) => c.participants.filter((p) => p.online).map((p) => p.user_id))).toEqual([
      ['zhang'],
      ['zhang'],
      [],
    ]);
    // Untouched conversations keep their identity (React skips them).
    expect(next[2]).toBe(list[2]);
    expect(list[0]!.participants[1]!.online).toBe(false);
  });

  it('returns the same list when nothing changes, so a repeated frame causes no render', () => {
    const list = [conversation('a', ['me', 'zhang'])];
    expect(withPresence(list, [{ userId: 'zhang', online: false }])).toBe(list);
    expect(withPresence(list, [{ userId: 'stranger', online: true }])).toBe(list);
    expect(withPresence(null, [{ userId: 'zhang', online: true }])).toBeNull();
  });
});
