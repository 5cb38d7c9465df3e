/**
 * NOTIFICATION_PROVIDER=apns: pushes to iOS devices through Apple's HTTP/2 provider API with
 * token-based authentication (a `.p8` signing key, not a certificate).
 *
 * - One HTTP/2 session to APNS_HOST carries every push (Apple asks providers to keep their
 *   connection open rather than connect per push); it is opened lazily and replaced once it closed,
 *   failed or got a GOAWAY.
 * - The provider token is an ES256 JWT `{alg, kid: APNS_KEY_ID}.{iss: APNS_TEAM_ID, iat}`, reused
 *   for `tokenRefreshMs`: Apple refuses a token older than 60 minutes (403 ExpiredProviderToken)
 *   and one renewed more often than every 20 minutes (429 TooManyProviderTokenUpdates).
 * - One attempt per call: retries belong to the push queue's retry policy. A retried push carries
 *   the same `apns-id`, derived from its idempotency key.
 *
 * Error texts carry Apple's `reason` and what to check; never the JWT, the key or a device token.
 */
import { createHash, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type ClientHttp2Session, type ClientHttp2Stream, constants } from 'node:http2';
import { importPKCS8, SignJWT } from 'jose';
import type { NotificationProvider, PushNotification, PushResult } from '../types.ts';
import { Http2Sessions, reasonOf } from './http2-sessions.ts';

export const APNS_PRODUCTION_HOST = 'https://api.push.apple.com';
export const APNS_SANDBOX_HOST = 'https://api.sandbox.push.apple.com';

export interface ApnsProviderOptions {
  /** APNS_KEY_PATH's content: the `.p8` signing key (PKCS#8 PEM, EC P-256). See `loadApnsKey`. */
  key: string;
  /** APNS_KEY_ID: the 10-character id of that key (the JWT's `kid`). */
  keyId: string;
  /** APNS_TEAM_ID: the 10-character developer team id (the JWT's `iss`). */
  teamId: string;
  /** APNS_TOPIC: the app's bundle id (`apns-topic`). */
  topic: string;
  /** APNS_HOST [default `https://api.push.apple.com`; sandbox builds: `https://api.sandbox.push.apple.com`]. */
  host?: string | undefined;
  /** Extra trusted CA (PEM), for tests against a local double. Certificate checks are never turned off. */
  ca?: string | Buffer | undefined;
  /** Clock in ms since the epoch [default Date.now]: the JWT's `iat`, its renewal, `apns-expiration`. */
  now?: (() => number) | undefined;
  /** How long one provider token is reused, in ms [default 1_800_000 = 30 min; Apple: 20–60 min]. */
  tokenRefreshMs?: number | undefined;
}

const MINUTE_MS = 60_000;
const DEFAULT_TOKEN_REFRESH_MS = 30 * MINUTE_MS;

/** Apple refuses larger alert payloads (413 PayloadTooLarge), in bytes. */
const MAX_PAYLOAD_BYTES = 4096;
/** `apns-collapse-id` limit in bytes (400 BadCollapseId beyond). */
const MAX_COLLAPSE_ID_BYTES = 64;
const ABANDONED = 'the attempt was abandoned (timeout or shutdown)';
/** An error answer's body is a small JSON object; anything longer is cut before parsing. */
const MAX_ERROR_BODY_BYTES = 16_384;

/** Reasons that mean the device token will never work again for this topic: delete the device. */
const GONE_REASONS = new Set(['Unregistered', 'ExpiredToken', 'BadDeviceToken', 'DeviceTokenNotForTopic']);

/** What to check for reasons that point at our configuration rather than at the push. */
const HINTS: Record<string, string> = {
  BadDeviceToken: 'a sandbox token sent to production or the reverse? check APNS_HOST',
  DeviceTokenNotForTopic: 'the device registered for another app: check APNS_TOPIC',
  BadTopic: 'check APNS_TOPIC (the app bundle id)',
  TopicDisallowed: 'check APNS_TOPIC (the app bundle id) and the key’s topics',
  InvalidProviderToken: 'check APNS_KEY_ID, APNS_TEAM_ID and the key at APNS_KEY_PATH',
  BadEnvironmentKeyInToken: 'the key is for the other environment: check APNS_HOST',
  PayloadTooLarge: `the payload exceeds ${MAX_PAYLOAD_BYTES} bytes: shorten the content or data`,
};

/**
 * Reads the `.p8` signing key at `path` (config APNS_KEY_PATH), failing at startup with what to
 * fix instead of at the first push.
 */
export function loadApnsKey(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code ?? 'unreadable';
    throw new Error(
      `APNS_KEY_PATH=${path} cannot be read (${String(code)}): set APNS_KEY_PATH to the AuthKey_<APNS_KEY_ID>.p8 file downloaded from Apple Developer → Certificates, Identifiers & Profiles → Keys`,
    );
  }
  if (!text.includes('-----BEGIN PRIVATE KEY-----')) {
    throw new Error(
      `APNS_KEY_PATH=${path} is not a .p8 key (no "BEGIN PRIVATE KEY" PEM block): use the AuthKey_<APNS_KEY_ID>.p8 file as Apple issued it`,
    );
  }
  return text;
}

/**
 * The `apns-id` for an idempotency key: the first 16 bytes of its SHA-256 as a lowercase UUID
 * (version 8, "custom", RFC 9562), so every attempt of one push carries the same id.
 */
export function apnsIdFor(idempotencyKey: string): string {
  const b = createHash('sha256').update(idempotencyKey).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A signed provider token and when it was signed (ms, the provider's clock). */
interface ProviderToken {
  jwt: Promise<string>;
  issuedAt: number;
}

export class ApnsProvider implements NotificationProvider {
  readonly name = 'apns';
  /** Pushes go to registered devices (one per APNs device token), not to users. */
  readonly addresses = 'devices' as const;
  /** key, keyId, teamId, topic, ca as given. */
  readonly #o: ApnsProviderOptions;
  readonly #host: string;
  /** What error texts name: the host only. */
  readonly #where: string;
  readonly #now: () => number;
  readonly #refreshMs: number;
  #signingKey: ReturnType<typeof importPKCS8> | undefined;
  #token: ProviderToken | undefined;
  readonly #sessions: Http2Sessions;
  #closed = false;

  constructor(options: ApnsProviderOptions) {
    for (const [name, value] of [
      ['APNS_KEY_ID', options.keyId],
      ['APNS_TEAM_ID', options.teamId],
      ['APNS_TOPIC', options.topic],
    ] as const) {
      if (!value) throw new Error(`NOTIFICATION_PROVIDER=apns needs ${name}`);
    }
    const refreshMs = options.tokenRefreshMs ?? DEFAULT_TOKEN_REFRESH_MS;
    if (!(refreshMs >= 20 * MINUTE_MS && refreshMs < 60 * MINUTE_MS)) {
      throw new Error(
        `APNs tokenRefreshMs=${refreshMs} is outside 1200000–3599999 ms: Apple refuses tokens older than 60 min and renewals more often than every 20 min`,
      );
    }
    // Parsed here so a wrong file fails at startup; the error never quotes the key.
    if (!isP256PrivateKey(options.key)) {
      throw new Error(
        'the APNs key is not an EC P-256 private key in PEM: set APNS_KEY_PATH to the AuthKey_<APNS_KEY_ID>.p8 file Apple issued',
      );
    }
    this.#o = options;
    const host = new URL(options.host ?? APNS_PRODUCTION_HOST);
    if (host.protocol !== 'https:') throw new Error(`APNS_HOST=${host.origin} must be an https:// URL`);
    this.#host = host.origin;
    this.#where = host.host;
    this.#now = options.now ?? Date.now;
    this.#refreshMs = refreshMs;
    this.#sessions = new Http2Sessions(this.#host, options.ca);
  }

  async send(notification: PushNotification, signal?: AbortSignal): Promise<PushResult> {
    const target = notification.target;
    if (target?.provider !== 'apns') {
      const what = target?.provider ?? 'no device';
      return fail(`the apns provider sends to APNs device tokens only; this push targets ${what}`, false);
    }
    // Apple's tokens are hex (64 digits today, longer allowed); anything else also must not reach the :path.
    if (!/^[0-9a-fA-F]{16,400}$/.test(target.token)) {
      return fail('the APNs device token is not a hex string: the device is dropped', false, true);
    }
    const body = this.#payload(notification);
    if (signal?.aborted) return this.#unreachable(ABANDONED);
    if (this.#closed) return fail('the APNs provider is closed', true);

    const token = this.#currentToken();
    let jwt: string;
    try {
      jwt = await token.jwt;
    } catch {
      // Not expected once the constructor parsed the key; drop the failed token so the next push signs again.
      if (this.#token === token) this.#token = undefined;
      this.#signingKey = undefined;
      return fail('could not sign the APNs provider token with the key at APNS_KEY_PATH', false);
    }
    if (signal?.aborted) return this.#unreachable(ABANDONED);

    const nowMs = this.#now();
    const headers: Record<string, string> = {
      ':method': 'POST',
      ':path': `/3/device/${target.token}`,
      authorization: `bearer ${jwt}`,
      'apns-topic': this.#o.topic,
      'apns-push-type': 'alert',
      'apns-priority': notification.priority === 'high' ? '10' : '5',
      'content-type': 'application/json',
    };
    if (notification.collapseKey) headers['apns-collapse-id'] = collapseId(notification.collapseKey);
    // Absent ttl: no header, so Apple stores and retries the push for its own default period.
    if (notification.ttlSeconds !== undefined) {
      headers['apns-expiration'] =
        notification.ttlSeconds > 0 ? String(Math.floor(nowMs / 1000) + Math.ceil(notification.ttlSeconds)) : '0';
    }
    if (notification.idempotencyKey) headers['apns-id'] = apnsIdFor(notification.idempotencyKey);

    let session: ClientHttp2Session;
    let stream: ClientHttp2Stream;
    try {
      session = this.#sessions.current();
      stream = session.request(headers);
    } catch (error) {
      return this.#unreachable(codeOf(error));
    }
    this.#sessions.hold(session, +1);
    try {
      return await this.#exchange(session, stream, body, token, signal);
    } finally {
      this.#sessions.hold(session, -1);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#sessions.closeAll();
  }

  /** `{...data, aps}`: data cannot overwrite `aps`, which Apple reads for the alert. */
  #payload(n: PushNotification): string {
    const thread = n.data?.conversation_id;
    return JSON.stringify({
      ...n.data,
      aps: {
        alert: { title: n.title, body: n.content },
        sound: 'default',
        // Groups a conversation's notifications on the device.
        ...(typeof thread === 'string' && thread ? { 'thread-id': thread } : {}),
      },
    });
  }

  /** The provider token, signed again once `tokenRefreshMs` passed; concurrent pushes share one signing. */
  #currentToken(): ProviderToken {
    const now = this.#now();
    if (this.#token && now - this.#token.issuedAt < this.#refreshMs) return this.#token;
    this.#signingKey ??= importPKCS8(this.#o.key, 'ES256');
    const signingKey = this.#signingKey;
    const jwt = (async () =>
      new SignJWT({ iss: this.#o.teamId })
        .setProtectedHeader({ alg: 'ES256', kid: this.#o.keyId })
        .setIssuedAt(Math.floor(now / 1000))
        .sign(await signingKey))();
    this.#token = { jwt, issuedAt: now };
    return this.#token;
  }

  /** Sends the body and settles once the stream closed, whatever closed it. */
  #exchange(
    session: ClientHttp2Session,
    stream: ClientHttp2Stream,
    body: string,
    token: ProviderToken,
    signal: AbortSignal | undefined,
  ): Promise<PushResult> {
    return new Promise((resolve) => {
      let status: number | undefined;
      let apnsId: string | undefined;
      let ended = false;
      let failure: unknown;
      let size = 0;
      const chunks: Buffer[] = [];
      const onAbort = () => stream.close(constants.NGHTTP2_CANCEL);
      signal?.addEventListener('abort', onAbort, { once: true });

      stream.on('response', (headers) => {
        status = Number(headers[':status']);
        const id = headers['apns-id'];
        apnsId = typeof id === 'string' ? id : undefined;
      });
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_ERROR_BODY_BYTES) chunks.push(chunk);
      });
      stream.on('end', () => {
        ended = true;
      });
      stream.on('error', (error) => {
        failure = error;
      });
      stream.on('close', () => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) return resolve(this.#unreachable(ABANDONED));
        if (status !== undefined && ended) {
          return resolve(this.#outcome(status, apnsId, Buffer.concat(chunks).toString('utf8'), token));
        }
        const goaway = this.#sessions.goawayReason(session);
        const why = goaway
          ? `the connection was closed by a GOAWAY (${goaway}) before the answer`
          : failure
            ? codeOf(failure)
            : `the stream closed without an answer (code ${stream.rstCode ?? 'none'})`;
        resolve(this.#unreachable(why));
      });
      stream.end(body);
    });
  }

  #outcome(status: number, apnsId: string | undefined, text: string, token: ProviderToken): PushResult {
    if (status === 200) return apnsId ? { ok: true, providerMessageId: apnsId } : { ok: true };
    const reason = reasonOf(text);
    const hint = reason ? HINTS[reason] : undefined;
    const error = `APNs at ${this.#where} answered ${status}${reason ? ` ${reason}` : ''}${hint ? `: ${hint}` : ''}`;
    if (status === 410 || (reason !== undefined && GONE_REASONS.has(reason))) return fail(error, false, true);
    if (status === 403 && reason === 'ExpiredProviderToken') {
      // Renew at once (unless a concurrent push already did); the retry carries the new token.
      if (this.#token === token) this.#token = undefined;
      return fail(error, true);
    }
    // 429 is per device token or for token renewals; Apple sends no Retry-After, the policy backs off.
    return fail(error, status === 429 || status >= 500);
  }

  #unreachable(why: string): PushResult {
    return fail(`could not reach APNs at ${this.#where}: ${why}`, true);
  }
}

function isP256PrivateKey(pem: string): boolean {
  try {
    const key = createPrivateKey(pem);
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    return false;
  }
}

function fail(error: string, retryable: boolean, targetGone = false): PushResult {
  return targetGone ? { ok: false, error, retryable, targetGone } : { ok: false, error, retryable };
}

/** A collapse key longer than Apple's 64 bytes becomes its SHA-256 in hex (64 bytes): still one per key. */
function collapseId(key: string): string {
  return Buffer.byteLength(key) <= MAX_COLLAPSE_ID_BYTES ? key : createHash('sha256').update(key).digest('hex');
}

/**
 * A network error's code (ECONNREFUSED, a TLS verification code, ERR_HTTP2_STREAM_ERROR), never its
 * message; a stream cancelled because its session failed names the session's cause.
 */
function codeOf(error: unknown): string {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null;
  for (const code of [e?.cause?.code, e?.code]) {
    if (typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code)) return code;
  }
  return 'network error';
}
