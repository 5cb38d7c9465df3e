/**
 * Durable event streams (see Store['events']). Conversation and user streams take their next
 * position by bumping a counter column in the same transaction as the insert (the row lock
 * serialises writers, so positions have no gaps); the global stream uses an identity column.
 */
import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Db } from './db-common.ts';
import { decisionRow } from './push-jobs-repo.ts';
import {
  conversationEventHeads,
  conversationEvents,
  conversations,
  globalEvents,
  participants,
  pushJobs,
  userEvents,
  users,
} from './schema.ts';
import type { Store, StoredEvent, StreamHeads } from './store-types.ts';

const newId = () => crypto.randomUUID();

export function createEventsRepo(db: Db): Store['events'] {
  // Asked on every WebSocket connect: one prepared round trip for both heads, no SQL built per call.
  const headsStatement = db
    .select({
      userSeq: sql<string>`coalesce((select ${users.lastEventSeq} from ${users} where ${users.id} = ${sql.placeholder('userId')}), 0)::int8`,
      globalSeq: sql<string>`coalesce((select max(${globalEvents.seq}) from ${globalEvents}), 0)::int8`,
    })
    .from(sql`(select 1) as one`)
    .prepare('anmei_events_heads');
  // The heads of one event-loop turn's registrations (ResumeService.heads), in one prepared
  // statement: the ids arrive as one JSON array (one parameter, the same on pg and PGlite). Built
  // per call with drizzle and split in two statements it was ~14 % of a connect's server CPU
  // (docs/benchmarks.md, goal 2). The global head rides on every row, and on the one row with a
  // null user when none of the ids is known.
  const userHeadsStatement = db
    .select({
      userId: users.id,
      userSeq: users.lastEventSeq,
      globalSeq: sql<string>`coalesce((select max(${globalEvents.seq}) from ${globalEvents}), 0)::int8`,
    })
    .from(sql`(select 1) as one`)
    .leftJoin(users, sql`${users.id} in (select json_array_elements_text(${sql.placeholder('userIds')}::json))`)
    .prepare('anmei_events_user_heads');
  // Asked by every `resume` (each reconnect): prepared once, like the heads. Building these
  // queries with drizzle per call was ~7 % of an instance's CPU in a reconnect storm.
  const userAfterStatement = db
    .select()
    .from(userEvents)
    .where(and(eq(userEvents.userId, sql.placeholder('userId')), gt(userEvents.seq, sql.placeholder('after'))))
    .orderBy(asc(userEvents.seq))
    .limit(sql.placeholder('limit'))
    .prepare('anmei_events_user_after');
  const globalAfterStatement = db
    .select()
    .from(globalEvents)
    .where(gt(globalEvents.seq, sql.placeholder('after')))
    .orderBy(asc(globalEvents.seq))
    .limit(sql.placeholder('limit'))
    .prepare('anmei_events_global_after');

  return {
    async appendToConversation(conversationId, event) {
      return db.transaction(async (tx) => {
        // The stream's head row is created by the conversation's first event; its lock orders writers.
        const [bumped] = await tx
          .insert(conversationEventHeads)
          .select(
            tx
              .select({ conversationId: conversations.id, lastEventSeq: sql<number>`1`.as('last_event_seq') })
              .from(conversations)
              .where(eq(conversations.id, conversationId)),
          )
          .onConflictDoUpdate({
            target: conversationEventHeads.conversationId,
            set: { lastEventSeq: sql`${conversationEventHeads.lastEventSeq} + 1` },
          })
          .returning({ seq: conversationEventHeads.lastEventSeq });
        if (!bumped) throw new Error(`conversation ${conversationId} does not exist`);
        const id = newId();
        const [row] = await tx
          .insert(conversationEvents)
          .values({
            id,
            conversationId,
            eventSeq: bumped.seq,
            kind: event.kind,
            payload: event.payload(bumped.seq, id),
            deviceTypes: event.deviceTypes ?? null,
            excludeUserId: event.excludeUserId ?? null,
          })
          .returning();
        // The push decision, keyed by the event, in the event's own transaction.
        if (event.push) await tx.insert(pushJobs).values(decisionRow(`event:${id}`, { ...event.push, conversationId }));
        return toStored(row!, row!.eventSeq);
      });
    },

    async conversationAfter(conversationId, after, limit) {
      const rows = await db
        .select()
        .from(conversationEvents)
        .where(and(eq(conversationEvents.conversationId, conversationId), gt(conversationEvents.eventSeq, after)))
        .orderBy(asc(conversationEvents.eventSeq))
        .limit(limit);
      return rows.map((r) => toStored(r, r.eventSeq));
    },

    async appendToUser(userId, event) {
      return db.transaction(async (tx) => {
        const [bumped] = await tx
          .update(users)
          .set({ lastEventSeq: sql`${users.lastEventSeq} + 1` })
          .where(eq(users.id, userId))
          .returning({ seq: users.lastEventSeq });
        if (!bumped) throw new Error(`user ${userId} does not exist`);
        const id = newId();
        const [row] = await tx
          .insert(userEvents)
          .values({ id, userId, seq: bumped.seq, kind: event.kind, payload: event.payload(bumped.seq, id) })
          .returning();
        if (event.push) await tx.insert(pushJobs).values(decisionRow(`event:${id}`, { ...event.push, userId }));
        return toStored(row!, row!.seq);
      });
    },

    async userAfter(userId, after, limit) {
      const rows = await userAfterStatement.execute({ userId, after, limit });
      return rows.map((r) => toStored(r, r.seq));
    },

    async appendGlobal(event) {
      return db.transaction(async (tx) => {
        // The identity value is only known after the insert; write the payload in a second step.
        const id = newId();
        const [inserted] = await tx
          .insert(globalEvents)
          .values({ id, kind: event.kind, payload: {} })
          .returning({ seq: globalEvents.seq });
        const seq = inserted!.seq;
        const [row] = await tx
          .update(globalEvents)
          .set({ payload: event.payload(seq, id) })
          .where(eq(globalEvents.seq, seq))
          .returning();
        return toStored(row!, seq);
      });
    },

    async heads(userId) {
      const [row] = await headsStatement.execute({ userId });
      return { userSeq: Number(row?.userSeq ?? 0), globalSeq: Number(row?.globalSeq ?? 0) };
    },

    async userHeads(userIds) {
      const userSeqs = new Map<string, number>();
      if (userIds.length === 0) return { globalSeq: 0, userSeqs };
      const rows = await userHeadsStatement.execute({ userIds: JSON.stringify(userIds) });
      for (const row of rows) if (row.userId !== null) userSeqs.set(row.userId, Number(row.userSeq));
      return { globalSeq: Number(rows[0]?.globalSeq ?? 0), userSeqs };
    },

    async headsOf(userIds) {
      const heads: StreamHeads = { globalSeq: 0, users: new Map() };
      if (userIds.length === 0) return heads;
      const ids = [...userIds];
      const [streams, global] = await Promise.all([
        db
          .select({
            userId: users.id,
            userSeq: users.lastEventSeq,
            conversationId: conversations.id,
            lastSeq: conversations.lastSeq,
            lastEventSeq: conversationEventHeads.lastEventSeq,
          })
          .from(users)
          .leftJoin(participants, eq(participants.userId, users.id))
          .leftJoin(conversations, eq(conversations.id, participants.conversationId))
          .leftJoin(conversationEventHeads, eq(conversationEventHeads.conversationId, conversations.id))
          .where(inArray(users.id, ids)),
        db.select({ seq: sql<string>`coalesce(max(${globalEvents.seq}), 0)::int8` }).from(globalEvents),
      ]);
      heads.globalSeq = Number(global[0]?.seq ?? 0);
      for (const row of streams) {
        let user = heads.users.get(row.userId);
        if (!user) {
          user = { userSeq: row.userSeq, conversations: [] };
          heads.users.set(row.userId, user);
        }
        if (row.conversationId !== null) {
          user.conversations.push({
            conversationId: row.conversationId,
            lastSeq: row.lastSeq ?? 0,
            lastEventSeq: row.lastEventSeq ?? 0,
          });
        }
      }
      return heads;
    },

    async globalAfter(after, limit) {
      const rows = await globalAfterStatement.execute({ after, limit });
      return rows.map((r) => toStored(r, r.seq));
    },
  };
}

function toStored(
  row: {
    id: string;
    kind: string;
    payload: Record<string, unknown>;
    createdAt: Date;
    deviceTypes?: StoredEvent['deviceTypes'];
    excludeUserId?: string | null;
  },
  position: number,
): StoredEvent {
  return {
    id: row.id,
    kind: row.kind,
    position,
    payload: row.payload,
    createdAt: row.createdAt,
    ...(row.deviceTypes !== undefined ? { deviceTypes: row.deviceTypes } : {}),
    ...(row.excludeUserId !== undefined ? { excludeUserId: row.excludeUserId } : {}),
  };
}
