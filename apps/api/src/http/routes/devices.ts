/**
 * The signed-in user's push devices: register (idempotent per token; a token registered by
 * another user moves to this one), list, remove. The token is stored, never shown back or logged.
 */
import { type Device, DeviceSchemas } from '@anmei/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../../app-context.ts';
import type { PushDeviceRow, RegisterDeviceInput } from '../../db/store-types.ts';
import { AppError } from '../../errors.ts';
import { requireAuth, signedIn } from '../auth-guard.ts';

function deviceToWire(d: PushDeviceRow): Device {
  return {
    id: d.id,
    platform: d.platform,
    device_type: d.deviceType,
    provider: d.provider,
    token_hint: d.token.slice(-6),
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  };
}

/** A Web Push endpoint must be on a known push service (WEB_PUSH_ALLOWED_HOSTS): the server will POST to it. */
function assertKnownPushService(endpoint: string, allowed: '*' | readonly string[]): void {
  if (allowed === '*') return;
  const host = new URL(endpoint).hostname.toLowerCase();
  if (allowed.some((h) => host === h || host.endsWith(`.${h}`))) return;
  throw new AppError(
    'VALIDATION_FAILED',
    `web_push.endpoint is not on a known push service (${host}); the server accepts ${allowed.join(', ')} (WEB_PUSH_ALLOWED_HOSTS).`,
  );
}

export function deviceRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const onRequest = requireAuth(ctx.tokens);

  r.get(
    '/api/v1/devices',
    {
      onRequest,
      schema: {
        tags: ['devices'],
        summary: 'My registered push devices',
        ...DeviceSchemas.list,
      },
    },
    async (request) => {
      const devices = await ctx.store.devices.listForUser(signedIn(request).userId);
      return { devices: devices.map(deviceToWire) };
    },
  );

  r.get(
    '/api/v1/devices/web-push-key',
    {
      onRequest,
      schema: {
        tags: ['devices'],
        summary: "The VAPID public key a browser subscribes with (PushManager.subscribe's applicationServerKey)",
        ...DeviceSchemas.webPushKey,
      },
    },
    async () => {
      const key = ctx.notifications.webPushPublicKey;
      if (!key)
        throw new AppError(
          'NOT_FOUND',
          'Web Push is not enabled on this server (NOTIFICATION_PROVIDERS has no webpush).',
        );
      return { public_key: key };
    },
  );

  r.post(
    '/api/v1/devices',
    {
      onRequest,
      schema: {
        tags: ['devices'],
        summary: 'Register a push target (201 new, 200 already known: updated and now yours)',
        ...DeviceSchemas.register,
      },
    },
    async (request, reply) => {
      const user = signedIn(request);
      const body = request.body;
      const base = { userId: user.userId, platform: body.platform, deviceType: body.device_type };
      let input: RegisterDeviceInput;
      if (body.web_push) {
        const { endpoint, keys } = body.web_push;
        assertKnownPushService(endpoint, ctx.config.push.webPushAllowedHosts);
        input = { ...base, provider: 'webpush', token: endpoint, subscription: { endpoint, keys } };
      } else if (body.apns_token) {
        // APNs tokens are hex; one case, so the same device is one row however the app spells it.
        input = { ...base, provider: 'apns', token: body.apns_token.toLowerCase() };
      } else {
        input = { ...base, provider: 'fcm', token: body.fcm_token ?? '' };
      }
      const { device, created } = await ctx.store.devices.register(input);
      reply.code(created ? 201 : 200);
      return { device: deviceToWire(device) };
    },
  );

  r.delete(
    '/api/v1/devices/:device_id',
    {
      onRequest,
      schema: {
        tags: ['devices'],
        summary: 'Remove one of my push devices (e.g. on logout)',
        ...DeviceSchemas.remove,
      },
    },
    async (request, reply) => {
      if (!(await ctx.store.devices.delete(request.params.device_id, signedIn(request).userId))) {
        throw new AppError('DEVICE_NOT_FOUND');
      }
      reply.code(204);
      return null;
    },
  );
}
