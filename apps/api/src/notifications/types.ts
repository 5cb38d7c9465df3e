import type { DeviceType, PushPriority } from '@anmei/protocol';

/** One push notification for one user. */
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
  readonly name: string;
  send(notification: PushNotification, signal?: AbortSignal): Promise<PushResult>;
  close(): Promise<void>;
}
