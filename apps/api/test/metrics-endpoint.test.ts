/**
 * Where /metrics is served and who may read it (METRICS_TOKEN, METRICS_PORT; production never
 * serves it open on the API port), /ready while draining, and the two pieces of arithmetic the
 * metrics rest on: the action read from a frame's bytes on the fan-out path, and the quantile
 * estimate the admin figures take from histogram buckets.
 */
import { encodeFrame, ServerAction, serverFrame } from '@anmei/protocol';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type BuiltApp, buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { DeliveryCounter } from '../src/observability/delivery-counter.ts';
import { quantile } from '../src/observability/instance-figures.ts';
import { freePort } from './support/free-port.ts';
import { LogCapture } from './support/log-capture.ts';
import { histogramQuantile, Scrape } from './support/metrics-scrape.ts';
import { startTestApp, type TestApp } from './support/test-app.ts';

const TOKEN = 'scrape-token-for-tests-0123';
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((a) => a.close()));
});

async function started(env: Record<string, string>): Promise<TestApp> {
  const app = await startTestApp(env);
  open.push(app);
  return app;
}

describe('METRICS_TOKEN', () => {
  it('answers 401 with a bearer challenge without the token or with another, and the metrics with it', async () => {
    const app = await started({ METRICS_TOKEN: TOKEN });
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer not-the-token-at-all' },
      { authorization: TOKEN },
    ];
    for (const headers of attempts) {
      const refused = await fetch(`${app.baseUrl}/metrics`, { headers });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await refused.json()).toMatchObject({ code: 'UNAUTHENTICATED', instance: '/metrics' });
    }
    const allowed = await fetch(`${app.baseUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(allowed.status).toBe(200);
    expect(new Scrape(await allowed.text()).families.get('anmei_ws_connections')).toBe('gauge');
    // Health and readiness stay open: load balancers carry no token.
    expect((await app.http('GET', '/ready')).status).toBe(200);
  });
});

describe('METRICS_PORT', () => {
  it('serves /metrics only on a listener of its own, behind the token when one is set', async () => {
    const port = await freePort();
    const app = await started({ METRICS_PORT: String(port), METRICS_TOKEN: TOKEN });
    const { metricsUrl } = app;
    expect(metricsUrl).toBe(`http://127.0.0.1:${port}/metrics`);
    expect((await app.http('GET', '/metrics')).status).toBe(404);
    expect((await fetch(metricsUrl!)).status).toBe(401);
    const allowed = await fetch(metricsUrl!, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(new Scrape(await allowed.text()).families.has('anmei_broadcast_duration_seconds')).toBe(true);
    const other = await fetch(`http://127.0.0.1:${port}/health`);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ code: 'NOT_FOUND', detail: 'This port serves only GET /metrics.' });
  });

  it('closes its listener with the app', async () => {
    const port = await freePort();
    const app = await startTestApp({ METRICS_PORT: String(port) });
    const { metricsUrl } = app;
    expect((await fetch(metricsUrl!)).status).toBe(200);
    await app.close();
    await expect(fetch(metricsUrl!)).rejects.toThrow();
  });
});

describe('production', () => {
  it('serves no /metrics without METRICS_TOKEN or METRICS_PORT, and says how to enable it', async () => {
    const logs = new LogCapture();
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'a-production-secret-of-at-least-32-chars',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: 'memory://',
      NOTIFICATION_PROVIDER: 'logging',
    });
    const built: BuiltApp = await buildApp(config, { logDestination: logs });
    open.push(built);
    const { url } = await built.listen();
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    expect(logs.find((r) => r.msg.startsWith('/metrics is off: in production set METRICS_TOKEN'))).toHaveLength(1);
  });
});

describe('/ready while draining', () => {
  it('answers 503 `draining` once shutdown began, while /health stays 200', async () => {
    const app = await startTestApp();
    // A peer that never answers the close handshake keeps the drain (and the listener) up for 2 s.
    const socket = await app.connect('customer_456');
    (socket.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const closing = app.built.close();
    const [ready, health] = await Promise.all([app.http('GET', '/ready'), app.http('GET', '/health')]);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      code: 'NOT_READY',
      detail: 'Not ready: the instance is draining (shutting down).',
      checks: { database: 'ok', draining: true },
    });
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('draining');
    socket.ws.terminate();
    await closing;
  });
});

describe('the action of a delivered frame', () => {
  it('is read from the frame bytes for every server action; anything else counts as `other`', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'frames_total', help: 'test', labelNames: ['action'], registers: [registry] });
    const delivered = new DeliveryCounter(counter);
    const actions = Object.values(ServerAction);
    actions.forEach((action, i) => {
      const frame = Buffer.from(encodeFrame(serverFrame(action, {} as never)));
      delivered.count(frame, i + 1);
    });
    delivered.count(Buffer.from('{"action":"new_messages","data":{}}'), 100);
    delivered.count(Buffer.from('{"data":{},"action":"ack"}'), 1_000);
    delivered.count(Buffer.from('{"action":"'), 10_000);
    delivered.count(Buffer.from(''), 100_000);
    delivered.count(Buffer.from(encodeFrame(serverFrame(ServerAction.ack, {} as never))), 0);
    delivered.flush(counter);
    const scrape = new Scrape(await registry.metrics());
    for (const [i, action] of actions.entries()) expect(scrape.value('frames_total', { action }), action).toBe(i + 1);
    expect(scrape.value('frames_total', { action: 'other' })).toBe(111_100);
  });
});

describe('the quantile estimate of the admin figures', () => {
  it("matches Prometheus' histogram_quantile: linear in the bucket, +Inf reads as the highest bound, 0 when empty", () => {
    const cases: Array<Map<number, number>> = [
      new Map([
        [0.001, 0],
        [0.005, 4],
        [0.01, 10],
        [Number.POSITIVE_INFINITY, 10],
      ]),
      new Map([
        [0.1, 1],
        [1, 1],
        [Number.POSITIVE_INFINITY, 5],
      ]),
      new Map([
        [0.5, 0],
        [Number.POSITIVE_INFINITY, 0],
      ]),
    ];
    for (const buckets of cases) {
      for (const q of [0, 0.25, 0.5, 0.9, 0.99, 1])
        expect(quantile(q, buckets)).toBeCloseTo(histogramQuantile(q, buckets), 12);
    }
    expect(quantile(0.5, cases[0]!)).toBeCloseTo(0.005 + (0.005 * 1) / 6, 12);
    expect(quantile(0.99, cases[1]!)).toBe(1);
    expect(quantile(0.5, cases[2]!)).toBe(0);
  });
});
