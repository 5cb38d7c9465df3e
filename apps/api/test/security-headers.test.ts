/** Security headers and CORS of the HTTP API (issue #15): helmet on every answer, CORS for exactly ALLOWED_ORIGINS. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.ts';

const WEB = 'https://clinic.example';
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ ALLOWED_ORIGINS: `${WEB},http://localhost:3000` });
});
afterAll(async () => {
  await app.close();
});

describe('security headers', () => {
  it('every API answer forbids framing, sniffing and any page content, successes and problems alike', async () => {
    const { token } = await app.login('customer_456');
    for (const [path, status] of [
      ['/api/v1/conversations', 200],
      ['/api/v1/conversations/nope/messages', 404],
      ['/health', 200],
    ] as const) {
      const res = await app.http('GET', path, path === '/health' ? {} : { token });
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-security-policy'), path).toBe(
        "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'",
      );
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('x-frame-options'), path).toBe('SAMEORIGIN');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('cross-origin-resource-policy'), path).toBe('same-site');
      expect(res.headers.get('x-powered-by'), path).toBeNull();
    }
  });

  it('the API documentation gets the Swagger UI policy, which lets its own scripts run', async () => {
    const res = await app.http('GET', '/docs/static/index.html');
    expect(res.status).toBe(200);
    const policy = res.headers.get('content-security-policy') ?? '';
    expect(policy).toMatch(/script-src 'self'/);
    expect(policy).not.toMatch(/upgrade-insecure-requests/);
  });
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin, naming exactly that origin', async () => {
    const res = await app.http('OPTIONS', '/api/v1/chat/x/send', {
      headers: {
        origin: WEB,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(WEB);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('gives an origin that is not listed no CORS headers, so its pages cannot read answers', async () => {
    const { token } = await app.login('customer_456');
    const res = await app.http('GET', '/api/v1/conversations', { token, headers: { origin: 'https://evil.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await app.http('GET', '/api/v1/conversations', { token, headers: { origin: WEB } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe(WEB);
    expect(allowed.headers.get('access-control-expose-headers')).toMatch(/retry-after/);
  });
});
