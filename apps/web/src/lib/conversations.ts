import type { ConversationSummary } from './api.ts';

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
