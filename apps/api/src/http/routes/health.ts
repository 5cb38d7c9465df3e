/** Liveness/readiness for load balancers. 503 when the database or Redis does not answer, or while draining. */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.ts';

export function healthRoutes(app: FastifyInstance, ctx: AppContext, isDraining: () => boolean): void {
  const databaseAnswers = databaseProbe(ctx, ctx.config.databaseTimeouts.healthMs);
  app.get('/health', { schema: { tags: ['ops'], summary: 'Health of this instance' } }, async (_request, reply) => {
    const database = (await databaseAnswers()) ? 'ok' : 'unavailable';
    const bus = ctx.realtime.healthy() ? 'ok' : 'unavailable';
    const healthy = database === 'ok' && bus === 'ok' && !isDraining();
    return reply.code(healthy ? 200 : 503).send({
      status: healthy ? 'ok' : isDraining() ? 'draining' : 'degraded',
      instance: ctx.config.instanceId,
      database: { kind: ctx.databaseKind, status: database },
      bus: { kind: ctx.realtime.kind, status: bus, ...ctx.realtime.busStats() },
      connections: ctx.local.size,
      users: ctx.local.userCount,
    });
  });
}

/**
 * Whether the database answers `select 1` within `timeoutMs` (DATABASE_HEALTH_TIMEOUT), so
 * /health answers in time even when the database does not (a stalled network would otherwise hold
 * it for the pool's own timeouts). One ping at a time: checks arriving while it runs share it, so
 * a load balancer polling a stalled database holds one pooled connection, not one per check.
 */
function databaseProbe(ctx: AppContext, timeoutMs: number): () => Promise<boolean> {
  let running: Promise<boolean> | undefined;
  return () => {
    if (!running) {
      const ping = ctx.store.ping().then(
        () => true,
        () => false,
      );
      running = ping;
      void ping.then(() => {
        if (running === ping) running = undefined;
      });
    }
    const ping = running;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    return Promise.race([ping, late]).finally(() => clearTimeout(timer));
  };
}
