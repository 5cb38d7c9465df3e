import { and, asc, desc, eq, getTableColumns, gt, inArray, ne, sql } from 'drizzle-orm';
import { searchConversations } from './conversation-search.ts';
import type { Db } from './db-common.ts';
import { conversationEventHeads, conversations, messages, participants, users } from './schema.ts';
import type { ConversationRow, ConversationSummary, Store } from './store-types.ts';

/** A conversation's event stream head, from a left join of conversation_event_heads (no row = 0). */
const lastEventSeq = sql<number>`coalesce(${conversationEventHeads.lastEventSeq}, 0)`.mapWith(Number);
/** A conversation's columns and its event stream's head. */
const conversationWithHead = { ...getTableColumns(conversations), lastEventSeq };

export function createConversationsRepo(db: Db): Store['conversations'] {
  return {
    async create({ title, createdBy, participants: members }): Promise<ConversationRow> {
      return db.transaction(async (tx) => {
        const [conversation] = await tx.insert(conversations).values({ title, createdBy }).returning();
        if (members.length > 0) {
          await tx
            .insert(participants)
            .values(members.map((m) => ({ conversationId: conversation!.id, userId: m.userId, role: m.role })))
            // A user listed twice keeps the first role instead of failing the whole creation.
            .onConflictDoNothing();
        }
        return { ...conversation!, lastEventSeq: 0 };
      });
    },

    async findById(id) {
      const [row] = await db
        .select(conversationWithHead)
        .from(conversations)
        .leftJoin(conversationEventHeads, eq(conversationEventHeads.conversationId, conversations.id))
        .where(eq(conversations.id, id))
        .limit(1);
      return row ?? null;
    },

    /**
     * Three queries whatever the number of conversations: (1) my conversations joined to their
     * newest message (seq = last_seq) and sorted by activity, (2) all their participants with
     * display names, (3) unread counts grouped by conversation.
     */
    async listForUser(userId): Promise<ConversationSummary[]> {
      const mine = await db
        .select({
          conversation: conversations,
          lastEventSeq,
          lastMessage: messages,
        })
        .from(participants)
        .innerJoin(conversations, eq(conversations.id, participants.conversationId))
        .leftJoin(conversationEventHeads, eq(conversationEventHeads.conversationId, conversations.id))
        .leftJoin(messages, and(eq(messages.conversationId, conversations.id), eq(messages.seq, conversations.lastSeq)))
        .where(eq(participants.userId, userId))
        .orderBy(desc(conversations.activitySeq));
      if (mine.length === 0) return [];

      const ids = mine.map((r) => r.conversation.id);
      const members = await db
        .select({
          conversationId: participants.conversationId,
          userId: participants.userId,
          role: participants.role,
          displayName: users.displayName,
          lastReadSeq: participants.lastReadSeq,
        })
        .from(participants)
        .innerJoin(users, eq(users.id, participants.userId))
        .where(inArray(participants.conversationId, ids))
        .orderBy(asc(participants.joinedAt), asc(participants.userId));

      const unread = await db
        .select({ conversationId: messages.conversationId, count: sql<number>`count(*)::int`.mapWith(Number) })
        .from(messages)
        .innerJoin(
          participants,
          and(eq(participants.conversationId, messages.conversationId), eq(participants.userId, userId)),
        )
        .where(
          and(
            inArray(messages.conversationId, ids),
            ne(messages.senderId, userId),
            gt(messages.seq, participants.lastReadSeq),
          ),
        )
        .groupBy(messages.conversationId);
      const unreadById = new Map(unread.map((u) => [u.conversationId, u.count]));
      const membersById = new Map<string, ConversationSummary['participants']>();
      for (const { conversationId, ...member } of members) {
        const list = membersById.get(conversationId) ?? [];
        list.push(member);
        membersById.set(conversationId, list);
      }

      return mine.map(({ conversation, lastEventSeq, lastMessage }) => ({
        ...conversation,
        lastEventSeq,
        participants: membersById.get(conversation.id) ?? [],
        lastMessage,
        unreadCount: unreadById.get(conversation.id) ?? 0,
      }));
    },

    async participants(conversationId) {
      return db
        .select()
        .from(participants)
        .where(eq(participants.conversationId, conversationId))
        .orderBy(asc(participants.joinedAt), asc(participants.userId));
    },

    async isParticipant(conversationId, userId) {
      const [row] = await db
        .select({ userId: participants.userId })
        .from(participants)
        .where(and(eq(participants.conversationId, conversationId), eq(participants.userId, userId)))
        .limit(1);
      return row !== undefined;
    },

    async addParticipant(conversationId, userId, role) {
      // ON CONFLICT DO NOTHING keeps the existing row (role, joinedAt, lastReadSeq) untouched.
      await db.insert(participants).values({ conversationId, userId, role }).onConflictDoNothing();
    },

    async sharingWith(userId, candidates) {
      if (candidates.length === 0) return [];
      const mine = db
        .select({ id: participants.conversationId })
        .from(participants)
        .where(eq(participants.userId, userId));
      const rows = await db
        .selectDistinct({ userId: participants.userId })
        .from(participants)
        .where(and(inArray(participants.conversationId, mine), inArray(participants.userId, [...candidates])));
      return rows.map((r) => r.userId);
    },

    search: (query, limit) => searchConversations(db, query, limit),

    async removeParticipant(conversationId, userId) {
      const rows = await db
        .delete(participants)
        .where(and(eq(participants.conversationId, conversationId), eq(participants.userId, userId)))
        .returning({ userId: participants.userId });
      return rows.length > 0;
    },

    async rename(conversationId, title) {
      const rows = await db
        .update(conversations)
        .set({ title })
        .where(eq(conversations.id, conversationId))
        .returning({ id: conversations.id });
      return rows.length > 0;
    },
  };
}
