/** Admin-only endpoints: system notices, direct and mobile-only notifications, devices, stats. */
import { AdminSchemas, type BroadcastOutcome } from '@anmei/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../../app-context.ts';
import type { BroadcastOutcome as Outcome } from '../../broadcasting/broadcasting-service.ts';
import { AppError } from '../../errors.ts';
import { requireAuth } from '../auth-guard.ts';

const outcome = (o: Outcome): BroadcastOutcome => ({ ok: o.ok, delivered: o.delivered, push_queued: o.pushQueued });

export function adminRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  // Every route here is admin-only; the hook checks it once, before the body is read.
  const onRequest = requireAuth(ctx.tokens, 'admin');
  const assertConversation = async (id: string) => {
    if (!(await ctx.store.conversations.findById(id))) throw new AppError('CONVERSATION_NOT_FOUND');
  };

  r.post(
    '/api/v1/admin/notifications',
    {
      onRequest,
      schema: {
        tags: ['admin'],
        summary: 'System notification to one conversation, or to everyone connected when conversation_id is null',
        ...AdminSchemas.notify,
      },
    },
    async (request) => {
      const { conversation_id, ...notice } = request.body;
      const service = ctx.broadcasting;
      if (conversation_id === null) return outcome(await service.broadcastSystemNotificationToAll(notice));
      await assertConversation(conversation_id);
      return outcome(await service.broadcastSystemNotification(conversation_id, notice));
    },
  );

  r.post(
    '/api/v1/admin/mobile-notifications',
    {
      onRequest,
      schema: {
        tags: ['admin'],
        summary: 'Important notice for mobile devices only (live to mobile sockets, push otherwise)',
        ...AdminSchemas.mobileNotify,
      },
    },
    async (request) => {
      const { conversation_id, ...notice } = request.body;
      await assertConversation(conversation_id);
      return outcome(await ctx.broadcasting.sendMobileOnlyNotification(conversation_id, notice));
    },
  );

  r.post(
    '/api/v1/admin/direct-messages',
    {
      onRequest,
      schema: {
        tags: ['admin'],
        summary: 'A message to one user on all devices (push when offline)',
        ...AdminSchemas.directMessage,
      },
    },
    async (request) => {
      const { user_id, ...message } = request.body;
      if (!(await ctx.store.users.findById(user_id))) throw new AppError('USER_NOT_FOUND');
      return outcome(await ctx.broadcasting.sendDirectMessage(user_id, message));
    },
  );

  r.get(
    '/api/v1/admin/users/:user_id/devices',
    {
      onRequest,
      schema: {
        tags: ['admin'],
        summary: "A user's connected devices on every instance (getUserDeviceInfo)",
        ...AdminSchemas.userDevices,
      },
    },
    async (request) => {
      const userId = request.params.user_id;
      if (!(await ctx.store.users.findById(userId))) throw new AppError('USER_NOT_FOUND');
      return { user_id: userId, devices: await ctx.broadcasting.getUserDeviceInfo(userId) };
    },
  );

  r.get(
    '/api/v1/admin/stats',
    {
      onRequest,
      schema: { tags: ['admin'], summary: 'Presence and push figures across all instances', ...AdminSchemas.stats },
    },
    async () => {
      const [presence, queue, byProvider, instance] = await Promise.all([
        ctx.presence.stats(),
        ctx.store.pushJobs.counts(),
        ctx.store.pushJobs.countsByProvider(),
        // The same counters /metrics serves (anmei_push_*_total of this instance).
        ctx.figures.push(),
      ]);
      const finished = queue.delivered + queue.failed + queue.expired;
      return {
        online_users: presence.users,
        connections: presence.connections,
        by_device_type: presence.byDeviceType,
        by_role: presence.byRole,
        by_instance: presence.byInstance,
        push: {
          providers: ctx.notifications.providerNames,
          // Cluster-wide, over the finished pushes still retained (PUSH_RETENTION): delivered ÷ attempted.
          success_rate: finished === 0 ? null : queue.delivered / finished,
          queue: {
            pending: queue.pending,
            oldest_pending_age_seconds: queue.oldestPendingAgeMs === null ? null : queue.oldestPendingAgeMs / 1000,
            delivered: queue.delivered,
            failed: queue.failed,
            expired: queue.expired,
          },
          // Cluster-wide per provider: delivered ÷ (delivered + failed + expired) of the retained sends.
          by_provider: Object.fromEntries(
            byProvider.map(({ provider, ...counts }) => {
              const done = counts.delivered + counts.failed + counts.expired;
              return [provider, { ...counts, success_rate: done === 0 ? null : counts.delivered / done }];
            }),
          ),
          // This instance since it started: every provider attempt's outcome.
          instance: {
            instance_id: ctx.config.instanceId,
            attempts: instance.attempts,
            by_provider: instance.byProvider,
            decisions: instance.decisions,
            queued: instance.queued,
            success_rate: instance.successRate,
          },
        },
      };
    },
  );
}
