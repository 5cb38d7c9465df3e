import { and, asc, desc, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import { AppendBatcher } from './append-batcher.ts';
import { type AppendStatements, prepareAppendStatements } from './append-statement.ts';
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

function classify(original: MessageRow, input: AppendMessageInput): AppendMessageResult {
  return original.conversationId === input.conversationId
    ? { status: 'duplicate', message: original }
    : { status: 'conflict', existingConversationId: original.conversationId };
}

/**
 * One append through the single-row prepared statement, one round trip in the common case (see
 * append-statement.ts): skip if the idempotency key is already stored, else bump
 * conversations.last_seq and insert with the new seq. Only when nothing was inserted does a
 * second query find out why.
 */
async function appendOne(statements: AppendStatements, input: AppendMessageInput): Promise<AppendMessageResult> {
  const { conversationId, senderId, clientMessageId } = input;
  let inserted: MessageRow | null;
  try {
    inserted = await statements.insert(input);
  } catch (err) {
    // A twin with the same key committed after this statement's snapshot: in this conversation
    // (it held the row lock we waited for) or in another one (a different lock, no
    // serialisation). The unique (sender_id, client_message_id) constraint rejected us and the
    // bump rolled back with the statement; report the winner.
    if (clientMessageId !== null && pgErrorCode(err) === UNIQUE_VIOLATION) {
      const original = await statements.findByClientId(senderId, clientMessageId);
      if (original) return classify(original, input);
    }
    throw err;
  }
  if (inserted) return { status: 'created', message: inserted };

  // Nothing inserted: the key was already stored, or the conversation does not exist.
  const original = clientMessageId === null ? null : await statements.findByClientId(senderId, clientMessageId);
  // A key stored in another conversation is a conflict only if this conversation exists
  // (the statement skipped the conversation entirely, so that is still unknown).
  if (
    original &&
    (original.conversationId === conversationId || (await statements.conversationExists(conversationId)))
  ) {
    return classify(original, input);
  }
  throw new Error(`conversation ${conversationId} does not exist`);
}

export function createMessagesRepo(db: Db): Store['messages'] {
  const statements = prepareAppendStatements(db);
  // Appends of one event-loop turn share one statement (group commit); see append-batcher.ts.
  const batcher = new AppendBatcher({
    insertMany: (inputs) => statements.insertMany(inputs),
    appendOne: (input) => appendOne(statements, input),
  });
  return {
    append: (input) => batcher.append(input),

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
