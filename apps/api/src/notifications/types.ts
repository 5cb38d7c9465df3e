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
}

export type PushResult = { ok: true; providerMessageId?: string } | { ok: false; error: string; retryable: boolean };

/**
 * A push provider (logging, FCM, APNs, web-push, …).
 *
 * Contract: `send` never throws — failures come back as `{ok: false}` with a reason that
 * contains no credentials; `close` releases connections/timers.
 */
export interface NotificationProvider {
  readonly name: string;
  send(notification: PushNotification): Promise<PushResult>;
  close(): Promise<void>;
}
