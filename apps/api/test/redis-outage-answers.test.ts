/**
 * While Redis is unreachable, what needs it answers a catalogued "try later" (issue #15): a
 * WebSocket upgrade (its ticket is redeemed in Redis) and routes that read presence get 503
 * SERVICE_UNAVAILABLE with Retry-After, never 500 INTERNAL and no ERROR line; once Redis is back
 * the same requests work, without a restart. The API runs in-process on a test-owned redis-server.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RedisProcess, startRedisServer } from './support/redis-server.ts';
import { startTestApp, type TestApp } from './support/test-app.ts';
import { eventually } from './support/wait.ts';

let redis: RedisProcess;
let app: TestApp;

beforeAll(async () => {
  redis = await startRedisServer();
  app = await startTestApp({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: `outage${process.pid}:` });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await redis?.stop({ hard: true });
});

/** The HTTP status and headers of an upgrade attempt (the server answers a refusal as an HTTP response). */
function upgrade(ticket: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${app.wsUrl}?ticket=${ticket}`);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
    });
    ws.on('open', () => {
      ws.close();
      resolve({ status: 101, retryAfter: undefined, body: '' });
    });
    ws.on('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

it('answers 503 SERVICE_UNAVAILABLE with Retry-After, never INTERNAL, while Redis is away, and works again after', async () => {
  const { token } = await app.login('customer_456');
  const ticket = await app.ticket(token);
  await redis.stop({ hard: true });
  // The command connection fails fast once it has noticed the loss.
  await eventually(
    async () => (await upgrade(await app.ticket(token))).status,
    (status) => status === 503,
    'an upgrade refused with 503 while Redis is down',
  );
  const refused = await upgrade(ticket);
  expect(refused.status).toBe(503);
  expect(refused.retryAfter).toBe('5');
  expect(JSON.parse(refused.body)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });

  const list = await app.http('GET', '/api/v1/conversations', { token });
  expect(list.status).toBe(503);
  expect(list.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  expect(list.headers.get('retry-after')).toBe('5');
  // The outage itself is logged at ERROR (once per connection); no request is.
  const errors = app.logs.records.filter((r) => r.level >= 50).map((r) => r.msg);
  expect(errors.filter((msg) => msg !== 'redis connection lost; reconnecting')).toEqual([]);

  await redis.start();
  // The refused ticket was never redeemed: it opens a socket once Redis answers again.
  await eventually(
    async () => (await upgrade(ticket)).status,
    (status) => status === 101,
    'the same ticket accepted',
  );
  expect((await app.http('GET', '/api/v1/conversations', { token })).status).toBe(200);
}, 60_000);
