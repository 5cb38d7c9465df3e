/**
 * The webhook provider against a real HTTP server standing in for a clinic's push gateway: what
 * it sends, and how each answer (or no answer) becomes an outcome the retry policy understands.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRetryAfter, WebhookProvider } from '../../src/notifications/providers/webhook.ts';
import type { PushNotification } from '../../src/notifications/types.ts';
import { freePort } from '../support/free-port.ts';
import { samplePush } from '../support/sample-push.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

const push: PushNotification = samplePush();

let server: Server;
let base: string;
const received: Received[] = [];
/** How the gateway answers the next request; default 200. */
let answer: (res: ServerResponse) => void = (res) => res.writeHead(200).end('{"id":"gw-1"}');

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('WebhookProvider', () => {
  it('POSTs the push as JSON with the idempotency key and the bearer token, and reports a 2xx as delivered', async () => {
    answer = (res) => res.writeHead(202).end();
    const provider = new WebhookProvider({ url: `${base}/push?tenant=a`, token: 'gw-secret-token' });
    await expect(provider.send(push)).resolves.toEqual({ ok: true });
    const request = received.at(-1);
    expect(request).toMatchObject({ method: 'POST', url: '/push?tenant=a' });
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['idempotency-key']).toBe('message:m-1:customer_456');
    expect(request?.headers.authorization).toBe('Bearer gw-secret-token');
    expect(request?.body).toEqual({
      idempotency_key: 'message:m-1:customer_456',
      user_id: 'customer_456',
      device_type: 'mobile',
      priority: 'high',
      title: '顾问回复',
      content: '您好，我来看看',
      data: { conversation_id: 'c-1', action: 'open_conversation' },
    });
  });

  it("sends no Authorization header without a token, and the URL's user:password as Basic auth", async () => {
    answer = (res) => res.writeHead(200).end();
    await new WebhookProvider({ url: `${base}/push` }).send(push);
    expect(received.at(-1)?.headers.authorization).toBeUndefined();
    await new WebhookProvider({ url: base.replace('http://', 'http://gw:p%40ss@') }).send(push);
    expect(received.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from('gw:p@ss').toString('base64')}`);
  });

  it.each([
    [429, { 'retry-after': '7' }, { retryable: true, retryAfterMs: 7_000 }],
    [503, {}, { retryable: true }],
    [408, {}, { retryable: true }],
    [400, {}, { retryable: false }],
    [404, { 'retry-after': '7' }, { retryable: false }],
  ] as const)('answers %i as %o', async (status, headers, expected) => {
    answer = (res) => res.writeHead(status, headers).end('{"error":"nope"}');
    const result = await new WebhookProvider({ url: `${base}/push`, token: 'gw-secret-token' }).send(push);
    expect(result).toEqual({
      ok: false,
      error: `the push webhook at ${new URL(base).host} answered ${status}`,
      ...expected,
    });
  });

  it('does not follow a redirect and reports it as permanent, saying what to change', async () => {
    answer = (res) => res.writeHead(301, { location: 'http://example.invalid/elsewhere' }).end();
    const result = await new WebhookProvider({ url: `${base}/old` }).send(push);
    expect(result).toEqual({
      ok: false,
      error: `the push webhook at ${new URL(base).host} answered 301 (a redirect, not followed): set PUSH_WEBHOOK_URL to the final URL`,
      retryable: false,
    });
  });

  it('reports an unreachable gateway as retryable, naming the host but no credentials or path', async () => {
    const port = await freePort();
    const provider = new WebhookProvider({ url: `http://user:pw@127.0.0.1:${port}/secret-path?key=k`, token: 't0k' });
    const result = await provider.send(push);
    expect(result).toEqual({
      ok: false,
      error: `could not reach the push webhook at 127.0.0.1:${port}: ECONNREFUSED`,
      retryable: true,
    });
    expect(JSON.stringify(result)).not.toMatch(/pw|secret-path|key=k|t0k/);
  });

  it('stops a request when its signal aborts and reports it as retryable', async () => {
    answer = () => {}; // never answers
    const abort = new AbortController();
    const pending = new WebhookProvider({ url: `${base}/slow` }).send(push, abort.signal);
    const before = received.length;
    await new Promise<void>((resolve) => {
      const check = () => (received.length > before ? resolve() : setImmediate(check));
      check();
    });
    abort.abort();
    await expect(pending).resolves.toEqual({
      ok: false,
      error: `could not reach the push webhook at ${new URL(base).host}: the attempt was abandoned (timeout or shutdown)`,
      retryable: true,
    });
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, caps at an hour, and ignores garbage', () => {
    const now = Date.parse('2026-12-03T04:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 03 Dec 2026 04:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 03 Dec 2026 03:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('999999', now)).toBe(3_600_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
