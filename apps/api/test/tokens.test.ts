/**
 * Access tokens and tickets (TokenService on fast-jwt) against jose, an independent
 * implementation: each verifies the other's tokens, and every way a token can be wrong is
 * refused with the catalogued code (TOKEN_INVALID / TICKET_INVALID; "expired" said so).
 */
import { createHmac } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenService } from '../src/auth/tokens.ts';
import { AppError } from '../src/errors.ts';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const ISSUER = 'anmei-realtime';
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const tokens = new TokenService({ secret: SECRET, accessTtlSeconds: 60, ticketTtlSeconds: 30 });

function claims(overrides: Record<string, unknown> = {}) {
  return { sub: 'u1', role: 'customer', iss: ISSUER, aud: 'ws-ticket', jti: 'j1', exp: now() + 60, ...overrides };
}

/** A token with any header and payload, correctly signed with SECRET (to test the checks after the signature). */
function handMade(header: unknown, payload: unknown): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

/** 'accepted', or the code and message a ticket was refused with. */
async function ticketOutcome(token: string): Promise<string> {
  try {
    await tokens.verifyTicket(token);
    return 'accepted';
  } catch (error) {
    if (error instanceof AppError) return error.message === 'The token has expired.' ? 'expired' : error.code;
    throw error;
  }
}

describe('TokenService', () => {
  it('verifies its own access tokens and tickets, each only as what it is', async () => {
    const user = { userId: 'u1', role: 'doctor' as const };
    const access = await tokens.issueAccessToken(user);
    const ticket = await tokens.issueTicket(user);
    expect(await tokens.verifyAccessToken(access)).toEqual(user);
    expect(await tokens.verifyTicket(ticket)).toMatchObject({ ...user, jti: expect.any(String) });
    await expect(tokens.verifyAccessToken(ticket)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    await expect(tokens.verifyTicket(access)).rejects.toMatchObject({ code: 'TICKET_INVALID' });
  });

  it('verifies tickets jose signed (tokens issued before the switch stay valid)', async () => {
    const token = await new SignJWT({ role: 'doctor' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u2')
      .setIssuer(ISSUER)
      .setAudience('ws-ticket')
      .setJti('j2')
      .setIssuedAt()
      .setExpirationTime('30s')
      .sign(key);
    expect(await tokens.verifyTicket(token)).toMatchObject({ userId: 'u2', role: 'doctor', jti: 'j2' });
  });

  it('writes tokens jose accepts, with the claims in the order jose writes them', async () => {
    const token = await tokens.issueAccessToken({ userId: 'u1', role: 'customer' });
    const { payload, protectedHeader } = await jwtVerify(token, key, {
      issuer: ISSUER,
      audience: 'api',
      algorithms: ['HS256'],
    });
    expect(protectedHeader.alg).toBe('HS256');
    expect(Object.keys(payload)).toEqual(['role', 'sub', 'iss', 'aud', 'jti', 'iat', 'exp']);
  });

  it('refuses a token signed with another key, or altered after signing', async () => {
    const other = new TokenService({
      secret: 'another-secret-of-at-least-32-bytes',
      accessTtlSeconds: 60,
      ticketTtlSeconds: 30,
    });
    expect(await ticketOutcome(await other.issueTicket({ userId: 'u1', role: 'customer' }))).toBe('TICKET_INVALID');
    const [h, , s] = (await tokens.issueTicket({ userId: 'u1', role: 'customer' })).split('.');
    const altered = Buffer.from(JSON.stringify(claims({ role: 'admin' }))).toString('base64url');
    expect(await ticketOutcome(`${h}.${altered}.${s}`)).toBe('TICKET_INVALID');
  });

  it('refuses any algorithm but HS256, and a malformed crit header, even when the HMAC matches', async () => {
    expect(await ticketOutcome(handMade({ alg: 'none' }, claims()))).toBe('TICKET_INVALID');
    expect(await ticketOutcome(handMade({ alg: 'HS512' }, claims()))).toBe('TICKET_INVALID');
    expect(await ticketOutcome(handMade({ alg: 'HS256', crit: ['alg'] }, claims()))).toBe('TICKET_INVALID');
    expect(await ticketOutcome(await new SignJWT(claims()).setProtectedHeader({ alg: 'HS512' }).sign(key))).toBe(
      'TICKET_INVALID',
    );
    expect(await ticketOutcome(`${handMade({ alg: 'none' }, claims()).split('.').slice(0, 2).join('.')}.`)).toBe(
      'TICKET_INVALID',
    );
  });

  it('refuses the wrong issuer or audience, missing required claims, an unknown role and a future nbf', async () => {
    expect(await ticketOutcome(handMade({ alg: 'HS256' }, claims({ iss: 'someone-else' })))).toBe('TICKET_INVALID');
    expect(await ticketOutcome(handMade({ alg: 'HS256' }, claims({ aud: 'api' })))).toBe('TICKET_INVALID');
    expect(await ticketOutcome(handMade({ alg: 'HS256' }, claims({ aud: ['api', 'ws-ticket'] })))).toBe('accepted');
    for (const missing of ['exp', 'sub', 'jti']) {
      expect([missing, await ticketOutcome(handMade({ alg: 'HS256' }, claims({ [missing]: undefined })))]).toEqual([
        missing,
        'TICKET_INVALID',
      ]);
    }
    expect(await ticketOutcome(handMade({ alg: 'HS256' }, claims({ role: 'root' })))).toBe('TICKET_INVALID');
    expect(await ticketOutcome(handMade({ alg: 'HS256' }, claims({ nbf: now() + 60 })))).toBe('TICKET_INVALID');
    expect(await ticketOutcome(handMade({ alg: 'HS256' }, claims({ nbf: now() - 1 })))).toBe('accepted');
  });

  it('says a token whose exp has passed is expired', async () => {
    expect(await ticketOutcome(handMade({ alg: 'HS256' }, claims({ exp: now() - 1 })))).toBe('expired');
  });

  it('refuses malformed tokens', async () => {
    for (const token of ['', 'abc', 'a.b', 'a.b.c.d', 'a b.c.d', '..', 'e30.e30.!!!', 'bm90IGpzb24.e30.e30']) {
      expect([token, await ticketOutcome(token)]).toEqual([token, 'TICKET_INVALID']);
    }
    expect(await ticketOutcome(handMade(['alg', 'HS256'], claims()))).toBe('TICKET_INVALID');
    expect(await ticketOutcome(handMade({ alg: 'HS256' }, 'a string'))).toBe('TICKET_INVALID');
  });
});
