/**
 * A Google service account's credentials: the key JSON of FIREBASE_CREDENTIALS_PATH, checked at
 * start-up, and the OAuth2 access tokens it is exchanged for (RFC 7523 JWT-bearer grant at its
 * `token_uri`), cached until 60 s before they expire and shared by concurrent callers. Used by
 * the FCM provider; the HTTP round trip is the caller's (its keep-alive pool and error texts).
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { importPKCS8, SignJWT } from 'jose';
import { type Answer, type Failure, failed, type Posted, parseJson, unreachable } from './push-http.ts';

/** The fields of a Google service-account key JSON this provider uses. */
export interface ServiceAccount {
  project_id: string;
  client_email: string;
  /** PEM (PKCS#8) RSA private key; never logged or put in an error text. */
  private_key: string;
  /** Where the JWT grant goes (Google's: https://oauth2.googleapis.com/token); also the JWT's `aud`. */
  token_uri: string;
  /** Sent as the JWT's `kid` when present, so the token endpoint picks the right public key. */
  private_key_id?: string | undefined;
}

const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Lifetime of the signed grant JWT, in s: Google accepts at most 3600. */
const GRANT_LIFETIME_S = 3600;
/** An access token is replaced this long (ms) before its `expires_in`, so no send races its expiry. */
const REFRESH_MARGIN_MS = 60_000;
/** The token request is shared by every waiting send, so no caller's signal may end it; it has its own deadline (ms). */
const TOKEN_TIMEOUT_MS = 30_000;

export const NEW_KEY_HINT =
  'download a new key in the Firebase console (Project settings → Service accounts → Generate new private key)';

/**
 * Reads and checks the service-account key JSON at `path` (config FIREBASE_CREDENTIALS_PATH).
 * Throws at startup with the variable, the path and the missing or bad field named.
 */
export function loadServiceAccount(path: string): ServiceAccount {
  const where = `FIREBASE_CREDENTIALS_PATH=${path}`;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code
        ? `${where} cannot be read (${code}): point it at the Firebase service-account key JSON`
        : `${where} is not JSON: point it at the Firebase service-account key JSON; ${NEW_KEY_HINT}`,
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`${where} is not a JSON object: ${NEW_KEY_HINT}`);
  }
  const record = json as Record<string, unknown>;
  if ('project_info' in record) {
    throw new Error(`${where} is an app's google-services.json, not a service-account key: ${NEW_KEY_HINT}`);
  }
  for (const field of ['project_id', 'client_email', 'private_key', 'token_uri'] as const) {
    if (typeof record[field] !== 'string' || record[field] === '') {
      throw new Error(`${where}: the service-account JSON has no "${field}" (a non-empty string): ${NEW_KEY_HINT}`);
    }
  }
  const { project_id, client_email, private_key, token_uri } = record as unknown as ServiceAccount;
  if (!URL.canParse(token_uri) || new URL(token_uri).protocol !== 'https:') {
    throw new Error(`${where}: "token_uri" must be an https URL (Google's is https://oauth2.googleapis.com/token)`);
  }
  if (keyTypeOf(private_key) !== 'rsa') {
    throw new Error(`${where}: "private_key" is not a PEM RSA private key: ${NEW_KEY_HINT}`);
  }
  const kid = typeof record.private_key_id === 'string' ? record.private_key_id : undefined;
  return { project_id, client_email, private_key, token_uri, ...(kid ? { private_key_id: kid } : {}) };
}

export type TokenOutcome = { ok: true; token: string } | Failure;

export interface GoogleAccessTokensOptions {
  account: ServiceAccount;
  now: () => number;
  /** One POST (the caller's keep-alive pool): `{answer}`, or `{failure}` with the error's code. */
  post(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal | undefined): Promise<Posted>;
  /** The caller's mapping of a non-success answer (retryable statuses, Retry-After). */
  failure(error: string, answer: Answer): Failure;
}

export class GoogleAccessTokens {
  readonly #o: GoogleAccessTokensOptions;
  readonly #tokenUrl: URL;
  #key: Promise<CryptoKey> | undefined;
  #token: { value: string; expiresAt: number } | undefined;
  /** The token request in flight; every caller that needs a token waits for this one. */
  #exchanging: Promise<TokenOutcome> | undefined;

  constructor(options: GoogleAccessTokensOptions) {
    this.#o = options;
    this.#tokenUrl = new URL(options.account.token_uri);
  }

  /** Where tokens come from (for error texts: its host only). */
  get url(): URL {
    return this.#tokenUrl;
  }

  /** Drops `token` if it is still the cached one (the API refused it): the next `get` exchanges anew. */
  forget(token: string): void {
    if (this.#token?.value === token) this.#token = undefined;
  }

  /** The cached access token while it has more than REFRESH_MARGIN_MS left, else the (shared) exchange's. */
  get(): Promise<TokenOutcome> {
    const cached = this.#token;
    if (cached && this.#o.now() < cached.expiresAt - REFRESH_MARGIN_MS)
      return Promise.resolve({ ok: true, token: cached.value });
    this.#exchanging ??= this.#exchange().finally(() => {
      this.#exchanging = undefined;
    });
    return this.#exchanging;
  }

  /** The JWT-bearer grant (RFC 7523 §2.1) at the service account's `token_uri`. */
  async #exchange(): Promise<TokenOutcome> {
    const account = this.#o.account;
    let assertion: string;
    try {
      this.#key ??= importPKCS8(account.private_key, 'RS256');
      const iat = Math.floor(this.#o.now() / 1000);
      assertion = await new SignJWT({ scope: FCM_SCOPE })
        .setProtectedHeader({
          alg: 'RS256',
          typ: 'JWT',
          ...(account.private_key_id ? { kid: account.private_key_id } : {}),
        })
        .setIssuer(account.client_email)
        .setAudience(account.token_uri)
        .setIssuedAt(iat)
        .setExpirationTime(iat + GRANT_LIFETIME_S)
        .sign(await this.#key);
    } catch {
      const who = `the private_key of the Firebase service account ${account.client_email}`;
      return failed(`${who} cannot sign RS256 JWTs: ${NEW_KEY_HINT} and set FIREBASE_CREDENTIALS_PATH to it`, false);
    }
    const form = new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString();
    const deadline = AbortSignal.timeout(TOKEN_TIMEOUT_MS);
    const formType = { 'content-type': 'application/x-www-form-urlencoded' };
    const posted = await this.#o.post(this.#tokenUrl, formType, form, deadline);
    if ('failure' in posted) {
      return unreachable(this.#tokenUrl, deadline.aborted ? `no answer within ${TOKEN_TIMEOUT_MS} ms` : posted.failure);
    }
    const { answer } = posted;
    const json = parseJson(answer.body) as Record<string, unknown> | undefined;
    if (answer.status === 200 && typeof json?.access_token === 'string') {
      const expiresInS = typeof json.expires_in === 'number' ? json.expires_in : GRANT_LIFETIME_S;
      this.#token = { value: json.access_token, expiresAt: this.#o.now() + expiresInS * 1000 };
      return { ok: true, token: json.access_token };
    }
    const code = typeof json?.error === 'string' ? ` ${json.error}` : '';
    const description = typeof json?.error_description === 'string' ? ` (${json.error_description.slice(0, 200)})` : '';
    const said = `the token endpoint ${this.#tokenUrl.host} answered ${answer.status}${code}${description}`;
    if (answer.status === 400 || answer.status === 401) {
      const clock = `an "Invalid JWT" about iat/exp means this server's clock is off`;
      const fix = `${NEW_KEY_HINT} and set FIREBASE_CREDENTIALS_PATH to it (${clock})`;
      return failed(
        `${said} for the service account ${account.client_email}: the credentials are wrong; ${fix}`,
        false,
      );
    }
    if (answer.status === 200) return failed(`${said} without an access_token`, true);
    return this.#o.failure(said, answer);
  }
}

function keyTypeOf(pem: string): string | undefined {
  try {
    return createPrivateKey(pem).asymmetricKeyType;
  } catch {
    return undefined;
  }
}
