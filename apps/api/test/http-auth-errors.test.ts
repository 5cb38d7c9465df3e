/**
 * HTTP authentication and the error contract: every failure leaves as one RFC 9457
 * problem+json with a catalogued code, no credential is ever echoed in a response or a log.
 * Real API on port 0, real fetch.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../src/db/seed.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';

let app: TestApp;
/** Every access token and ticket this file obtained; none may ever show up in a log line. */
const issued = new Set<string>();

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.close();
});

type Res = Awaited<ReturnType<TestApp['http']>>;

async function login(username: string): Promise<string> {
  const { token } = await app.login(username);
  issued.add(token);
  return token;
}

async function ticket(username: string): Promise<string> {
  const t = await app.ticket(await login(username));
  issued.add(t);
  return t;
}

/** Raw fetch, for bodies and headers the JSON helper would normalise. */
async function raw(method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}) {
  const response = await fetch(`${app.baseUrl}${path}`, { method, ...init });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text ? JSON.parse(text) : null } as Res & {
    text: string;
  };
}

/** The RFC 9457 shape with our code, the matching HTTP status and the request path as instance. */
function expectProblem(res: Res, status: number, code: string, instance?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
  const { issues, ...rest } = res.body as Record<string, unknown>;
  expect(Object.keys(rest).sort()).toEqual(['code', 'detail', 'instance', 'status', 'title', 'type']);
  expect(rest).toMatchObject({
    type: `urn:anmei:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    status,
    code,
  });
  expect(typeof rest.title).toBe('string');
  expect(typeof rest.detail).toBe('string');
  expect((rest.detail as string).length).toBeGreaterThan(0);
  expect(typeof rest.instance).toBe('string');
  if (instance !== undefined) expect(rest.instance).toBe(instance);
  if (issues !== undefined) expect(issues).toEqual(expect.arrayContaining([expect.any(String)]));
  const text = JSON.stringify(res.body);
  for (const secret of issued) expect(text).not.toContain(secret);
  expect(text).not.toContain(DEMO_PASSWORD);
}

describe('login', () => {
  it('returns an access token, its type and lifetime, and the user', async () => {
    const res = await app.http('POST', '/api/v1/auth/login', {
      body: { username: 'customer_456', password: DEMO_PASSWORD },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    issued.add(res.body.access_token);
    expect(res.body).toEqual({
      access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      token_type: 'bearer',
      expires_in: 3600,
      user: { id: app.userId('customer_456'), username: 'customer_456', display_name: '王小姐', role: 'customer' },
    });
    const me = await app.http('GET', '/api/v1/auth/me', { token: res.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual(res.body.user);
  });

  it('answers a wrong password and an unknown user with the same 401 INVALID_CREDENTIALS', async () => {
    const wrongPassword = await app.http('POST', '/api/v1/auth/login', {
      body: { username: 'customer_456', password: 'not-the-password' },
    });
    const unknownUser = await app.http('POST', '/api/v1/auth/login', {
      body: { username: `nobody_${randomUUID().slice(0, 8)}`, password: DEMO_PASSWORD },
    });
    expectProblem(wrongPassword, 401, 'INVALID_CREDENTIALS', '/api/v1/auth/login');
    expectProblem(unknownUser, 401, 'INVALID_CREDENTIALS', '/api/v1/auth/login');
    expect(unknownUser.body).toEqual(wrongPassword.body);
  });

  it('accepts the returned token_type as the Authorization scheme (schemes are case-insensitive)', async () => {
    const res = await app.http('POST', '/api/v1/auth/login', {
      body: { username: 'doctor_001', password: DEMO_PASSWORD },
    });
    issued.add(res.body.access_token);
    for (const scheme of [res.body.token_type, 'Bearer', 'BEARER']) {
      const me = await app.http('GET', '/api/v1/auth/me', {
        headers: { authorization: `${scheme} ${res.body.access_token}` },
      });
      expect(me.status, scheme).toBe(200);
      expect(me.body.username).toBe('doctor_001');
    }
  });
});

describe('bearer authentication', () => {
  it('without an Authorization header: 401 UNAUTHENTICATED', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/auth/me'],
      ['GET', '/api/v1/conversations'],
      ['POST', '/api/v1/ws/ticket'],
      ['GET', `/api/v1/chat/${app.conversationId(FACIAL)}/messages`],
    ] as const) {
      expectProblem(await app.http(method, path), 401, 'UNAUTHENTICATED', path);
    }
  });

  it('with another scheme or an empty bearer: 401 UNAUTHENTICATED', async () => {
    for (const authorization of ['Basic Y3VzdG9tZXJfNDU2OmRlbW8xMjM0', 'Bearer', 'Bearer ', 'Bearer a b', 'Token x']) {
      const res = await app.http('GET', '/api/v1/auth/me', { headers: { authorization } });
      expectProblem(res, 401, 'UNAUTHENTICATED', '/api/v1/auth/me');
    }
  });

  it('with a garbage or forged token: 401 TOKEN_INVALID', async () => {
    const forged = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(app.userId('admin'))
      .setIssuer('anmei-realtime')
      .setAudience('api')
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('some-other-secret-of-at-least-32-chars!!'));
    for (const token of ['garbage', 'a.b.c', forged]) {
      expectProblem(await app.http('GET', '/api/v1/auth/me', { token }), 401, 'TOKEN_INVALID', '/api/v1/auth/me');
    }
  });

  it('with an expired token: 401 TOKEN_INVALID saying it expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ role: 'customer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(app.userId('customer_456'))
      .setIssuer('anmei-realtime')
      .setAudience('api')
      .setJti(randomUUID())
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(new TextEncoder().encode(app.built.ctx.config.auth.jwtSecret));
    issued.add(expired);
    const res = await app.http('GET', '/api/v1/conversations', { token: expired });
    expectProblem(res, 401, 'TOKEN_INVALID', '/api/v1/conversations');
    expect(res.body.detail).toBe('The token has expired.');
  });

  it('refuses a WebSocket ticket used as an access token', async () => {
    const t = await ticket('customer_456');
    for (const [method, path] of [
      ['GET', '/api/v1/auth/me'],
      ['POST', '/api/v1/ws/ticket'],
      ['GET', '/api/v1/conversations'],
    ] as const) {
      expectProblem(await app.http(method, path, { token: t }), 401, 'TOKEN_INVALID', path);
    }
  });

  it('asks for credentials before judging the body (401, not 400, without a token)', async () => {
    const id = app.conversationId(FACIAL);
    expectProblem(
      await app.http('POST', `/api/v1/chat/${id}/send`, { body: { nonsense: true } }),
      401,
      'UNAUTHENTICATED',
    );
    expectProblem(
      await app.http('POST', '/api/v1/admin/notifications', { body: { nonsense: true } }),
      401,
      'UNAUTHENTICATED',
    );
  });
});

describe('admin routes', () => {
  const adminRoutes = () => {
    const conversationId = app.conversationId(FACIAL);
    const userId = app.userId('customer_456');
    return [
      ['POST', '/api/v1/admin/notifications', { conversation_id: conversationId, title: 't', message: 'm' }],
      ['POST', '/api/v1/admin/mobile-notifications', { conversation_id: conversationId, title: 't', content: 'c' }],
      ['POST', '/api/v1/admin/direct-messages', { user_id: userId, content: 'c' }],
      ['GET', `/api/v1/admin/users/${userId}/devices`, undefined],
      ['GET', '/api/v1/admin/stats', undefined],
    ] as const;
  };

  it('refuses every admin route to customers, consultants and doctors with 403 FORBIDDEN', async () => {
    for (const username of ['customer_456', 'consultant_001', 'doctor_001']) {
      const token = await login(username);
      for (const [method, path, body] of adminRoutes()) {
        const res = await app.http(method, path, { token, ...(body ? { body } : {}) });
        expectProblem(res, 403, 'FORBIDDEN', path);
      }
    }
  });

  it('refuses a non-admin with 403 whatever the body (the role is checked before the body)', async () => {
    const token = await login('consultant_001');
    for (const [method, path, body] of adminRoutes()) {
      if (!body) continue;
      expectProblem(await app.http(method, path, { token, body: {} }), 403, 'FORBIDDEN', path);
      expectProblem(await app.http(method, path, { token, body: { ...body, extra: 1 } }), 403, 'FORBIDDEN', path);
    }
  });

  it('lets the admin use every admin route', async () => {
    const token = await login('admin');
    for (const [method, path, body] of adminRoutes()) {
      const res = await app.http(method, path, { token, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  });
});

describe('request errors', () => {
  it('a malformed JSON body is 400 MALFORMED_JSON and the body is not echoed', async () => {
    const res = await raw('POST', '/api/v1/auth/login', {
      headers: { 'content-type': 'application/json' },
      body: `{"username": "customer_456", "password": ${DEMO_PASSWORD}}`,
    });
    expectProblem(res, 400, 'MALFORMED_JSON', '/api/v1/auth/login');
    expect(res.text).not.toContain(DEMO_PASSWORD);
    expect(res.text).not.toContain('customer_456');
  });

  it('a body that is not JSON at all is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await raw('POST', '/api/v1/auth/login', {
        headers: { 'content-type': contentType },
        body: `username=customer_456&password=${DEMO_PASSWORD}`,
      });
      expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE', '/api/v1/auth/login');
    }
  });

  it('a body over 1 MiB is 413 PAYLOAD_TOO_LARGE', async () => {
    const token = await login('customer_456');
    const content = 'x'.repeat(1024 * 1024);
    const res = await app.http('POST', `/api/v1/chat/${app.conversationId(FACIAL)}/send`, {
      token,
      body: { content },
    });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('an unknown body field is 400 VALIDATION_FAILED naming the field in issues', async () => {
    const res = await app.http('POST', '/api/v1/auth/login', {
      body: { username: 'customer_456', password: DEMO_PASSWORD, remember_me: true },
    });
    expectProblem(res, 400, 'VALIDATION_FAILED', '/api/v1/auth/login');
    expect(res.body.issues).toEqual([expect.stringContaining('remember_me')]);
  });

  it('a missing or empty body is 400 VALIDATION_FAILED', async () => {
    expectProblem(await app.http('POST', '/api/v1/auth/login'), 400, 'VALIDATION_FAILED');
    const empty = await raw('POST', '/api/v1/auth/login', { headers: { 'content-type': 'application/json' } });
    expectProblem(empty, 400, 'VALIDATION_FAILED');
    expectProblem(await app.http('POST', '/api/v1/auth/login', { body: [] }), 400, 'VALIDATION_FAILED');
  });

  it('an unknown route is 404 NOT_FOUND naming method and path', async () => {
    const res = await app.http('GET', '/api/v1/nothing/here?x=1');
    expectProblem(res, 404, 'NOT_FOUND', '/api/v1/nothing/here?x=1');
    expect(res.body.detail).toBe('No route GET /api/v1/nothing/here.');
    expectProblem(await app.http('DELETE', '/api/v1/auth/login'), 404, 'NOT_FOUND');
  });

  it('never puts a token or ticket from the URL into the problem', async () => {
    const token = await login('customer_789');
    const t = await ticket('customer_789');
    const cases = [
      `/api/v1/conversations?access_token=${token}`,
      `/api/v1/auth/me?token=${token}`,
      `/api/v1/ws?ticket=${t}`,
      `/api/v1/unknown?Ticket=${t}&x=1`,
    ];
    for (const path of cases) {
      const res = await raw('GET', path);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expectProblem(res, res.status, res.body.code);
      expect(res.body.instance).toContain('[redacted]');
      expect(res.text).not.toContain(token);
      expect(res.text).not.toContain(t);
    }
  });
});

describe('operations', () => {
  it('/health is 200 and names the database kind', async () => {
    const res = await app.http('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      instance: app.built.ctx.config.instanceId,
      database: { kind: 'pglite', status: 'ok' },
      bus: expect.objectContaining({ kind: 'memory' }),
    });
  });

  it('/docs serves an HTML page', async () => {
    const res = await fetch(`${app.baseUrl}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toMatch(/<html/i);
  });

  it('/docs/json is an OpenAPI document listing the routes', async () => {
    const res = await app.http('GET', '/docs/json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    expect(res.body.info.title).toBe('AnmeiSmart Realtime API');
    const routes = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /api/v1/auth/login',
        'GET /api/v1/auth/me',
        'POST /api/v1/ws/ticket',
        'GET /api/v1/conversations',
        'GET /api/v1/chat/{conversation_id}/messages',
        'POST /api/v1/chat/{conversation_id}/send',
        'POST /api/v1/chat/{conversation_id}/read',
        'POST /api/v1/admin/notifications',
        'POST /api/v1/admin/mobile-notifications',
        'POST /api/v1/admin/direct-messages',
        'GET /api/v1/admin/users/{user_id}/devices',
        'GET /api/v1/admin/stats',
        'GET /api/v1/devices',
        'POST /api/v1/devices',
        'DELETE /api/v1/devices/{device_id}',
        'GET /health',
      ]),
    );
  });
});

// Last on purpose: it checks everything the tests above caused to be logged.
describe('log hygiene', () => {
  it('no log line ever contains an access token, a ticket or the demo password', async () => {
    // Something was logged at all (logins are logged), so the check below is not vacuous.
    expect(app.logs.find((r) => r.msg === 'login').length).toBeGreaterThan(0);
    expect(issued.size).toBeGreaterThan(5);
    const text = app.logs.text();
    for (const secret of issued) expect(text).not.toContain(secret);
    expect(text).not.toContain(DEMO_PASSWORD);
  });
});
