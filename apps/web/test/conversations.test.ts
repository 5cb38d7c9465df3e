import { describe, expect, it } from 'vitest';
import type { ConversationSummary } from '../src/lib/api.ts';
import {
  mergeFetchedConversations,
  withMembershipNotice,
  withReadPosition,
  withStoredMessage,
} from '../src/lib/conversations.ts';
import type { ViewMessage } from '../src/lib/messages.ts';

function conversation(id: string, lastSeq: number, unread: number, reads: Record<string, number>): ConversationSummary {
  return {
    id,
    title: id,
    last_seq: lastSeq,
    last_event_seq: 0,
    unread_count: unread,
    last_message: null,
    participants: Object.entries(reads).map(([userId, lastReadSeq]) => ({
      user_id: userId,
      role: 'customer',
      display_name: userId,
      last_read_seq: lastReadSeq,
      online: false,
    })),
  };
}

describe('mergeFetchedConversations', () => {
  it('keeps a read position and a last seq that arrived live while the list was being fetched', () => {
    const current = [conversation('a', 7, 0, { me: 7, consultant: 7 })];
    const fetched = [conversation('a', 6, 1, { me: 6, consultant: 5 })];
    const [a] = mergeFetchedConversations(current, fetched, null);
    expect(a!.last_seq).toBe(7);
    expect(a!.participants.map((p) => [p.user_id, p.last_read_seq])).toEqual([
      ['me', 7],
      ['consultant', 7],
    ]);
  });

  it('takes newer positions, new conversations and unread counts from the response; the open one has none', () => {
    const current = [conversation('a', 2, 0, { me: 2 })];
    const fetched = [conversation('a', 5, 3, { me: 4 }), conversation('b', 1, 1, { me: 0 })];
    const merged = mergeFetchedConversations(current, fetched, 'b');
    expect(merged.map((c) => [c.id, c.last_seq, c.unread_count, c.participants[0]!.last_read_seq])).toEqual([
      ['a', 5, 3, 4],
      ['b', 1, 0, 0],
    ]);
    expect(mergeFetchedConversations(null, fetched, null).map((c) => c.id)).toEqual(['a', 'b']);
  });

  it('drops conversations the response no longer lists', () => {
    const current = [conversation('a', 1, 0, {}), conversation('gone', 1, 0, {})];
    expect(mergeFetchedConversations(current, [conversation('a', 1, 0, {})], null).map((c) => c.id)).toEqual(['a']);
  });
});

function stored(seq: number, senderId: string, at: string): ViewMessage {
  return {
    key: `m-${seq}`,
    id: `m-${seq}`,
    seq,
    senderId,
    type: 'text',
    content: `#${seq}`,
    metadata: null,
    createdAt: new Date(at),
    clientMessageId: null,
  };
}

describe('withStoredMessage', () => {
  it('makes the message the last one, counts it unread unless open or mine, and sorts newest first', () => {
    const list = [conversation('a', 1, 0, {}), conversation('b', 1, 0, {})];
    const afterB = withStoredMessage(list, 'b', stored(2, 'other', '2026-01-02T00:00:00Z'), {
      activeId: 'a',
      me: 'me',
    });
    expect(afterB.map((c) => [c.id, c.last_seq, c.unread_count, c.last_message?.content ?? null])).toEqual([
      ['b', 2, 1, '#2'],
      ['a', 1, 0, null],
    ]);
    const open = withStoredMessage(afterB, 'a', stored(3, 'other', '2026-01-03T00:00:00Z'), {
      activeId: 'a',
      me: 'me',
    });
    const mine = withStoredMessage(open, 'b', stored(4, 'me', '2026-01-04T00:00:00Z'), { activeId: 'a', me: 'me' });
    expect(mine.map((c) => [c.id, c.unread_count])).toEqual([
      ['b', 1],
      ['a', 0],
    ]);
  });
});

describe('withReadPosition', () => {
  it("raises the reader's position only, and sets my unread count when I am the reader", () => {
    const list = [conversation('a', 9, 5, { me: 4, consultant: 6 })];
    const other = withReadPosition(list, 'a', 'consultant', 3, 'me');
    expect(other[0]!.participants.map((p) => p.last_read_seq)).toEqual([4, 6]);
    expect(other[0]!.unread_count).toBe(5);
    const self = withReadPosition(list, 'a', 'me', 7, 'me');
    expect(self[0]!.participants.map((p) => p.last_read_seq)).toEqual([7, 6]);
    expect(self[0]!.unread_count).toBe(2);
  });
});

describe('withMembershipNotice', () => {
  const started = {
    type: 'conversation_started',
    conversationId: 'new',
    eventSeq: 1,
    data: {
      title: '术后咨询',
      participants: [
        { user_id: 'cust', role: 'customer', display_name: '李先生' },
        { user_id: 'me', role: 'consultant', display_name: '张顾问' },
      ],
    },
  };

  it('adds a started consultation at the top from the notice alone, once', () => {
    const list = [conversation('a', 3, 0, { me: 3 })];
    const after = withMembershipNotice(list, started);
    expect(after.map((c) => [c.id, c.title, c.last_event_seq])).toEqual([
      ['new', '术后咨询', 1],
      ['a', 'a', 0],
    ]);
    expect(after[0]!.participants.map((p) => [p.user_id, p.display_name, p.online])).toEqual([
      ['cust', '李先生', false],
      ['me', '张顾问', false],
    ]);
    expect(withMembershipNotice(after, started)).toHaveLength(2);
  });

  it('adds a new member to the conversation, and ignores data of another shape', () => {
    const list = [conversation('a', 3, 0, { me: 3 })];
    const joined = { user_id: 'doc', role: 'doctor', display_name: '刘医生' };
    const after = withMembershipNotice(list, {
      type: 'participant_added',
      conversationId: 'a',
      eventSeq: 2,
      data: joined,
    });
    expect(after[0]!.participants.map((p) => p.user_id)).toEqual(['me', 'doc']);
    expect(
      withMembershipNotice(after, { type: 'participant_added', conversationId: 'a', eventSeq: 3, data: joined })[0]!
        .participants,
    ).toHaveLength(2);
    expect(
      withMembershipNotice(list, { type: 'participant_added', conversationId: 'a', eventSeq: 2, data: { user_id: 1 } }),
    ).toEqual(list);
    expect(withMembershipNotice(list, { ...started, data: { title: 'x', participants: [{}] } })).toEqual(list);
  });

  it('takes a removed member out of the conversation, and the conversation off the list of the one removed', () => {
    const list = [conversation('a', 3, 0, { me: 3, doc: 1 }), conversation('b', 1, 0, { me: 1 })];
    const removed = (userId: string, me: string) =>
      withMembershipNotice(list, {
        type: 'participant_removed',
        conversationId: 'a',
        eventSeq: 6,
        data: { user_id: userId, role: 'doctor', display_name: '刘医生' },
        me,
      });
    expect(removed('doc', 'me').map((c) => [c.id, c.participants.map((p) => p.user_id)])).toEqual([
      ['a', ['me']],
      ['b', ['me']],
    ]);
    expect(removed('me', 'me').map((c) => c.id)).toEqual(['b']);
  });

  it('renames the conversation from a conversation_renamed notice; a notice without a title changes nothing', () => {
    const list = [conversation('a', 3, 0, { me: 3 }), conversation('b', 1, 0, { me: 1 })];
    const renamed = withMembershipNotice(list, {
      type: 'conversation_renamed',
      conversationId: 'b',
      eventSeq: 5,
      data: { title: '术后复诊（第二次）' },
    });
    expect(renamed.map((c) => c.title)).toEqual(['a', '术后复诊（第二次）']);
    expect(
      withMembershipNotice(list, { type: 'conversation_renamed', conversationId: 'b', eventSeq: 5, data: {} }),
    ).toEqual(list);
  });

  it("adds the conversation to the list of the member who joined, from the notice's title and members", () => {
    const list = [conversation('a', 3, 0, { me: 3 })];
    const joinedMe = {
      user_id: 'me',
      role: 'doctor',
      display_name: '刘医生',
      title: '术后咨询',
      participants: [...started.data.participants, { user_id: 'me', role: 'doctor', display_name: '刘医生' }],
    };
    const notice = { type: 'participant_added', conversationId: 'new', eventSeq: 4, data: joinedMe };
    const after = withMembershipNotice(list, notice);
    expect(after.map((c) => [c.id, c.title, c.last_event_seq, c.participants.length])).toEqual([
      ['new', '术后咨询', 4, 3],
      ['a', 'a', 0, 1],
    ]);
    expect(withMembershipNotice(after, notice)).toEqual(after);
    // An older server's notice (who joined only) cannot make a list entry: nothing changes.
    const { title: _, participants: __, ...bare } = joinedMe;
    expect(withMembershipNotice(list, { ...notice, data: bare })).toEqual(list);
  });
});
