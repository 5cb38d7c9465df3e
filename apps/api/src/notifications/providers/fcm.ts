/**
 * NOTIFICATION_PROVIDER=firebase: each push is one `POST /v1/projects/<project>/messages:send` to
 * Firebase Cloud Messaging (HTTP v1 API) for one device's registration token.
 *
 * Auth is OAuth2 with the service account of FIREBASE_CREDENTIALS_PATH: a JWT signed with its
 * private key is exchanged at its `token_uri` for an access token (RFC 7523 JWT-bearer grant);
 * the access token is cached until 60 s before it expires and shared by concurrent sends.
 *
 * Outcomes: 200 delivered (`providerMessageId` = FCM's message name); UNREGISTERED, or a 400 saying
 * the registration token is invalid, means the device is gone; 401 drops the cached access token
 * and is retryable; 408, 425, 429 and 5xx retryable (honouring `Retry-After`), as for every
 * provider; any other status permanent; a
 * network error or an abort retryable. One attempt per call: retries belong to the push queue.
 * Error texts name hosts and FCM's codes, never the access token, the key or the device token.
 */
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:https';
import { text } from 'node:stream/consumers';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { NotificationProvider, PushNotification, PushResult } from '../types.ts';
import { GoogleAccessTokens, type ServiceAccount } from './google-service-account.ts';
import {
  type Answer,
  abandoned,
  type Failure,
  failed,
  isRetryableStatus,
  type Posted,
  parseJson,
  parseRetryAfter,
  unreachable,
} from './push-http.ts';

export { loadServiceAccount, type ServiceAccount } from './google-service-account.ts';

export interface FcmProviderOptions {
  credentials: ServiceAccount;
  /** FCM's origin (config FCM_BASE_URL) [default https://fcm.googleapis.com]. */
  baseUrl?: string | undefined;
  /**
   * A CA certificate (PEM) trusted in addition to Node's bundled roots, for the test double only.
   * Certificate checks are never turned off.
   */
  ca?: string | Buffer | undefined;
  /** Clock in ms since the epoch [default Date.now]: JWT `iat`, access-token expiry, HTTP-date Retry-After. */
  now?: (() => number) | undefined;
}

const DEFAULT_BASE_URL = 'https://fcm.googleapis.com';
/** FCM keeps a message at most 28 days (in s); a longer `ttl` is refused with INVALID_ARGUMENT. */
const MAX_TTL_S = 28 * 24 * 3600;
const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

export class FcmProvider implements NotificationProvider {
  readonly name = 'fcm';
  // One push per registered device (target.token), not per user.
  readonly addresses = 'devices' as const;
  readonly #tokens: GoogleAccessTokens;
  readonly #sendUrl: URL;
  readonly #now: () => number;
  /** One keep-alive pool for FCM and the token endpoint: a send reuses a warm TLS connection. */
  readonly #agent: Agent;
  #closed = false;

  constructor(options: FcmProviderOptions) {
    const account = options.credentials;
    const base = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.#sendUrl = new URL(`${base}/v1/projects/${encodeURIComponent(account.project_id)}/messages:send`);
    this.#now = options.now ?? Date.now;
    this.#tokens = new GoogleAccessTokens({
      account,
      now: this.#now,
      post: (url, headers, body, signal) => this.#post(url, headers, body, signal),
      failure: (error, answer) => this.#failure(error, answer),
    });
    // `ca` on an Agent replaces the default roots; keep them so FCM itself stays reachable.
    // One secure context, made once: a `ca` in the agent's options would be re-read into the
    // connection-pool key of every request and parsed again for every new connection.
    const secureContext =
      options.ca === undefined ? undefined : createSecureContext({ ca: [...rootCertificates, options.ca.toString()] });
    this.#agent = new Agent({ keepAlive: true, ...(secureContext ? { secureContext } : {}) });
  }

  async send(notification: PushNotification, signal?: AbortSignal): Promise<PushResult> {
    const target = notification.target;
    if (target?.provider !== 'fcm') {
      const has = `target: ${target?.provider ?? 'none'}`;
      return failed(
        `the push has no FCM token (${has}); the fcm provider sends only to FCM registration tokens`,
        false,
      );
    }
    if (this.#closed) return failed('the FCM provider is closed (shutdown)', true);
    if (signal?.aborted) return abandoned(this.#sendUrl);
    const token = await raceAbort(this.#tokens.get(), signal);
    if (token === 'aborted') return abandoned(this.#tokens.url);
    if (!token.ok) return token;
    const body = JSON.stringify({ message: this.#message(notification, target.token) });
    const posted = await this.#post(
      this.#sendUrl,
      { authorization: `Bearer ${token.token}`, 'content-type': 'application/json; charset=utf-8' },
      body,
      signal,
    );
    if ('failure' in posted) {
      return signal?.aborted ? abandoned(this.#sendUrl) : unreachable(this.#sendUrl, posted.failure);
    }
    return this.#outcome(posted.answer, token.token, target.token);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#agent.destroy();
  }

  /** The FCM v1 `Message` for one registration token (fields as documented for projects.messages). */
  #message(n: PushNotification, token: string): Record<string, unknown> {
    const high = n.priority === 'high';
    const collapse = n.collapseKey;
    const ttl = n.ttlSeconds === undefined ? undefined : Math.min(Math.max(0, Math.floor(n.ttlSeconds)), MAX_TTL_S);
    return {
      token,
      notification: { title: n.title, body: n.content },
      ...(n.data ? { data: stringValues(n.data) } : {}),
      android: {
        priority: high ? 'high' : 'normal',
        ...(collapse !== undefined ? { collapse_key: collapse } : {}),
        ...(ttl !== undefined ? { ttl: `${ttl}s` } : {}),
        ...(collapse !== undefined ? { notification: { tag: collapse } } : {}),
      },
      apns: {
        headers: {
          'apns-priority': high ? '10' : '5',
          // APNs refuses a collapse id over 64 bytes.
          ...(collapse !== undefined ? { 'apns-collapse-id': fitKey(collapse, 64) } : {}),
          // Epoch seconds after which APNs stops trying.
          ...(ttl !== undefined ? { 'apns-expiration': String(Math.floor(this.#now() / 1000) + ttl) } : {}),
        },
      },
      webpush: {
        headers: {
          Urgency: high ? 'high' : 'normal',
          // RFC 8030 §5.4: a Topic is at most 32 characters of the URL-safe base64 alphabet.
          ...(collapse !== undefined ? { Topic: fitKey(collapse, 32, /^[A-Za-z0-9_-]+$/) } : {}),
          ...(ttl !== undefined ? { TTL: String(ttl) } : {}),
        },
      },
    };
  }

  #outcome(answer: Answer, accessToken: string, deviceToken: string): PushResult {
    if (answer.status === 200) {
      const name = (parseJson(answer.body) as { name?: unknown } | undefined)?.name;
      return { ok: true, ...(typeof name === 'string' ? { providerMessageId: name } : {}) };
    }
    const fcm = readGoogleError(answer.body);
    const said = `FCM at ${this.#sendUrl.host} answered ${answer.status} ${fcm.codes[0] ?? fcm.status ?? ''}`.trimEnd();
    const why = fcm.message ? ` (${redact(fcm.message, [accessToken, deviceToken])})` : '';
    const invalidToken =
      answer.status === 400 &&
      (fcm.fields.includes('message.token') || /registration token/i.test(fcm.message ?? '')) &&
      (fcm.codes.includes('INVALID_ARGUMENT') || fcm.status === 'INVALID_ARGUMENT');
    if (fcm.codes.includes('UNREGISTERED') || invalidToken) {
      const gone = 'the registration token is not (or no longer) valid: app uninstalled, token rotated or mangled';
      return failed(`${said}${why}: ${gone}`, false, { targetGone: true });
    }
    if (answer.status === 401 && fcm.codes.includes('THIRD_PARTY_AUTH_ERROR')) {
      const fix = 'the APNs key/certificate or Web Push credentials in the Firebase project are missing or invalid';
      return failed(`${said}${why}: ${fix}`, false);
    }
    if (answer.status === 401) {
      // The access token was revoked or expired early: the next attempt exchanges a new one.
      this.#tokens.forget(accessToken);
      return failed(`${said}${why}: the access token was refused; a new one is fetched`, true);
    }
    return this.#failure(said + why, answer);
  }

  /** 408, 425, 429 and 5xx retryable (with the answer's Retry-After), anything else permanent. */
  #failure(error: string, answer: Answer): Failure {
    const retryable = isRetryableStatus(answer.status);
    const retryAfterMs = retryable ? parseRetryAfter(answer.headers['retry-after'] ?? null, this.#now()) : undefined;
    return failed(error, retryable, retryAfterMs !== undefined ? { retryAfterMs } : {});
  }

  /**
   * One POST on the keep-alive agent. The answer is read to its end, so the connection goes back
   * to the pool; a network error, an abort or a request() that throws (a header it cannot send)
   * becomes `{failure}` with the error's code.
   */
  #post(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal | undefined): Promise<Posted> {
    const length = String(Buffer.byteLength(body));
    return new Promise<Posted>((resolve, reject) => {
      const options = { method: 'POST', agent: this.#agent, headers: { ...headers, 'content-length': length } };
      const req = request(url, { ...options, ...(signal ? { signal } : {}) }, (res) => {
        text(res).then(
          (answered) => resolve({ answer: { status: res.statusCode ?? 0, headers: res.headers, body: answered } }),
          reject,
        );
      });
      req.on('error', reject);
      req.end(body);
    }).catch((error: NodeJS.ErrnoException) => ({ failure: error.code ?? error.message }));
  }
}

/** FCM `data` is a map of strings: strings pass as they are, anything else as JSON. */
function stringValues(data: Record<string, unknown>): Record<string, string> {
  const defined = Object.entries(data).filter(([, value]) => value !== undefined);
  return Object.fromEntries(defined.map(([key, value]) => [key, typeof value === 'string' ? value : toJson(value)]));
}

function toJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // A BigInt or a circular object: `send` must not throw.
    return String(value);
  }
}

/** `key` when it fits the limit, else a stable 32-character digest of it (equal keys still collapse). */
function fitKey(key: string, maxBytes: number, alphabet?: RegExp): string {
  if (Buffer.byteLength(key) <= maxBytes && (!alphabet || alphabet.test(key))) return key;
  return createHash('sha256').update(key).digest('base64url').slice(0, 32);
}

/** A google.rpc.Status error body: `status`, FcmError `errorCode`s, BadRequest field names. */
interface GoogleError {
  status?: string;
  message?: string;
  codes: string[];
  fields: string[];
}

/** Untrusted JSON, narrowed to what the outcome depends on. */
function readGoogleError(body: string): GoogleError {
  const error = (parseJson(body) as { error?: unknown } | undefined)?.error;
  const out: GoogleError = { codes: [], fields: [] };
  if (typeof error !== 'object' || error === null) return out;
  const { status, message, details } = error as Record<string, unknown>;
  if (typeof status === 'string') out.status = status;
  if (typeof message === 'string') out.message = message.slice(0, 200);
  for (const detail of Array.isArray(details) ? details : []) {
    if (typeof detail !== 'object' || detail === null) continue;
    const d = detail as Record<string, unknown>;
    if (d['@type'] === FCM_ERROR_TYPE && typeof d.errorCode === 'string') out.codes.push(d.errorCode);
    if (d['@type'] === BAD_REQUEST_TYPE && Array.isArray(d.fieldViolations)) {
      for (const v of d.fieldViolations) {
        const field = (v as { field?: unknown } | null)?.field;
        if (typeof field === 'string') out.fields.push(field);
      }
    }
  }
  return out;
}

/**
 * FCM's own message could echo what we sent; no token may reach an error text. Real tokens are
 * 100+ characters; a short one (a test's) would only garble the text.
 */
function redact(text: string, secrets: string[]): string {
  return secrets.reduce((out, secret) => (secret.length >= 16 ? out.split(secret).join('<redacted>') : out), text);
}

/** `work`'s result, or 'aborted' as soon as `signal` aborts (the shared work itself goes on). */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T | 'aborted'> {
  if (!signal) return work;
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve) => {
    const onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, () => resolve('aborted')).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
