/**
 * HTTP bodies of the push device registry (`/api/v1/devices`), shared by the server's routes and
 * the web app: a device is registered with exactly one push target, which must suit its platform.
 */
import { z } from 'zod';
import { DEVICE_TYPES } from './domain.ts';
import { refineStorableText } from './storable.ts';

export const PUSH_PLATFORMS = ['android', 'ios', 'web'] as const;
export type PushPlatform = (typeof PUSH_PLATFORMS)[number];
export const PUSH_DEVICE_PROVIDERS = ['fcm', 'apns', 'webpush'] as const;

/** base64url without padding (RFC 4648 §5), as PushSubscription.toJSON() gives the keys. */
const base64url = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be base64url without padding');

export const WebPushSubscriptionSchema = z.strictObject({
  /** The push service's URL for this browser (a capability: never logged). */
  endpoint: z
    .url({ protocol: /^https$/ })
    .max(2048)
    .superRefine(refineStorableText),
  /** Sent by PushSubscription.toJSON() (Chrome: null); accepted so a browser's JSON can be posted as it is, not stored. */
  expirationTime: z.number().nullable().optional(),
  keys: z.strictObject({
    /** The browser's P-256 public key: 65 bytes, 87 characters. */
    p256dh: base64url(80, 100),
    /** The 16-byte auth secret: 22 characters. */
    auth: base64url(16, 32),
  }),
});

/** POST /api/v1/devices. Exactly one of fcm_token, apns_token, web_push. */
export const DeviceRegistrationBody = z
  .strictObject({
    platform: z.enum(PUSH_PLATFORMS),
    device_type: z.enum(DEVICE_TYPES),
    /** FCM registration token (Android, or iOS/web apps that use Firebase). */
    fcm_token: z
      .string()
      .min(20)
      .max(4096)
      .regex(/^[A-Za-z0-9_:.-]+$/, 'letters, digits and _ : . - only')
      .optional(),
    /** APNs device token, hex (64 characters today; Apple allows longer). */
    apns_token: z
      .string()
      .regex(/^[0-9a-fA-F]{64,200}$/, 'must be the device token in hex (64 or more characters)')
      .optional(),
    web_push: WebPushSubscriptionSchema.optional(),
  })
  .superRefine((body, ctx) => {
    const given = [body.fcm_token, body.apns_token, body.web_push].filter((t) => t !== undefined).length;
    if (given !== 1) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of fcm_token, apns_token, web_push' });
      return;
    }
    if (body.platform === 'android' && !body.fcm_token) {
      ctx.addIssue({ code: 'custom', path: ['fcm_token'], message: 'an android device registers an fcm_token' });
    }
    if (body.platform === 'ios' && body.web_push) {
      ctx.addIssue({
        code: 'custom',
        path: ['web_push'],
        message: 'an ios device registers an apns_token or fcm_token',
      });
    }
    if (body.platform === 'web' && body.apns_token) {
      ctx.addIssue({
        code: 'custom',
        path: ['apns_token'],
        message: 'a web device registers web_push or an fcm_token',
      });
    }
  });
export type DeviceRegistration = z.infer<typeof DeviceRegistrationBody>;

/** A registered device as the API shows it to its owner: the token itself is never sent back. */
export const DeviceSchema = z.object({
  id: z.string(),
  platform: z.enum(PUSH_PLATFORMS),
  device_type: z.enum(DEVICE_TYPES),
  provider: z.enum(PUSH_DEVICE_PROVIDERS),
  /** The last 6 characters of the token, to tell devices apart. */
  token_hint: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Device = z.infer<typeof DeviceSchema>;
