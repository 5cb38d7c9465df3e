/** The conversation list's search box (issue #17, item 6): title, participant names and last message. */
import { describe, expect, it } from 'vitest';
import type { ConversationSummary, WireMessage } from '../src/lib/api.ts';
import { filterConversations } from '../src/lib/conversation-search.ts';

type Row = Pick<ConversationSummary, 'title' | 'participants' | 'last_message'>;

function person(name: string, role: 'customer' | 'consultant' | 'doctor') {
  return { user_id: `${role}-${name}`, role, display_name: name, last_read_seq: 0, online: false };
}

function last(type: WireMessage['message_type'], content: string): WireMessage {
  return {
    id: `m-${content}`,
    conversation_id: 'c',
    seq: 1,
    sender_id: 's',
    client_message_id: null,
    message_type: type,
    content,
    metadata: null,
    created_at: '2026-12-03T09:00:00Z',
  } as WireMessage;
}

const face: Row = {
  title: '王小姐的面部护理咨询',
  participants: [person('王小姐', 'customer'), person('张顾问', 'consultant')],
  last_message: last('text', '最近皮肤比较干燥'),
};
const followUp: Row = {
  title: '李先生的术后复诊',
  participants: [person('李先生', 'customer'), person('张顾问', 'consultant'), person('刘医生', 'doctor')],
  last_message: last('image', 'IMG_0001.jpg'),
};
const english: Row = {
  title: 'Botox follow-up',
  participants: [person('Anna Lee', 'customer')],
  last_message: last('file', '术前须知.pdf'),
};
const list = [face, followUp, english];

describe('filterConversations', () => {
  it('returns the whole list, in order, for an empty or blank query', () => {
    expect(filterConversations(list, '')).toEqual(list);
    expect(filterConversations(list, '   ')).toEqual(list);
  });

  it('matches the title, a participant name or the last message preview', () => {
    expect(filterConversations(list, '复诊')).toEqual([followUp]);
    expect(filterConversations(list, '刘医生')).toEqual([followUp]);
    expect(filterConversations(list, '干燥')).toEqual([face]);
    expect(filterConversations(list, '张顾问')).toEqual([face, followUp]);
  });

  it('searches what the list shows for attachments ([图片], [文件] name), not the stored file name', () => {
    expect(filterConversations(list, '图片')).toEqual([followUp]);
    expect(filterConversations(list, 'IMG_0001')).toEqual([]);
    expect(filterConversations(list, '术前须知')).toEqual([english]);
  });

  it('ignores case and full-width letters, and needs every word to match somewhere', () => {
    expect(filterConversations(list, 'BOTOX')).toEqual([english]);
    expect(filterConversations(list, 'ａｎｎａ')).toEqual([english]);
    expect(filterConversations(list, '王小姐 干燥')).toEqual([face]);
    expect(filterConversations(list, '王小姐 复诊')).toEqual([]);
  });
});
