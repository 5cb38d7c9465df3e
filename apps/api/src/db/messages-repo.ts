import { and, asc, desc, eq, gt, lt } from 'drizzle-orm';
import type { Db } from './db-common.ts';
import { createMessageAppender } from './message-append.ts';
import { createReadRecorder } from './read-receipt.ts';
import { messages } from './schema.ts';
import type { StoreOptions } from './store.ts';
import type { HistoryQuery, Store } from './store-types.ts';

/** History page size: default 50, clamped to 1..200 (LIMITS.historyPageMax in @anmei/protocol). */
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 200;

export function clampHistoryLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return HISTORY_DEFAULT_LIMIT;
  return Math.min(HISTORY_MAX_LIMIT, Math.max(1, Math.trunc(limit)));
}

export function createMessagesRepo(db: Db, options: StoreOptions = {}): Store['messages'] {
  const spacingMs = options.batchWindowMs ?? 0;
  return {
    // Group-committed, one prepared statement per batch: see message-append.ts.
    append: createMessageAppender(db, {
      spacingMs,
      ...(options.onAppendBatch ? { onBatch: options.onAppendBatch } : {}),
    }),

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

    // One statement per batch of reads: the look-up, the position and the read_status event (read-receipt.ts).
    recordRead: createReadRecorder(db, { spacingMs }),
  };
}
