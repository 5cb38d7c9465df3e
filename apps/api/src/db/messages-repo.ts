import { and, asc, desc, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import { type Db, pgErrorCode, UNIQUE_VIOLATION } from './db-common.ts';
import { conversations, messages, participants } from './schema.ts';
import type { AppendMessageInput, AppendMessageResult, HistoryQuery, MessageRow, Store } from './store-types.ts';

/** History page size: default 50, clamped to 1..200 (LIMITS.historyPageMax in @anmei/protocol). */
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 200;

export function clampHistoryLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return HISTORY_DEFAULT_LIMIT;
  return Math.min(HISTORY_MAX_LIMIT, Math.max(1, Math.trunc(limit)));
}

/** Thrown inside the append transaction to roll back the seq increment when the key was already used. */
class AlreadyStored extends Error {
  constructor(readonly original: MessageRow) {
    super('clientMessageId already stored');
  }
}

async function findByClientId(db: Db, senderId: string, clientMessageId: string): Promise<MessageRow | null> {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.senderId, senderId), eq(messages.clientMessageId, clientMessageId)))
    .limit(1);
  return row ?? null;
}

function classify(original: MessageRow, input: AppendMessageInput): AppendMessageResult {
  return original.conversationId === input.conversationId
    ? { status: 'duplicate', message: original }
    : { status: 'conflict', existingConversationId: original.conversationId };
}

export function createMessagesRepo(db: Db): Store['messages'] {
  return {
    /**
     * One transaction: bump conversations.last_seq (the UPDATE's row lock serialises appends to a
     * conversation), look for the idempotency key, insert with the new seq. Finding the key throws
     * so the bump is rolled back and no seq is burned. READ COMMITTED is pinned because it lets the
     * look-up, run after waiting for the lock, see the message a concurrent twin just committed.
     */
    async append(input) {
      const { conversationId, senderId, clientMessageId } = input;
      try {
        return await db.transaction(
          async (tx) => {
            const [bumped] = await tx
              .update(conversations)
              .set({
                lastSeq: sql`${conversations.lastSeq} + 1`,
                activitySeq: sql`nextval('conversation_activity_seq')`,
              })
              .where(eq(conversations.id, conversationId))
              .returning({ seq: conversations.lastSeq });
            if (!bumped) throw new Error(`conversation ${conversationId} does not exist`);

            if (clientMessageId !== null) {
              const original = await findByClientId(tx, senderId, clientMessageId);
              if (original) throw new AlreadyStored(original);
            }

            const [message] = await tx
              .insert(messages)
              .values({
                conversationId,
                seq: bumped.seq,
                senderId,
                clientMessageId,
                messageType: input.messageType,
                content: input.content,
                metadata: input.metadata ?? null,
              })
              .returning();
            return { status: 'created', message: message! } satisfies AppendMessageResult;
          },
          { isolationLevel: 'read committed' },
        );
      } catch (err) {
        if (err instanceof AlreadyStored) return classify(err.original, input);
        // Same key raced in from ANOTHER conversation (a different row lock, so no serialisation):
        // the unique (sender_id, client_message_id) constraint rejected us; report the winner.
        if (clientMessageId !== null && pgErrorCode(err) === UNIQUE_VIOLATION) {
          const original = await findByClientId(db, senderId, clientMessageId);
          if (original) return classify(original, input);
        }
        throw err;
      }
    },

    /**
     * Ascending by seq. afterSeq → the oldest `limit` above it (catch-up; beforeSeq, if also
     * given, is an upper bound). Otherwise the newest `limit` (below beforeSeq when given).
     */
    async history(conversationId, query: HistoryQuery = {}) {
      const limit = clampHistoryLimit(query.limit);
      const where = and(
        eq(messages.conversationId, conversationId),
        query.beforeSeq !== undefined ? lt(messages.seq, query.beforeSeq) : undefined,
        query.afterSeq !== undefined ? gt(messages.seq, query.afterSeq) : undefined,
      );
      if (query.afterSeq !== undefined) {
        return db.select().from(messages).where(where).orderBy(asc(messages.seq)).limit(limit);
      }
      const newestFirst = await db.select().from(messages).where(where).orderBy(desc(messages.seq)).limit(limit);
      return newestFirst.reverse();
    },

    async findByIds(conversationId, ids) {
      if (ids.length === 0) return [];
      return db
        .select()
        .from(messages)
        .where(and(eq(messages.conversationId, conversationId), inArray(messages.id, [...ids])))
        .orderBy(asc(messages.seq));
    },

    /** GREATEST keeps the position monotonic; LEAST clamps it to the conversation's last_seq. */
    async markRead(conversationId, userId, upToSeq) {
      const target = Number.isFinite(upToSeq) ? Math.floor(upToSeq) : 0;
      const lastSeq = db
        .select({ lastSeq: conversations.lastSeq })
        .from(conversations)
        .where(eq(conversations.id, conversationId));
      const [row] = await db
        .update(participants)
        .set({ lastReadSeq: sql`greatest(${participants.lastReadSeq}, least(${target}::int, (${lastSeq})))` })
        .where(and(eq(participants.conversationId, conversationId), eq(participants.userId, userId)))
        .returning({ lastReadSeq: participants.lastReadSeq });
      return row?.lastReadSeq ?? 0;
    },
  };
}
