import type { ConversationSummary } from './api.ts';
import type { ViewMessage } from './messages.ts';

/**
 * The conversation list after a refresh over HTTP. The fetched list is the truth for what it
 * lists, except positions that only grow: a `read_status` or a message delivered live while the
 * request was in flight may be newer than the response, and must not be rolled back (a sender
 * would lose a "read" receipt until the next refresh). The open conversation has no unread
 * messages: it is being read right now.
 */
export function mergeFetchedConversations(
  current: readonly ConversationSummary[] | null,
  fetched: readonly ConversationSummary[],
  activeId: string | null,
): ConversationSummary[] {
  const known = new Map((current ?? []).map((c) => [c.id, c]));
  return fetched.map((c) => {
    const before = known.get(c.id);
    const readSeq = new Map(before?.participants.map((p) => [p.user_id, p.last_read_seq]) ?? []);
    return {
      ...c,
      last_seq: Math.max(c.last_seq, before?.last_seq ?? 0),
      unread_count: c.id === activeId ? 0 : c.unread_count,
      participants: c.participants.map((p) => ({
        ...p,
        last_read_seq: Math.max(p.last_read_seq, readSeq.get(p.user_id) ?? 0),
      })),
    };
  });
}

/**
 * The list after a message was stored in one of its conversations: that conversation gets it as
 * its last message (and one more unread, unless it is open or the message is mine), and the list
 * is sorted newest first. A conversation not in the list is left to the caller (refresh it).
 */
export function withStoredMessage(
  list: readonly ConversationSummary[],
  conversationId: string,
  message: ViewMessage,
  view: { activeId: string | null; me: string },
): ConversationSummary[] {
  const updated = list.map((c) => {
    if (c.id !== conversationId) return c;
    const unread =
      conversationId === view.activeId || message.senderId === view.me ? c.unread_count : c.unread_count + 1;
    return {
      ...c,
      last_seq: Math.max(c.last_seq, message.seq ?? 0),
      unread_count: unread,
      last_message: {
        id: message.id ?? '',
        conversation_id: conversationId,
        seq: message.seq ?? 0,
        sender_id: message.senderId,
        client_message_id: message.clientMessageId,
        message_type: message.type,
        content: message.content,
        metadata: message.metadata,
        created_at: message.createdAt.toISOString(),
      },
    };
  });
  return updated.sort((a, b) => (b.last_message?.created_at ?? '').localeCompare(a.last_message?.created_at ?? ''));
}

/**
 * The list after a `read_status`: the reader's read position only grows; when the reader is me,
 * my unread count follows from it.
 */
export function withReadPosition(
  list: readonly ConversationSummary[],
  conversationId: string,
  userId: string,
  lastReadSeq: number,
  me: string,
): ConversationSummary[] {
  return list.map((c) =>
    c.id !== conversationId
      ? c
      : {
          ...c,
          unread_count: userId === me ? Math.max(0, c.last_seq - lastReadSeq) : c.unread_count,
          participants: c.participants.map((p) =>
            p.user_id === userId ? { ...p, last_read_seq: Math.max(p.last_read_seq, lastReadSeq) } : p,
          ),
        },
  );
}

/** What a `conversation_started`, `participant_added`, `participant_removed` or `conversation_renamed` notice carries in its `data`. */
export interface NoticeData {
  title?: unknown;
  participants?: unknown;
  user_id?: unknown;
  role?: unknown;
  display_name?: unknown;
}

type Participant = ConversationSummary['participants'][number];

function participantOf(value: unknown): Participant | null {
  if (typeof value !== 'object' || value === null) return null;
  const p = value as NoticeData;
  if (typeof p.user_id !== 'string' || typeof p.role !== 'string' || typeof p.display_name !== 'string') return null;
  return {
    user_id: p.user_id,
    role: p.role as Participant['role'],
    display_name: p.display_name,
    last_read_seq: 0,
    online: false,
  };
}

/** A conversation new to the list, from a notice's `title` and `participants`; null if they are missing or malformed. */
function conversationFromNotice(conversationId: string, eventSeq: number, data: NoticeData | undefined) {
  if (typeof data?.title !== 'string' || !Array.isArray(data.participants)) return null;
  const participants = data.participants.map(participantOf);
  if (participants.length === 0 || participants.some((p) => p === null)) return null;
  const added: ConversationSummary = {
    id: conversationId,
    title: data.title,
    last_seq: 0,
    last_event_seq: eventSeq,
    unread_count: 0,
    last_message: null,
    participants: participants as Participant[],
  };
  return added;
}

/**
 * The list after a server notice about a conversation's membership, applied from the frame
 * alone (no list request): `conversation_started` adds the conversation when it is new to the
 * list (at the top, nothing read yet); `participant_added` adds the participant to it, or — for
 * the one who just joined, whose list does not have it yet — adds the conversation from the
 * notice's title and members; `participant_removed` takes the participant out (the conversation,
 * when it is me); `conversation_renamed` gives it its new title. Other notices, and
 * data that does not have the documented shape, leave the list as it is.
 */
export function withMembershipNotice(
  list: readonly ConversationSummary[],
  notice: {
    type: string;
    conversationId: string;
    eventSeq: number;
    data: NoticeData | undefined;
    /** My user id: a `participant_removed` of me takes the conversation off my list. */
    me?: string;
  },
): ConversationSummary[] {
  const { type, conversationId, data } = notice;
  const known = list.some((c) => c.id === conversationId);
  if (type === 'conversation_started' || (type === 'participant_added' && !known)) {
    const added = known ? null : conversationFromNotice(conversationId, notice.eventSeq, data);
    return added ? [added, ...list] : [...list];
  }
  if (type === 'participant_removed') {
    const left = data?.user_id;
    if (typeof left !== 'string') return [...list];
    if (left === notice.me) return list.filter((c) => c.id !== conversationId);
    return list.map((c) =>
      c.id === conversationId ? { ...c, participants: c.participants.filter((p) => p.user_id !== left) } : c,
    );
  }
  if (type === 'conversation_renamed') {
    const title = data?.title;
    if (typeof title !== 'string' || title === '') return [...list];
    return list.map((c) => (c.id === conversationId ? { ...c, title } : c));
  }
  if (type === 'participant_added') {
    const joined = participantOf(data);
    if (!joined) return [...list];
    return list.map((c) =>
      c.id !== conversationId || c.participants.some((p) => p.user_id === joined.user_id)
        ? c
        : { ...c, participants: [...c.participants, joined] },
    );
  }
  return [...list];
}
