/**
 * Compact HS256 JWTs (RFC 7519) signed and checked with node:crypto's synchronous HMAC. jose's
 * Web Crypto HMAC ran each sign and verify as an async crypto job: 12 % of an instance's CPU
 * while 5,000 clients reconnected (three HMACs each: access token, ticket out, ticket in), see
 * docs/benchmarks.md. Only what our tokens use: the algorithm is fixed, a header naming any
 * other (or `none`), carrying `crit`, or a signature that does not match is refused before a
 * claim is read. The header written is jose's (`{"alg":"HS256"}`), so tokens issued before the
 * switch still verify, and tokens issued now verify with jose (tested).
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256' })).toString('base64url');
const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** HMAC-SHA-256 output, bytes. */
const SIGNATURE_BYTES = 32;

export type Claims = Record<string, unknown>;

/** Why a token was refused: `expired` is told apart because clients can act on it (refresh). */
export class JwtRejected extends Error {
  constructor(readonly reason: 'malformed' | 'signature' | 'algorithm' | 'claims' | 'expired') {
    super(`JWT refused: ${reason}`);
  }
}

export class Hs256 {
  readonly #key: KeyObject;

  constructor(secret: string) {
    this.#key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  sign(claims: Claims): string {
    const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${signingInput}.${this.#mac(signingInput).toString('base64url')}`;
  }

  /**
   * The claims of a token signed with this key, checked for `iss`, `aud` (a string or a list
   * containing it), `exp` (required, seconds, in the future) and `nbf` (if present, not in
   * the future). `nowSeconds` is for tests.
   */
  verify(token: string, expect: { issuer: string; audience: string }, nowSeconds = Date.now() / 1000): Claims {
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((p) => p.length > 0 && BASE64URL.test(p))) {
      throw new JwtRejected('malformed');
    }
    const [header, payload, signature] = parts as [string, string, string];
    const given = Buffer.from(signature, 'base64url');
    const expected = this.#mac(`${header}.${payload}`);
    if (given.length !== SIGNATURE_BYTES || !timingSafeEqual(given, expected)) throw new JwtRejected('signature');

    const head = parseObject(header);
    if (head.alg !== 'HS256' || 'crit' in head || (head.typ !== undefined && head.typ !== 'JWT')) {
      throw new JwtRejected('algorithm');
    }
    const claims = parseObject(payload);
    const { iss, aud, exp, nbf } = claims;
    const audienceOk = aud === expect.audience || (Array.isArray(aud) && aud.includes(expect.audience));
    if (iss !== expect.issuer || !audienceOk || typeof exp !== 'number') throw new JwtRejected('claims');
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowSeconds)) throw new JwtRejected('claims');
    if (exp <= nowSeconds) throw new JwtRejected('expired');
    return claims;
  }

  #mac(signingInput: string): Buffer {
    return createHmac('sha256', this.#key).update(signingInput).digest();
  }
}

function parseObject(part: string): Claims {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new JwtRejected('malformed');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JwtRejected('malformed');
  return value as Claims;
}
