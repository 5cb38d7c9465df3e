/**
 * Makes one push attempt through the configured provider, safely: a provider exception, a
 * missing result or a call that outlives `sendTimeoutMs` becomes `{ok: false}` (a timeout is
 * retryable), never an exception, and every failure is logged at WARN. The push queue's worker
 * (push-worker.ts) is its only caller: business code stores push decisions, it never pushes.
 */
import type { Logger } from 'pino';
import type { NotificationProvider, PushNotification, PushResult } from './types.ts';

export interface NotificationServiceOptions {
  /** The provider; tests hand in a double here. */
  provider: NotificationProvider;
  logger: Logger;
  /** ms one provider call may take before it is abandoned as retryable (PUSH_SEND_TIMEOUT, default 10 000). */
  sendTimeoutMs?: number;
}

const DEFAULT_SEND_TIMEOUT_MS = 10_000;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class NotificationService {
  readonly #provider: NotificationProvider;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(options: NotificationServiceOptions) {
    this.#provider = options.provider;
    this.#logger = options.logger;
    this.#timeoutMs = options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  }

  get providerName(): string {
    return this.#provider.name;
  }

  /** One attempt. Never throws; a failure is logged at WARN with the provider's reason. */
  async attempt(notification: PushNotification): Promise<PushResult> {
    const result = this.#closed
      ? { ok: false as const, error: 'notification service is closed', retryable: true }
      : await this.#send(notification);
    if (!result.ok) {
      this.#logger.warn(
        {
          provider: this.#provider.name,
          userId: notification.userId,
          reason: result.error,
          retryable: result.retryable,
          ...(result.retryAfterMs !== undefined ? { retryAfterMs: result.retryAfterMs } : {}),
        },
        'push notification failed',
      );
    }
    return result;
  }

  /** Idempotent; closes the provider. Later attempts fail as retryable (another instance may send). */
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
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<PushResult>((resolve) => {
      timer = setTimeout(() => {
        abort.abort(new Error('push send timed out'));
        resolve({ ok: false, error: `no answer from the provider within ${this.#timeoutMs} ms`, retryable: true });
      }, this.#timeoutMs);
      timer.unref();
    });
    try {
      const sent = (async (): Promise<PushResult> => {
        const result: PushResult | undefined = await this.#provider.send(notification, abort.signal);
        // Providers must return a result; a buggy one that returns nothing is a failure, not a success.
        if (result === undefined || result === null || typeof result !== 'object') {
          return { ok: false, error: 'provider returned no result', retryable: false };
        }
        return result;
      })().catch(
        // The contract says send never throws; a provider that does is treated as a failed send.
        (error: unknown): PushResult => ({ ok: false, error: describe(error), retryable: false }),
      );
      return await Promise.race([sent, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}
