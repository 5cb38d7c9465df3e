/**
 * What business code calls to push to an offline user. Wraps one provider so callers never
 * see a provider failure as an exception, and counts outcomes for the push success-rate metric.
 */
import type { Logger } from 'pino';
import type { NotificationProvider, PushNotification, PushResult } from './types.ts';

export interface NotificationServiceOptions {
  provider: NotificationProvider;
  logger: Logger;
}

export interface NotificationStats {
  sent: number;
  failed: number;
  /** sent / (sent + failed), a fraction in 0..1; null before the first attempt. */
  successRate: number | null;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class NotificationService {
  readonly #provider: NotificationProvider;
  readonly #logger: Logger;
  #sent = 0;
  #failed = 0;
  #closed = false;

  constructor(options: NotificationServiceOptions) {
    this.#provider = options.provider;
    this.#logger = options.logger;
  }

  /** Never throws: a provider exception or `{ok: false}` is logged at WARN and counted as failed. */
  async notify(notification: PushNotification): Promise<PushResult> {
    const result = this.#closed
      ? { ok: false as const, error: 'notification service is closed', retryable: false }
      : await this.#send(notification);
    if (result.ok) {
      this.#sent += 1;
    } else {
      this.#failed += 1;
      this.#logger.warn(
        {
          provider: this.#provider.name,
          userId: notification.userId,
          reason: result.error,
          retryable: result.retryable,
        },
        'push notification failed',
      );
    }
    return result;
  }

  stats(): NotificationStats {
    const attempts = this.#sent + this.#failed;
    return { sent: this.#sent, failed: this.#failed, successRate: attempts === 0 ? null : this.#sent / attempts };
  }

  /** Idempotent; closes the provider. Later notify calls fail (counted) instead of throwing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#provider.close();
    } catch (error) {
      this.#logger.warn({ provider: this.#provider.name, reason: describe(error) }, 'push provider close failed');
    }
  }

  async #send(notification: PushNotification): Promise<PushResult> {
    try {
      const result: PushResult | undefined = await this.#provider.send(notification);
      // Providers must return a result; a buggy one that returns nothing is a failure, not a success.
      if (result === undefined || result === null || typeof result !== 'object') {
        return { ok: false, error: 'provider returned no result', retryable: false };
      }
      return result;
    } catch (error) {
      // The contract says send never throws; a provider that does is treated as a failed send.
      return { ok: false, error: describe(error), retryable: false };
    }
  }
}
