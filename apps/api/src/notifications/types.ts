import type { DeviceType, PushPriority } from '@anmei/protocol';

/** A Web Push subscription as the browser's PushManager gives it (RFC 8030 endpoint, RFC 8291 keys). */
export interface WebPushSubscription {
  endpoint: string;
  /** base64url: the browser's P-256 public key and the 16-byte auth secret. */
  keys: { p256dh: string; auth: string };
}

/** One registered device to push to, and which provider reaches it. */
export type PushTarget =
  | { provider: 'fcm'; token: string }
  | { provider: 'apns'; token: string }
  | { provider: 'webpush'; subscription: WebPushSubscription };

/** One push notification for one user (and, for device providers, one of their devices). */
export interface PushNotification {
  userId: string;
  title: string;
  content: string;
  /** Which device class the push targets (the seed logs `[mobile]`). */
  deviceType: DeviceType;
  priority: PushPriority;
  /** Small key/value payload the app uses to open the right screen. */
  data?: Record<string, unknown>;
  /**
   * The push job's id (event + user). The same key on a repeated attempt means the same push:
   * providers that can de-duplicate forward it (webhook: `Idempotency-Key`).
   */
  idempotencyKey?: string;
  /** The device (FCM, APNs, Web Push). Absent for providers that address a user (logging, webhook). */
  target?: PushTarget;
  /**
   * Pushes with the same key replace each other on the device instead of piling up (one per
   * conversation): FCM `collapse_key` / `tag`, APNs `apns-collapse-id`, Web Push `Topic`.
   */
  collapseKey?: string;
  /** Seconds after which the push is worthless and may be dropped by the push service (default: provider's). */
  ttlSeconds?: number;
}

export type PushResult =
  | { ok: true; providerMessageId?: string }
  | {
      ok: false;
      /** Why, in words an operator can act on; never a credential or a token. */
      error: string;
      /** true: the same push may succeed later (429, 5xx, timeout); false: it never will (bad token, 4xx). */
      retryable: boolean;
      /** The provider asked to wait this long before retrying (e.g. from `Retry-After`), in ms. */
      retryAfterMs?: number;
      /**
       * The target is gone for good (FCM UNREGISTERED, APNs 410 / BadDeviceToken, Web Push 404/410):
       * the device is deleted from the registry. Implies `retryable: false`.
       */
      targetGone?: boolean;
    };

/**
 * A push provider (logging, webhook; FCM, APNs, web-push later).
 *
 * Contract: `send` never throws — failures come back as `{ok: false}` with a reason that
 * contains no credentials and says whether a retry can help; it honours `signal` (an aborted
 * send stops its request and resolves `{ok: false, retryable: true}`); `close` releases
 * connections/timers. Retries are not the provider's job: the push queue's retry policy
 * (retry-policy.ts) decides them, so a provider makes exactly one attempt per call.
 */
export interface NotificationProvider {
  /** For a device provider, the `provider` of the devices it reaches: fcm | apns | webpush. */
  readonly name: string;
  /**
   * 'users' (default): one push per user, no target (logging, webhook). 'devices': one push per
   * registered device of the provider's name, with `target` set.
   */
  readonly addresses?: 'users' | 'devices';
  send(notification: PushNotification, signal?: AbortSignal): Promise<PushResult>;
  close(): Promise<void>;
}
