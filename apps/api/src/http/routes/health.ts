/**
 * Liveness and readiness (docs/operations.md "Health and readiness"):
 * - `GET /health` is liveness: 200 whenever the process answers HTTP, so an orchestrator restarts
 *   only an instance that is really stuck, never one whose database or Redis is away (a restart
 *   would not bring them back). Its body still reports each dependency: `status` is `ok`,
 *   `degraded` (database or Redis unreachable) or `draining`.
 * - `GET /ready` is readiness: 200 when the database answers within DATABASE_HEALTH_TIMEOUT and has
 *   every migration this build ships, Redis (when configured) answers within the same bound, and
 *   the instance is not draining; else 503 problem+json `NOT_READY` whose `checks` name the failure.
 *   Load balancers and Kubernetes' readinessProbe route by it.
 */
import { HealthSchemas, type ReadinessChecks } from '@anmei/protocol';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { toProblem } from '../../errors.ts';

/** What a bounded check found: its value, or that it failed or did not answer in time. */
type Checked<T> = { ok: true; value: T } | { ok: false };

export function healthRoutes(app: FastifyInstance, ctx: AppContext, isDraining: () => boolean): void {
  const timeoutMs = ctx.config.databaseTimeouts.healthMs;
  // One statement proves both that the database answers and that its migrations are ours.
  const database = boundedProbe(() => ctx.migrationsApplied(), timeoutMs);
  const redis = boundedProbe(() => ctx.realtime.ping(), timeoutMs);

  app.get(
    '/health',
    { schema: { tags: ['ops'], summary: 'Liveness of this instance (always 200)', ...HealthSchemas.health } },
    async () => {
      const answered = await database();
      const databaseStatus = answered.ok ? 'ok' : 'unavailable';
      const bus = ctx.realtime.healthy() ? 'ok' : 'unavailable';
      const draining = isDraining();
      return {
        status: draining ? 'draining' : databaseStatus === 'ok' && bus === 'ok' ? 'ok' : 'degraded',
        instance: ctx.config.instanceId,
        database: { kind: ctx.databaseKind, status: databaseStatus },
        bus: { kind: ctx.realtime.kind, status: bus, ...ctx.realtime.busStats() },
        connections: ctx.local.size,
        users: ctx.local.userCount,
      };
    },
  );

  app.get(
    '/ready',
    // Not in /docs yet: the authorization matrix and the HTTP fuzzer need a row for every documented
    // route first (apps/api/test/authz-matrix.test.ts, fuzz/support-http-routes.ts).
    {
      schema: {
        hide: true,
        tags: ['ops'],
        summary: 'Readiness: 200 when this instance should get traffic, else 503',
        ...HealthSchemas.ready,
      },
    },
    async (request, reply) => {
      const [db, redisAnswered] = await Promise.all([
        database(),
        ctx.realtime.kind === 'redis' && ctx.realtime.healthy()
          ? redis()
          : Promise.resolve<Checked<void>>({ ok: false }),
      ]);
      const checks: ReadinessChecks = {
        database: db.ok ? 'ok' : 'unavailable',
        migrations: !db.ok ? 'unknown' : db.value ? 'ok' : 'behind',
        redis: ctx.realtime.kind === 'memory' ? 'not_configured' : redisAnswered.ok ? 'ok' : 'unavailable',
        draining: isDraining(),
      };
      const failed = reasons(checks, timeoutMs);
      if (failed.length === 0) return { status: 'ready', instance: ctx.config.instanceId, checks };
      const problem = toProblem('NOT_READY', `Not ready: ${failed.join('; ')}.`, request.url);
      return reply
        .code(problem.status as 503)
        .type('application/problem+json')
        .send({ ...problem, instance_id: ctx.config.instanceId, checks });
    },
  );
}

/** Why the checks fail, one phrase each (the problem's `detail`). */
function reasons(checks: ReadinessChecks, timeoutMs: number): string[] {
  const out: string[] = [];
  if (checks.database === 'unavailable')
    out.push(`the database did not answer within ${timeoutMs} ms (DATABASE_HEALTH_TIMEOUT)`);
  if (checks.migrations === 'behind')
    out.push('the database lacks migrations this build ships (an older database? restart an instance to migrate)');
  if (checks.redis === 'unavailable') out.push(`Redis did not answer within ${timeoutMs} ms (REDIS_URL)`);
  if (checks.draining) out.push('the instance is draining (shutting down)');
  return out;
}

/**
 * Runs `check` with an answer within `timeoutMs` (DATABASE_HEALTH_TIMEOUT) even when what it asks
 * does not answer. One run at a time: callers arriving while it runs share it, so a load balancer
 * polling a stalled database holds one pooled connection, not one per check.
 */
function boundedProbe<T>(check: () => Promise<T>, timeoutMs: number): () => Promise<Checked<T>> {
  let running: Promise<Checked<T>> | undefined;
  return () => {
    if (!running) {
      const run = check().then(
        (value): Checked<T> => ({ ok: true, value }),
        (): Checked<T> => ({ ok: false }),
      );
      running = run;
      void run.then(() => {
        if (running === run) running = undefined;
      });
    }
    const run = running;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Checked<T>>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, { ok: false });
    });
    return Promise.race([run, late]).finally(() => clearTimeout(timer));
  };
}
