/**
 * HTTP rate limits (issue #15) against a real server with its default limits: login and sign-up
 * per client address and per username, tickets and uploads per user. Every refusal is 429
 * RATE_LIMITED problem+json with Retry-After, answered before the password is hashed.
 * The client address comes from X-Forwarded-For only through a trusted proxy (TRUST_PROXY).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { DEMO_PASSWORD } from './support/api-client.ts';
import { FACIAL, type HttpResult, startTestApp, type TestApp } from './support/test-app.ts';

let app: TestApp;
/** Each test gets its own forwarded addresses, so per-address counters never mix between tests. */
let nextAddress = 1;
const address = () => `203.0.113.${nextAddress++}`;

beforeAll(async () => {
  // Defaults for every limit; the test app connects from 127.0.0.1, a trusted proxy by default.
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

function login(username: string, password: string, from: string): Promise<HttpResult> {
  return app.http('POST', '/api/v1/auth/login', {
    body: { username, password },
    headers: { 'x-forwarded-for': from },
  });
}

function expectLimited(res: HttpResult, detail: string): number {
  expect(res.status).toBe(429);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
  expect(res.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  expect(res.body.detail).toContain(detail);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  return retryAfter;
}

/** Statuses of `count` attempts, one after the other (the counters are exact). */
async function statuses(count: number, attempt: (i: number) => Promise<HttpResult>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push((await attempt(i)).status);
  return out;
}

describe('login', () => {
  it('answers 429 after RATE_LIMIT_LOGIN_PER_IP=20 attempts from one address, whatever the usernames', async () => {
    const from = address();
    const seen = await statuses(20, (i) => login(`nobody_${i}`, 'wrong-password', from));
    expect(seen).toEqual(Array(20).fill(401));
    const refused = await login('customer_789', DEMO_PASSWORD, from);
    const retryAfter = expectLimited(refused, 'Too many login attempts from this address: at most 20 per 60 s');
    expect(refused.body.detail).toContain('RATE_LIMIT_LOGIN_PER_IP');
    console.log(
      `[rate-limits-http] per address: 20 tries answered 401, try 21 answered 429 (Retry-After ${retryAfter} s)`,
    );
    // Another address is not affected.
    expect((await login('customer_789', DEMO_PASSWORD, address())).status).toBe(200);
  });

  it('answers 429 after RATE_LIMIT_LOGIN_PER_USERNAME=5 attempts on one username from any addresses, before checking the password', async () => {
    const seen = await statuses(5, () => login('doctor_001', 'wrong-password', address()));
    expect(seen).toEqual(Array(5).fill(401));
    // The right password from a fresh address is refused too: the limit runs before the hash.
    const refused = await login('doctor_001', DEMO_PASSWORD, address());
    const retryAfter = expectLimited(refused, 'Too many login attempts for this username: at most 5 per 60 s');
    expect(refused.body.detail).toContain('RATE_LIMIT_LOGIN_PER_USERNAME');
    // Case does not buy a fresh budget.
    expectLimited(await login('DOCTOR_001', DEMO_PASSWORD, address()), 'for this username');
    console.log(
      `[rate-limits-http] per username: 5 tries answered 401, try 6 (right password) answered 429 (Retry-After ${retryAfter} s)`,
    );
    // Other accounts log in as usual.
    expect((await login('consultant_001', DEMO_PASSWORD, address())).status).toBe(200);
  });

  it('counts a request refused by validation against the address, not the username', async () => {
    const from = address();
    const bad = await app.http('POST', '/api/v1/auth/login', {
      body: { username: 'admin' },
      headers: { 'x-forwarded-for': from },
    });
    expect(bad.status).toBe(400);
    expect((await login('admin', DEMO_PASSWORD, from)).status).toBe(200);
  });
});

describe('sign-up', () => {
  const register = (username: string, from: string) =>
    app.http('POST', '/api/v1/auth/register', {
      body: { username, password: 'long-enough-1', display_name: 'Rate Test' },
      headers: { 'x-forwarded-for': from },
    });

  it('answers 429 after RATE_LIMIT_REGISTER_PER_IP=5 sign-ups from one address', async () => {
    const from = address();
    const seen = await statuses(5, (i) => register(`rl_signup_${i}`, from));
    expect(seen).toEqual(Array(5).fill(201));
    const refused = await register('rl_signup_5', from);
    expectLimited(refused, 'Too many sign-ups from this address: at most 5 per 60 s (RATE_LIMIT_REGISTER_PER_IP)');
    // Nothing was created for the refused one: it signs up from elsewhere.
    expect((await register('rl_signup_5', address())).status).toBe(201);
  });

  it('answers 429 after RATE_LIMIT_REGISTER_PER_USERNAME=5 attempts on one username', async () => {
    const seen = await statuses(5, () => register('rl_taken', address()));
    expect(seen).toEqual([201, 409, 409, 409, 409]);
    expectLimited(await register('rl_taken', address()), 'Too many sign-up attempts for this username');
  });
});

describe('tickets and uploads', () => {
  it('answers 429 after RATE_LIMIT_TICKETS_PER_USER=60 tickets for one user, from any address', async () => {
    const { token } = await app.login('customer_789');
    const ticket = (from: string) =>
      app.http('POST', '/api/v1/ws/ticket', { token, headers: { 'x-forwarded-for': from } });
    const seen = await statuses(60, () => ticket(address()));
    expect(seen).toEqual(Array(60).fill(200));
    const refused = await ticket(address());
    expectLimited(
      refused,
      'Too many WebSocket tickets for this user: at most 60 per 60 s (RATE_LIMIT_TICKETS_PER_USER)',
    );
    // Another user still gets tickets; an unauthenticated request is 401, not counted.
    const other = await app.login('consultant_001');
    expect((await app.http('POST', '/api/v1/ws/ticket', { token: other.token })).status).toBe(200);
    expect((await app.http('POST', '/api/v1/ws/ticket')).status).toBe(401);
  });

  it('answers 429 after RATE_LIMIT_UPLOADS_PER_USER=30 uploads by one user', async () => {
    const { token } = await app.login('customer_456');
    const upload = async (i: number) => {
      const form = new FormData();
      form.append('client_message_id', `rl-upload-${i}`);
      form.append('file', new Blob([`note ${i}`], { type: 'text/plain' }), `note-${i}.txt`);
      const response = await fetch(`${app.baseUrl}/api/v1/chat/${app.conversationId(FACIAL)}/attachments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      });
      return { status: response.status, headers: response.headers, body: await response.json() } as HttpResult;
    };
    const seen = await statuses(30, upload);
    expect(seen).toEqual(Array(30).fill(200));
    expectLimited(await upload(30), 'Too many uploads by this user: at most 30 per 60 s (RATE_LIMIT_UPLOADS_PER_USER)');
  });
});

describe('client address behind proxies', () => {
  it('believes X-Forwarded-For only from a trusted proxy, and only its right-most untrusted entry', async () => {
    const limited = await startTestApp({ TRUST_PROXY: 'false', RATE_LIMIT_LOGIN_PER_IP: '2' });
    try {
      // Not trusted: two different forwarded addresses are still one client, 127.0.0.1.
      const tries = [
        await limited.http('POST', '/api/v1/auth/login', {
          body: { username: 'x', password: 'y' },
          headers: { 'x-forwarded-for': '198.51.100.1' },
        }),
        await limited.http('POST', '/api/v1/auth/login', {
          body: { username: 'x', password: 'y' },
          headers: { 'x-forwarded-for': '198.51.100.2' },
        }),
        await limited.http('POST', '/api/v1/auth/login', {
          body: { username: 'x', password: 'y' },
          headers: { 'x-forwarded-for': '198.51.100.3' },
        }),
      ];
      expect(tries.map((r) => r.status)).toEqual([401, 401, 429]);
    } finally {
      await limited.close();
    }
    // Trusted (the default): a client cannot pick its address by writing to the left of what the
    // proxy appended; `spoofed, real` counts as `real`.
    const real = address();
    const seen = await statuses(20, (i) => login(`spoof_${i}`, 'x', `10.9.9.${i}, ${real}`));
    expect(seen).toEqual(Array(20).fill(401));
    expectLimited(await login('spoof_x', 'x', real), 'from this address');
  });
});

describe('configuration', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({}).limits).toEqual({
      windowSeconds: 60,
      loginPerIp: 20,
      loginPerUsername: 5,
      registerPerIp: 5,
      registerPerUsername: 5,
      ticketsPerUser: 60,
      uploadsPerUser: 30,
      wsUpgradesPerIp: 300,
      wsConnectionsPerUser: 20,
      wsConnectionsPerIp: 500,
      wsFrameRate: 20,
      wsFrameBurst: 40,
    });
  });

  it('TRUST_PROXY expands names, takes addresses and CIDR ranges, and names the entry it cannot read', () => {
    expect(loadConfig({}).trustProxy).toEqual([
      '127.0.0.0/8',
      '::1/128',
      '169.254.0.0/16',
      'fe80::/10',
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.0.0/16',
      'fc00::/7',
    ]);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toEqual([]);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.7,2001:db8::/32' }).trustProxy).toEqual(['10.0.0.7/32', '2001:db8::/32']);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(
      'invalid configuration: TRUST_PROXY entry "10.0.0.0/33" is not an address, a CIDR range (10.0.0.0/8) or one of loopback, linklocal, uniquelocal; use false to trust no proxy',
    );
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow('TRUST_PROXY entry "true"');
  });
});
