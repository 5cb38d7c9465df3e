/**
 * NOTIFICATION_PROVIDER=webpush: one push per registered browser subscription, sent to the
 * subscription's endpoint with the Web Push protocol (RFC 8030), the payload encrypted for the
 * browser (RFC 8291, `aes128gcm`) and signed with our VAPID key (RFC 8292). The service worker
 * shows the decrypted JSON:
 *
 *   {"title": "顾问回复", "body": "<content>", "data": {"conversation_id": "…", …}, "tag": "<collapse key>"}
 *
 * Headers: `TTL` (the push's ttlSeconds, else defaultTtlSeconds), `Urgency` (high | normal from the
 * priority), `Topic` (a hash of the collapse key: a newer push of one conversation replaces an
 * undelivered older one at the push service). Answers: 2xx delivered; 404/410 the subscription is
 * gone (the registry deletes it); 408, 425, 429 and 5xx retryable (honouring `Retry-After`), as for
 * every provider; any other status
 * permanent; a network error or a timeout retryable. One attempt per call: retries belong to the
 * push queue's retry policy.
 *
 * web-push builds the request (encryption, VAPID JWT, headers) with `generateRequestDetails`; we
 * send it with node:https ourselves because its `sendNotification` takes no AbortSignal, and the
 * provider contract says an aborted send stops its request.
 *
 * The endpoint is a capability URL (whoever knows it can push to that browser): error texts name
 * only its host, never its path, and never a key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { RequestDetails } from 'web-push';
import webpush from 'web-push';
import type { NotificationProvider, PushNotification, PushResult } from '../types.ts';
import { isRetryableStatus, parseRetryAfter } from './push-http.ts';

/** The VAPID identity of this server (RFC 8292): base64url P-256 keys and a `mailto:`/`https:` contact. */
export interface VapidDetails {
  publicKey: string;
  privateKey: string;
  subject: string;
}

export interface WebPushProviderOptions {
  vapid: VapidDetails;
  /**
   * Tests only: the PEM CA that signed the push service double's certificate. It replaces the
   * default root CAs for this provider's connections (Node's `ca` semantics); certificates are
   * still verified.
   */
  ca?: string | Buffer | undefined;
  /** Seconds a push service keeps an undelivered push when the push names no ttlSeconds [default 86400 = 1 day]. */
  defaultTtlSeconds?: number | undefined;
}

/** What `npm start` uses when no VAPID keys are configured: a contact push services accept syntactically. */
export const DEFAULT_VAPID_SUBJECT = 'mailto:admin@localhost';

/** Default TTL in seconds (1 day): a chat notification older than that is not worth showing. */
const DEFAULT_TTL_SECONDS = 86_400;

/** Socket idle timeout in ms: a push service silent this long is treated as unreachable (retryable). */
const SOCKET_TIMEOUT_MS = 30_000;

/**
 * Largest plaintext in bytes: push services must accept a 4096-byte body (RFC 8291 §4), and
 * aes128gcm adds 86 bytes of header, 16 of tag and 1 of padding delimiter. Longer content is
 * shortened to fit rather than refused with 413 forever.
 */
const MAX_PLAINTEXT_BYTES = 3993;

/** RFC 8030 §5.4: a Topic is at most 32 characters of the URL-safe base64 alphabet. */
const TOPIC_LENGTH = 32;

/** A fresh VAPID key pair (base64url: 65-byte uncompressed P-256 public key, 32-byte private key). */
export function generateVapidKeys(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = webpush.generateVAPIDKeys();
  return { publicKey, privateKey };
}

/** The keys of `memory://` data dirs, per dir: they live as long as the process. */
const inMemoryKeys = new Map<string, VapidDetails>();

/**
 * The embedded default's VAPID identity: `<dataDir>/vapid.json` if it exists, else a fresh pair
 * with subject `mailto:admin@localhost` written there (mode 0600; the private key signs our
 * pushes). Browsers subscribe with the public key, so the pair must outlive restarts: a new pair
 * orphans every existing subscription. `memory://` keeps the pair in this process only.
 */
export async function loadOrCreateVapidKeys(dataDir: string): Promise<VapidDetails> {
  if (dataDir.startsWith('memory://')) {
    let keys = inMemoryKeys.get(dataDir);
    if (!keys) {
      keys = { ...generateVapidKeys(), subject: DEFAULT_VAPID_SUBJECT };
      inMemoryKeys.set(dataDir, keys);
    }
    return keys;
  }
  const file = join(dataDir, 'vapid.json');
  const existing = await readVapidFile(file);
  if (existing) return existing;
  await mkdir(dataDir, { recursive: true });
  const created: VapidDetails = { ...generateVapidKeys(), subject: DEFAULT_VAPID_SUBJECT };
  // Written whole to a temp file, then linked into place: link fails if vapid.json appeared
  // meanwhile (another instance starting on the same data dir), and then that instance's pair wins.
  const temp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(created, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, file);
    return created;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = await readVapidFile(file);
    if (!winner) throw new Error(`${file} disappeared while it was being created; start again`);
    return winner;
  } finally {
    await unlink(temp).catch(() => {});
  }
}

async function readVapidFile(file: string): Promise<VapidDetails | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(
      `${file} is not JSON; restore it from a backup, or delete it to make a new pair (browsers must subscribe again)`,
    );
  }
  const value = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  for (const field of ['publicKey', 'privateKey', 'subject'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') {
      throw new Error(`${file} has no string "${field}"; restore it from a backup, or delete it to make a new pair`);
    }
  }
  return {
    publicKey: value.publicKey as string,
    privateKey: value.privateKey as string,
    subject: value.subject as string,
  };
}

/** The Topic header for a collapse key: its SHA-256, URL-safe base64, cut to 32 characters (192 bits). */
export function webPushTopic(collapseKey: string): string {
  return createHash('sha256').update(collapseKey).digest('base64url').slice(0, TOPIC_LENGTH);
}

/** The service worker's JSON; the content is shortened (with "…") when the whole exceeds the plaintext limit. */
function payloadOf(notification: PushNotification): string | undefined {
  const make = (body: string) =>
    JSON.stringify({
      title: notification.title,
      body,
      data: notification.data ?? {},
      ...(notification.collapseKey !== undefined ? { tag: notification.collapseKey } : {}),
    });
  const whole = make(notification.content);
  if (Buffer.byteLength(whole) <= MAX_PLAINTEXT_BYTES) return whole;
  // Code points, so a surrogate pair (emoji) is never cut in half; binary search for the longest prefix that fits.
  const chars = Array.from(notification.content);
  let fits = -1;
  for (let low = 0, high = chars.length - 1; low <= high; ) {
    const mid = (low + high) >> 1;
    if (Buffer.byteLength(make(`${chars.slice(0, mid).join('')}…`)) <= MAX_PLAINTEXT_BYTES) {
      fits = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return fits < 0 ? undefined : make(`${chars.slice(0, fits).join('')}…`);
}

type Answer = { status: number; retryAfter: string | null } | { failed: string };

export class WebPushProvider implements NotificationProvider {
  readonly name = 'webpush';
  readonly addresses = 'devices' as const;
  readonly #vapid: VapidDetails;
  readonly #defaultTtlSeconds: number;
  /** Keep-alive pool for the push services' hosts; `close` destroys it. */
  readonly #agent: Agent;

  /** The VAPID public key (base64url) a browser subscribes with (`applicationServerKey`). */
  get publicKey(): string {
    return this.#vapid.publicKey;
  }

  /** The VAPID contact (the JWT's `sub`). */
  get subject(): string {
    return this.#vapid.subject;
  }

  constructor(options: WebPushProviderOptions) {
    const ttl = options.defaultTtlSeconds ?? DEFAULT_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl < 0) {
      throw new Error(`defaultTtlSeconds must be a whole number of seconds ≥ 0; got ${ttl}`);
    }
    // Fail at startup, not on the first push: web-push checks the key lengths and the subject's scheme.
    try {
      webpush.getVapidHeaders(
        'https://push.example',
        options.vapid.subject,
        options.vapid.publicKey,
        options.vapid.privateKey,
        'aes128gcm',
      );
    } catch (error) {
      throw new Error(
        `the VAPID settings are unusable: ${(error as Error).message}; make a pair with generateVapidKeys() and give a mailto: or https: subject`,
      );
    }
    this.#vapid = { ...options.vapid };
    this.#defaultTtlSeconds = ttl;
    // One secure context, made once (see the FCM provider: a `ca` option is re-read per request).
    const secureContext = options.ca === undefined ? undefined : createSecureContext({ ca: options.ca });
    this.#agent = new Agent({ keepAlive: true, ...(secureContext ? { secureContext } : {}) });
  }

  async send(notification: PushNotification, signal?: AbortSignal): Promise<PushResult> {
    const target = notification.target;
    if (target?.provider !== 'webpush') {
      return {
        ok: false,
        error: `the webpush provider got a push for ${target ? `a ${target.provider} device` : 'no device'}; it sends only to Web Push subscriptions`,
        retryable: false,
      };
    }
    const subscription = target.subscription;
    let endpoint: URL;
    try {
      endpoint = new URL(subscription.endpoint);
    } catch {
      return {
        ok: false,
        error: 'the Web Push subscription endpoint is not a URL',
        retryable: false,
        targetGone: true,
      };
    }
    const where = endpoint.host;
    if (endpoint.protocol !== 'https:') {
      return {
        ok: false,
        error: `the Web Push subscription endpoint at ${where} is not https (RFC 8030 requires it)`,
        retryable: false,
        targetGone: true,
      };
    }
    const payload = payloadOf(notification);
    if (payload === undefined) {
      return {
        ok: false,
        error: `the push's title and data alone exceed the ${MAX_PLAINTEXT_BYTES}-byte Web Push payload limit; shorten them`,
        retryable: false,
      };
    }
    let details: RequestDetails;
    try {
      details = webpush.generateRequestDetails(subscription, payload, {
        vapidDetails: this.#vapid,
        TTL: Math.max(0, Math.floor(notification.ttlSeconds ?? this.#defaultTtlSeconds)),
        urgency: notification.priority === 'high' ? 'high' : 'normal',
        ...(notification.collapseKey !== undefined ? { topic: webPushTopic(notification.collapseKey) } : {}),
        contentEncoding: 'aes128gcm',
      });
    } catch (error) {
      // web-push's texts here name the faulty field (p256dh/auth length), never a key's value.
      return {
        ok: false,
        error: `the Web Push subscription for ${where} is unusable: ${(error as Error).message}`,
        retryable: false,
        targetGone: true,
      };
    }
    const answer = await this.#post(endpoint, details, signal);
    if ('failed' in answer) {
      return {
        ok: false,
        error: `could not reach the Web Push service at ${where}: ${answer.failed}`,
        retryable: true,
      };
    }
    return outcome(answer.status, answer.retryAfter, where);
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }

  #post(endpoint: URL, details: RequestDetails, signal: AbortSignal | undefined): Promise<Answer> {
    if (signal?.aborted) return Promise.resolve({ failed: 'the attempt was abandoned (timeout or shutdown)' });
    return new Promise((resolve) => {
      let timedOut = false;
      const req = request(endpoint, {
        method: details.method,
        headers: details.headers,
        agent: this.#agent,
        timeout: SOCKET_TIMEOUT_MS,
        ...(signal ? { signal } : {}),
      });
      req.on('response', (res) => {
        // The body is not used but must be read so the connection returns to the pool.
        res.resume();
        const retryAfter = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, retryAfter: typeof retryAfter === 'string' ? retryAfter : null });
      });
      req.on('timeout', () => {
        timedOut = true;
        req.destroy();
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        resolve({
          failed: signal?.aborted
            ? 'the attempt was abandoned (timeout or shutdown)'
            : timedOut
              ? `no answer within ${SOCKET_TIMEOUT_MS} ms`
              : // The code only (ECONNREFUSED, CERT_HAS_EXPIRED…): a message could quote the URL.
                String(error.code ?? 'network error'),
        });
      });
      req.end(details.body ?? undefined);
    });
  }
}

/** The push service's status as an outcome the retry policy understands. */
function outcome(status: number, retryAfter: string | null, where: string): PushResult {
  if (status >= 200 && status < 300) return { ok: true };
  const answered = `the Web Push service at ${where} answered ${status}`;
  if (status === 404 || status === 410) {
    return {
      ok: false,
      error: `${answered}: the subscription expired or was unsubscribed`,
      retryable: false,
      targetGone: true,
    };
  }
  if (isRetryableStatus(status)) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return { ok: false, error: answered, retryable: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  const hint =
    status === 413
      ? ': the encrypted payload is too large for this push service'
      : status === 401 || status === 403
        ? ': it refused our VAPID signature (the subscription was made with another VAPID public key, or the subject is not accepted)'
        : status >= 300 && status < 400
          ? ' (a redirect, not followed)'
          : '';
  return { ok: false, error: `${answered}${hint}`, retryable: false };
}
