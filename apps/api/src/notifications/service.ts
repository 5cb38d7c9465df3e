/**
 * Makes one push attempt through one of the configured providers, safely: a provider exception, a
 * missing result or a call that outlives `sendTimeoutMs` becomes `{ok: false}` (a timeout is
 * retryable), never an exception, and every failure is logged at WARN. The push queue's worker
 * (push-worker.ts) is its only caller: business code stores push decisions, it never pushes.
 */
import type { Logger } from 'pino';
import type { NotificationProvider, PushNotification, PushResult } from './types.ts';

export interface NotificationServiceOptions {
  /**
   * The enabled providers (NOTIFICATION_PROVIDERS; tests hand in a double here). At most one that
   * addresses users (logging, webhook); any of the device providers (fcm, apns, webpush).
   */
  providers: readonly NotificationProvider[];
  logger: Logger;
  /** ms one provider call may take before it is abandoned as retryable (PUSH_SEND_TIMEOUT, default 10 000). */
  sendTimeoutMs?: number;
}

const DEFAULT_SEND_TIMEOUT_MS = 10_000;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class NotificationService {
  readonly #providers: ReadonlyMap<string, NotificationProvider>;
  /** The provider that addresses a user rather than a device, if one is enabled. */
  readonly userProvider: NotificationProvider | undefined;
  /** Names of the enabled device providers (fcm, apns, webpush). */
  readonly deviceProviders: ReadonlySet<string>;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(options: NotificationServiceOptions) {
    this.#providers = new Map(options.providers.map((p) => [p.name, p]));
    const users = options.providers.filter((p) => (p.addresses ?? 'users') === 'users');
    if (users.length > 1) {
      throw new Error(`at most one provider may address users; got ${users.map((p) => p.name).join(', ')}`);
    }
    this.userProvider = users[0];
    this.deviceProviders = new Set(options.providers.filter((p) => p.addresses === 'devices').map((p) => p.name));
    this.#logger = options.logger;
    this.#timeoutMs = options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  }

  /** The VAPID public key browsers subscribe with, when the webpush provider is enabled. */
  get webPushPublicKey(): string | undefined {
    const provider = this.#providers.get('webpush') as { publicKey?: unknown } | undefined;
    return typeof provider?.publicKey === 'string' ? provider.publicKey : undefined;
  }

  /** The enabled providers' names, in configuration order. */
  get providerNames(): string[] {
    return [...this.#providers.keys()];
  }

  /**
   * One attempt through `providerName` (the user-level provider when omitted). Never throws; a
   * failure is logged at WARN with the provider's reason.
   */
  async attempt(notification: PushNotification, providerName?: string): Promise<PushResult> {
    const provider = providerName === undefined ? this.userProvider : this.#providers.get(providerName);
    const result: PushResult = this.#closed
      ? { ok: false, error: 'notification service is closed', retryable: true }
      : provider
        ? await this.#send(provider, notification)
        : { ok: false, error: `push provider ${providerName ?? '(user-level)'} is not enabled`, retryable: false };
    if (!result.ok) {
      this.#logger.warn(
        {
          provider: provider?.name ?? providerName,
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

  /** Idempotent; closes the providers. Later attempts fail as retryable (another instance may send). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const provider of this.#providers.values()) {
      try {
        await provider.close();
      } catch (error) {
        this.#logger.warn({ provider: provider.name, reason: describe(error) }, 'push provider close failed');
      }
    }
  }

  async #send(provider: NotificationProvider, notification: PushNotification): Promise<PushResult> {
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
        const result: PushResult | undefined = await provider.send(notification, abort.signal);
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
