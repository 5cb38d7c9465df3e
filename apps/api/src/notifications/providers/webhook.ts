/**
 * NOTIFICATION_PROVIDER=webhook: each push is one HTTP POST of JSON to PUSH_WEBHOOK_URL, for a
 * clinic that already runs its own push gateway (the seed's "third-party providers"). The body:
 *
 *   {"idempotency_key": "message:<id>:<user>", "user_id": "…", "device_type": "mobile",
 *    "priority": "high", "title": "顾问回复", "content": "…", "data": {…}}
 *
 * with headers `Idempotency-Key` (the same value; a gateway de-duplicates repeats with it) and,
 * when PUSH_WEBHOOK_TOKEN is set, `Authorization: Bearer <token>`. The answer decides the
 * outcome: 2xx delivered; 408, 425, 429 and 5xx retryable (honouring `Retry-After`); any other
 * status (a 3xx redirect included: it is not followed) permanent; a network error or a timeout retryable. One attempt per call: retries belong
 * to the push queue's retry policy.
 */
import type { NotificationProvider, PushNotification, PushResult } from '../types.ts';
import { isRetryableStatus, parseRetryAfter } from './push-http.ts';

export { parseRetryAfter } from './push-http.ts';

export interface WebhookProviderOptions {
  url: string;
  /** Bearer token for the gateway (else the URL's user:password as Basic auth); never logged or put in an error text. */
  token?: string | undefined;
}

export class WebhookProvider implements NotificationProvider {
  readonly name = 'webhook';
  readonly #url: string;
  readonly #token: string | undefined;
  /** What error texts name: the host only (the URL may carry credentials or a key in its query). */
  readonly #where: string;

  readonly #basic: string | undefined;

  constructor(options: WebhookProviderOptions) {
    // fetch refuses URLs with credentials; `https://user:pass@host/…` becomes Basic auth instead.
    const url = new URL(options.url);
    this.#basic =
      url.username || url.password
        ? Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')
        : undefined;
    url.username = '';
    url.password = '';
    this.#url = url.toString();
    this.#token = options.token;
    this.#where = url.host;
  }

  async send(notification: PushNotification, signal?: AbortSignal): Promise<PushResult> {
    const body = JSON.stringify({
      idempotency_key: notification.idempotencyKey ?? null,
      user_id: notification.userId,
      device_type: notification.deviceType,
      priority: notification.priority,
      title: notification.title,
      content: notification.content,
      ...(notification.data !== undefined ? { data: notification.data } : {}),
    });
    let response: Response;
    try {
      response = await fetch(this.#url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(notification.idempotencyKey ? { 'idempotency-key': notification.idempotencyKey } : {}),
          ...(this.#token
            ? { authorization: `Bearer ${this.#token}` }
            : this.#basic
              ? { authorization: `Basic ${this.#basic}` }
              : {}),
        },
        body,
        ...(signal ? { signal } : {}),
        // A redirect is answered as permanent below: following it could send the push elsewhere.
        redirect: 'manual',
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: unknown } }).cause?.code;
      const reason = signal?.aborted
        ? 'the attempt was abandoned (timeout or shutdown)'
        : String(cause ?? 'network error');
      return { ok: false, error: `could not reach the push webhook at ${this.#where}: ${reason}`, retryable: true };
    }
    // The body is not used, but must be read (or cancelled) so the connection can be reused.
    await response.body?.cancel().catch(() => {});
    if (response.ok) return { ok: true };
    if (response.status >= 300 && response.status < 400) {
      return {
        ok: false,
        error: `the push webhook at ${this.#where} answered ${response.status} (a redirect, not followed): set PUSH_WEBHOOK_URL to the final URL`,
        retryable: false,
      };
    }
    const retryable = isRetryableStatus(response.status);
    const retryAfterMs = retryable ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
    return {
      ok: false,
      error: `the push webhook at ${this.#where} answered ${response.status}`,
      retryable,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }

  async close(): Promise<void> {
    // fetch's connection pool is the process's; nothing of ours stays open.
  }
}
