/**
 * Our HS256 JWTs against jose (an independent implementation): each verifies the other's
 * tokens, and every way a token can be wrong is refused with its reason.
 */
import { createHmac } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { Hs256, JwtRejected } from '../src/auth/hs256.ts';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const EXPECT = { issuer: 'anmei-realtime', audience: 'ws-ticket' };
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

function claims(overrides: Record<string, unknown> = {}) {
  return {
    sub: 'u1',
    role: 'customer',
    iss: EXPECT.issuer,
    aud: EXPECT.audience,
    jti: 'j1',
    exp: now() + 60,
    ...overrides,
  };
}

/** A token with any header and payload, correctly signed with SECRET (to test the checks after the signature). */
function handMade(header: unknown, payload: unknown): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

function reasonOf(token: string, jwt = new Hs256(SECRET)): string {
  try {
    jwt.verify(token, EXPECT);
  } catch (error) {
    if (error instanceof JwtRejected) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('Hs256', () => {
  it('verifies its own tokens and returns their claims', () => {
    const jwt = new Hs256(SECRET);
    const token = jwt.sign(claims());
    expect(jwt.verify(token, EXPECT)).toMatchObject({ sub: 'u1', role: 'customer', jti: 'j1' });
  });

  it('verifies tokens jose signed (tokens issued before the switch stay valid)', async () => {
    const token = await new SignJWT({ role: 'doctor' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u2')
      .setIssuer(EXPECT.issuer)
      .setAudience(EXPECT.audience)
      .setJti('j2')
      .setIssuedAt()
      .setExpirationTime('30s')
      .sign(key);
    expect(new Hs256(SECRET).verify(token, EXPECT)).toMatchObject({ sub: 'u2', role: 'doctor' });
  });

  it('writes tokens jose accepts, with the same header jose writes', async () => {
    const token = new Hs256(SECRET).sign(claims());
    const { payload, protectedHeader } = await jwtVerify(token, key, { ...EXPECT, algorithms: ['HS256'] });
    expect(protectedHeader).toEqual({ alg: 'HS256' });
    expect(payload.sub).toBe('u1');
  });

  it('refuses a token signed with another key, or altered after signing', () => {
    const mine = new Hs256(SECRET).sign(claims());
    expect(reasonOf(new Hs256('another-secret-of-at-least-32-bytes').sign(claims()))).toBe('signature');
    const [h, , s] = mine.split('.');
    const altered = Buffer.from(JSON.stringify(claims({ role: 'admin' }))).toString('base64url');
    expect(reasonOf(`${h}.${altered}.${s}`)).toBe('signature');
  });

  it('refuses any algorithm but HS256, and headers with crit, even when the HMAC matches', async () => {
    expect(reasonOf(handMade({ alg: 'none' }, claims()))).toBe('algorithm');
    expect(reasonOf(handMade({ alg: 'HS512' }, claims()))).toBe('algorithm');
    expect(reasonOf(handMade({ alg: 'HS256', crit: ['b64'], b64: false }, claims()))).toBe('algorithm');
    expect(reasonOf(handMade({ alg: 'HS256', typ: 'at+jwt' }, claims()))).toBe('algorithm');
    // A real HS512 token: its 64-byte signature is not ours.
    const hs512 = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS512' }).sign(key);
    expect(reasonOf(hs512)).toBe('signature');
    // `alg: none` tokens have an empty signature part.
    expect(reasonOf(`${handMade({ alg: 'none' }, claims()).split('.').slice(0, 2).join('.')}.`)).toBe('malformed');
  });

  it('refuses the wrong issuer or audience, a missing exp and a future nbf', () => {
    expect(reasonOf(handMade({ alg: 'HS256' }, claims({ iss: 'someone-else' })))).toBe('claims');
    expect(reasonOf(handMade({ alg: 'HS256' }, claims({ aud: 'api' })))).toBe('claims');
    expect(reasonOf(handMade({ alg: 'HS256' }, claims({ aud: ['api', 'ws-ticket'] })))).toBe('accepted');
    expect(reasonOf(handMade({ alg: 'HS256' }, claims({ exp: undefined })))).toBe('claims');
    expect(reasonOf(handMade({ alg: 'HS256' }, claims({ exp: String(now() + 60) })))).toBe('claims');
    expect(reasonOf(handMade({ alg: 'HS256' }, claims({ nbf: now() + 60 })))).toBe('claims');
    expect(reasonOf(handMade({ alg: 'HS256' }, claims({ nbf: now() - 1 })))).toBe('accepted');
  });

  it('says a token whose exp has passed is expired', () => {
    expect(reasonOf(handMade({ alg: 'HS256' }, claims({ exp: now() - 1 })))).toBe('expired');
    const jwt = new Hs256(SECRET);
    const token = jwt.sign(claims({ exp: 1_000 }));
    expect(() => jwt.verify(token, EXPECT, 999.5)).not.toThrow();
    expect(() => jwt.verify(token, EXPECT, 1_000)).toThrow(JwtRejected);
  });

  it('refuses malformed tokens without reading them further', () => {
    for (const token of ['', 'abc', 'a.b', 'a.b.c.d', 'a b.c.d', '..', 'e30.e30.!!!', 'bm90IGpzb24.e30.e30']) {
      expect([token, reasonOf(token)]).toEqual([token, expect.stringMatching(/^(malformed|signature)$/)]);
    }
    expect(reasonOf(handMade(['alg', 'HS256'], claims()))).toBe('malformed');
    expect(reasonOf(handMade({ alg: 'HS256' }, 'a string'))).toBe('malformed');
  });
});
