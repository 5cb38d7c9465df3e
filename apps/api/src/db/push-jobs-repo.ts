/**
 * The push queue's rows (see Store['pushJobs'] and docs/architecture.md, "Push queue"). Claims use
 * `FOR UPDATE SKIP LOCKED`, so instances sharing one Postgres never take the same due job, and a
 * lease (`run_at` moved into the future) instead of a held transaction, so a provider call never
 * holds a database connection. All times are the database's clock, the one every instance shares.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from './db-common.ts';
import { pushJobs } from './schema.ts';
import type { PushDecisionInput, PushJobRow, PushNotificationSpec, Store } from './store-types.ts';

const ms = (value: number) => sql`(${Math.max(0, Math.round(value))} * interval '1 millisecond')`;

/** Longest failure reason kept on a job: enough to read, not a whole HTML error page. */
const MAX_ERROR_CHARS = 500;

/** Most finished rows one prune deletes, so a long backlog never becomes one huge transaction. */
const PRUNE_BATCH = 10_000;

type Row = typeof pushJobs.$inferSelect;

function toJob(row: Row): PushJobRow {
  return {
    id: row.id,
    kind: row.kind,
    reason: row.reason as PushJobRow['reason'],
    conversationId: row.conversationId,
    userId: row.userId,
    excludeUserId: row.excludeUserId,
    deviceId: row.deviceId,
    provider: row.provider,
    notification: row.notification as unknown as PushNotificationSpec,
    state: row.state as PushJobRow['state'],
    attempts: row.attempts,
    createdAt: row.createdAt,
    lastOutcome: row.lastOutcome as PushJobRow['lastOutcome'],
    lastError: row.lastError,
  };
}

/** The `decide` row of a push decision (stored with its event, or on its own by `enqueue`). */
export function decisionRow(
  id: string,
  decision: PushDecisionInput & { conversationId?: string | null; userId?: string | null },
): typeof pushJobs.$inferInsert {
  return {
    id,
    kind: 'decide',
    reason: decision.reason,
    conversationId: decision.conversationId ?? null,
    userId: decision.userId ?? null,
    excludeUserId: decision.excludeUserId ?? null,
    notification: { ...decision.notification },
  };
}

/**
 * A `burst:<conversation>` decision is reused by the next burst once this one is done, so its
 * sends carry the burst's start (`@<ms>`) to stay distinct from the last burst's retained sends.
 */
const burstId = (decisionId: string, createdAt: Date) =>
  decisionId.startsWith('burst:') ? `${decisionId}@${createdAt.getTime()}` : decisionId;

const clip = (error: string | null | undefined) => (error == null ? null : error.slice(0, MAX_ERROR_CHARS));

export function createPushJobsRepo(db: Db): Store['pushJobs'] {
  /** Due pending jobs, locked for this claim only; SKIP LOCKED lets concurrent claims take others. */
  const claimStatement = (limit: number, leaseMs: number) => {
    const due = db.$with('due', { id: pushJobs.id }).as(
      sql`select ${pushJobs.id} from ${pushJobs}
          where ${pushJobs.state} = 'pending' and ${pushJobs.runAt} <= now()
          order by ${pushJobs.runAt}
          limit ${limit}
          for update skip locked`,
    );
    return db
      .with(due)
      .update(pushJobs)
      .set({ attempts: sql`${pushJobs.attempts} + 1`, runAt: sql`now() + ${ms(leaseMs)}` })
      .from(due)
      .where(eq(pushJobs.id, due.id))
      .returning();
  };

  return {
    async enqueue(id, decision) {
      const rows = await db
        .insert(pushJobs)
        .values(decisionRow(id, decision))
        .onConflictDoNothing({ target: pushJobs.id })
        .returning({ id: pushJobs.id });
      return rows.length > 0;
    },

    async claim(limit, leaseMs) {
      const rows = await claimStatement(limit, leaseMs);
      // UPDATE … RETURNING has no order; oldest events first.
      return rows.map(toJob).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    },

    async completeDecision(decision, sends) {
      return db.transaction(async (tx) => {
        // The fence: if our lease ran out and another instance claimed the decision, it does the work.
        const [gone] = await tx
          .delete(pushJobs)
          .where(and(eq(pushJobs.id, decision.id), eq(pushJobs.attempts, decision.attempts)))
          .returning({
            createdAt: pushJobs.createdAt,
            reason: pushJobs.reason,
            conversationId: pushJobs.conversationId,
          });
        if (!gone) return false;
        if (sends.length > 0) {
          await tx
            .insert(pushJobs)
            .values(
              sends.map((send) => ({
                id: `${burstId(decision.id, gone.createdAt)}:${send.userId}${send.deviceId ? `:${send.deviceId}` : ''}`,
                kind: 'send' as const,
                reason: gone.reason,
                conversationId: gone.conversationId,
                userId: send.userId,
                deviceId: send.deviceId,
                provider: send.provider,
                notification: { ...send.notification },
                // The event's age, not the decision's: the maximum age counts from when it was stored.
                createdAt: gone.createdAt,
              })),
            )
            .onConflictDoNothing({ target: pushJobs.id });
        }
        return true;
      });
    },

    async completeEmptyDecisions(decisions) {
      if (decisions.length === 0) return new Set();
      const list = JSON.stringify(decisions.map(({ id, attempts }) => ({ id, attempts })));
      const rows = await db
        .delete(pushJobs)
        .where(
          sql`(${pushJobs.id}, ${pushJobs.attempts}) in (
                select d.id, d.attempts from json_to_recordset(${list}::json) as d(id text, attempts int))`,
        )
        .returning({ id: pushJobs.id });
      return new Set(rows.map((row) => row.id));
    },

    async postponeDecision(decision, retryInMs, error) {
      const rows = await db
        .update(pushJobs)
        .set({ runAt: sql`now() + ${ms(retryInMs)}`, lastOutcome: 'retryable', lastError: clip(error) })
        .where(
          and(eq(pushJobs.id, decision.id), eq(pushJobs.attempts, decision.attempts), eq(pushJobs.state, 'pending')),
        )
        .returning({ id: pushJobs.id });
      return rows.length > 0;
    },

    async finish(job, result) {
      const rows = await db
        .update(pushJobs)
        .set(
          result.state === 'pending'
            ? {
                runAt: sql`now() + ${ms(result.retryInMs)}`,
                lastOutcome: result.outcome,
                lastError: clip(result.error),
              }
            : {
                state: result.state,
                finishedAt: sql`now()`,
                lastOutcome: result.outcome,
                lastError: clip(result.error),
              },
        )
        .where(and(eq(pushJobs.id, job.id), eq(pushJobs.attempts, job.attempts), eq(pushJobs.state, 'pending')))
        .returning({ id: pushJobs.id });
      return rows.length > 0;
    },

    async find(id) {
      const [row] = await db.select().from(pushJobs).where(eq(pushJobs.id, id)).limit(1);
      return row ? toJob(row) : null;
    },

    async counts() {
      const [row] = await db
        .select({
          pending: sql<string>`count(*) filter (where ${pushJobs.state} = 'pending')`,
          oldestMs: sql<
            string | null
          >`(extract(epoch from now() - min(${pushJobs.createdAt}) filter (where ${pushJobs.state} = 'pending')) * 1000)::int8`,
          delivered: sql<string>`count(*) filter (where ${pushJobs.state} = 'delivered')`,
          failed: sql<string>`count(*) filter (where ${pushJobs.state} = 'failed')`,
          expired: sql<string>`count(*) filter (where ${pushJobs.state} = 'expired')`,
        })
        .from(pushJobs);
      return {
        pending: Number(row?.pending ?? 0),
        oldestPendingAgeMs: row?.oldestMs == null ? null : Math.max(0, Number(row.oldestMs)),
        delivered: Number(row?.delivered ?? 0),
        failed: Number(row?.failed ?? 0),
        expired: Number(row?.expired ?? 0),
      };
    },

    async pendingSummary(cap) {
      const pending = db
        .select({ createdAt: pushJobs.createdAt })
        .from(pushJobs)
        .where(eq(pushJobs.state, 'pending'))
        .limit(cap)
        .as('pending');
      const [row] = await db
        .select({
          pending: sql<string>`count(*)`,
          oldest: sql<string | null>`extract(epoch from now() - min(${pending.createdAt}))::float8`,
        })
        .from(pending);
      return {
        pending: Number(row?.pending ?? 0),
        oldestAgeSeconds: row?.oldest == null ? null : Math.max(0, Number(row.oldest)),
      };
    },

    async countsByProvider() {
      const rows = await db
        .select({
          provider: sql<string>`coalesce(${pushJobs.provider}, 'unknown')`,
          delivered: sql<string>`count(*) filter (where ${pushJobs.state} = 'delivered')`,
          failed: sql<string>`count(*) filter (where ${pushJobs.state} = 'failed')`,
          expired: sql<string>`count(*) filter (where ${pushJobs.state} = 'expired')`,
        })
        .from(pushJobs)
        .where(sql`${pushJobs.kind} = 'send' and ${pushJobs.state} <> 'pending'`)
        .groupBy(sql`1`)
        .orderBy(sql`1`);
      return rows.map((r) => ({
        provider: r.provider,
        delivered: Number(r.delivered),
        failed: Number(r.failed),
        expired: Number(r.expired),
      }));
    },

    async prune(olderThanMs) {
      const rows = await db
        .delete(pushJobs)
        .where(
          sql`${pushJobs.id} in (select ${pushJobs.id} from ${pushJobs}
               where ${pushJobs.state} <> 'pending' and ${pushJobs.finishedAt} < now() - ${ms(olderThanMs)}
               limit ${PRUNE_BATCH})`,
        )
        .returning({ id: pushJobs.id });
      return rows.length;
    },
  };
}
