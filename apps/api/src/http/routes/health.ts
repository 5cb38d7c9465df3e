/** Liveness/readiness for load balancers. 503 when the database or Redis does not answer, or while draining. */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.ts';

export function healthRoutes(app: FastifyInstance, ctx: AppContext, isDraining: () => boolean): void {
  app.get('/health', { schema: { tags: ['ops'], summary: 'Health of this instance' } }, async (_request, reply) => {
    let database = 'ok';
    try {
      await ctx.store.ping();
    } catch {
      database = 'unavailable';
    }
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
