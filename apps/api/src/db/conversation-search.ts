/**
 * The admin's conversation search (GET /api/v1/admin/conversations): a case-insensitive substring
 * of the title, or of a participant's display name or username. The text is a bound parameter
 * (never spliced into SQL) and its LIKE wildcards are escaped, so `%` and `_` match themselves.
 * Two queries: the matching conversations (newest activity first, at most `limit`), then their
 * participants.
 */
import type { Role } from '@anmei/protocol';
import { and, asc, desc, eq, exists, ilike, inArray, or } from 'drizzle-orm';
import type { Db } from './db-common.ts';
import { conversations, participants, users } from './schema.ts';
import type { ConversationRow } from './store-types.ts';

export interface ConversationMatch extends Pick<ConversationRow, 'id' | 'title' | 'createdAt' | 'lastSeq'> {
  participants: Array<{ userId: string; username: string; displayName: string; role: Role }>;
}

/** `%text%` for LIKE, with `\`, `%` and `_` escaped (backslash is LIKE's default escape character). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function searchConversations(db: Db, query: string, limit: number): Promise<ConversationMatch[]> {
  const text = query.trim();
  const pattern = containsPattern(text);
  const byParticipant = db
    .select({ one: participants.userId })
    .from(participants)
    .innerJoin(users, eq(users.id, participants.userId))
    .where(
      and(
        eq(participants.conversationId, conversations.id),
        or(ilike(users.displayName, pattern), ilike(users.username, pattern)),
      ),
    );
  const found = await db
    .select({
      id: conversations.id,
      title: conversations.title,
      createdAt: conversations.createdAt,
      lastSeq: conversations.lastSeq,
    })
    .from(conversations)
    .where(text === '' ? undefined : or(ilike(conversations.title, pattern), exists(byParticipant)))
    .orderBy(desc(conversations.activitySeq))
    .limit(limit);
  if (found.length === 0) return [];

  const members = await db
    .select({
      conversationId: participants.conversationId,
      userId: participants.userId,
      username: users.username,
      displayName: users.displayName,
      role: participants.role,
    })
    .from(participants)
    .innerJoin(users, eq(users.id, participants.userId))
    .where(
      inArray(
        participants.conversationId,
        found.map((c) => c.id),
      ),
    )
    .orderBy(asc(participants.joinedAt), asc(participants.userId));
  const byConversation = new Map<string, ConversationMatch['participants']>();
  for (const { conversationId, ...member } of members) {
    const list = byConversation.get(conversationId) ?? [];
    list.push(member);
    byConversation.set(conversationId, list);
  }
  return found.map((c) => ({ ...c, participants: byConversation.get(c.id) ?? [] }));
}
