/**
 * Issue #16's readiness acceptance: `/ready` answers 503 NOT_READY (naming the check) while the
 * database or Redis is unreachable, or a migration is missing, and 200 again once it is back;
 * `/health` (liveness) stays 200 throughout, its body saying `degraded`. Postgres is reached
 * through a TCP relay the test freezes and takes down; Redis is a redis-server the test owns and
 * stops. The Redis metrics (probe latency, reconnects, command errors, connection state) move
 * with the outage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_MIGRATION_MS, MIGRATIONS_TABLE } from '../src/db/open-database.ts';
import { scrape } from './support/metrics-scrape.ts';
import { createTestSchema, type TestSchema } from './support/postgres-schema.ts';
import { type RedisProcess, startRedisServer } from './support/redis-server.ts';
import { startTcpRelay, type TcpRelay, viaRelay } from './support/tcp-relay.ts';
import { startTestApp, type TestApp } from './support/test-app.ts';
import { eventually } from './support/wait.ts';

/** ms, DATABASE_HEALTH_TIMEOUT: short so the test is quick. */
const HEALTH_TIMEOUT = 500;
/** Timers fire late on a busy 2-core machine; this much is allowed on top of a bound. */
const SLACK = 300;

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await work();
  return { value, ms: Math.round(performance.now() - start) };
}

describe('readiness on Postgres', () => {
  let schema: TestSchema;
  let relay: TcpRelay;
  let app: TestApp;

  beforeAll(async () => {
    schema = await createTestSchema();
    relay = await startTcpRelay(schema.url);
    app = await startTestApp({
      DATABASE_URL: viaRelay(schema.url, relay),
      DATABASE_SCHEMA: schema.schema,
      DATABASE_CONNECT_TIMEOUT: '1000',
      DATABASE_STATEMENT_TIMEOUT: '1000',
      DATABASE_HEALTH_TIMEOUT: String(HEALTH_TIMEOUT),
    });
  });
  afterAll(async () => {
    relay?.thaw();
    await relay?.resume().catch(() => undefined);
    await app?.close();
    await relay?.close();
    await schema?.drop();
  });

  it('is ready with the database reachable and migrated', async () => {
    const ready = await app.http('GET', '/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ready',
      instance: app.built.ctx.config.instanceId,
      checks: { database: 'ok', migrations: 'ok', redis: 'not_configured', draining: false },
    });
  });

  it('answers 503 within DATABASE_HEALTH_TIMEOUT while the database is frozen, /health staying 200', async () => {
    relay.freeze();
    const [ready, health] = await Promise.all([
      timed(() => app.http('GET', '/ready')),
      timed(() => app.http('GET', '/health')),
    ]);
    console.log(`database frozen: /ready ${ready.value.status} in ${ready.ms} ms, /health ${health.ms} ms`);
    expect(ready.value.status).toBe(503);
    expect(ready.value.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(ready.value.body).toMatchObject({
      type: 'urn:anmei:problem:not-ready',
      status: 503,
      code: 'NOT_READY',
      detail: `Not ready: the database did not answer within ${HEALTH_TIMEOUT} ms (DATABASE_HEALTH_TIMEOUT).`,
      checks: { database: 'unavailable', migrations: 'unknown', redis: 'not_configured', draining: false },
    });
    expect(ready.ms).toBeLessThanOrEqual(HEALTH_TIMEOUT + SLACK);
    expect(health.value.status).toBe(200);
    expect(health.value.body).toMatchObject({ status: 'degraded', database: { status: 'unavailable' } });

    relay.thaw();
    await eventually(
      () => app.http('GET', '/ready'),
      (r) => r.status === 200,
      '/ready 200 after the thaw',
    );
    expect((await app.http('GET', '/health')).body.status).toBe('ok');
  });

  it('answers 503 while the database refuses connections, and 200 once it accepts them again', async () => {
    await relay.pause();
    const ready = await eventually(
      () => app.http('GET', '/ready'),
      (r) => r.status === 503,
      '/ready 503 with the database down',
    );
    expect(ready.body.checks).toMatchObject({ database: 'unavailable' });
    expect((await app.http('GET', '/health')).status).toBe(200);
    await relay.resume();
    await eventually(
      () => app.http('GET', '/ready'),
      (r) => r.status === 200,
      '/ready 200 with the database back',
    );
  });

  it('answers 503 `migrations: behind` when the database lacks the newest migration this build ships', async () => {
    const client = await schema.connect();
    try {
      const journal = `"${schema.schema}"."${MIGRATIONS_TABLE}"`;
      const { rows } = await client.query(`select * from ${journal} where created_at = $1`, [LATEST_MIGRATION_MS]);
      expect(rows).toHaveLength(1);
      await client.query(`delete from ${journal} where created_at = $1`, [LATEST_MIGRATION_MS]);
      const behind = await app.http('GET', '/ready');
      expect(behind.status).toBe(503);
      expect(behind.body.checks).toEqual({
        database: 'ok',
        migrations: 'behind',
        redis: 'not_configured',
        draining: false,
      });
      await client.query(`insert into ${journal} (hash, created_at) values ($1, $2)`, [
        rows[0].hash,
        rows[0].created_at,
      ]);
      expect((await app.http('GET', '/ready')).status).toBe(200);
    } finally {
      await client.end();
    }
  });
});

describe('readiness with Redis', () => {
  let redis: RedisProcess;
  let app: TestApp;
  const metrics = () => scrape(`${app.baseUrl}/metrics`);

  beforeAll(async () => {
    redis = await startRedisServer();
    app = await startTestApp({
      REDIS_URL: redis.url,
      DATABASE_HEALTH_TIMEOUT: String(HEALTH_TIMEOUT),
      REDIS_PROBE_INTERVAL: '100',
    });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  it('probes Redis pub/sub through the bus, never reaching a socket', async () => {
    const socket = await app.connect('customer_456');
    const before = await metrics();
    await eventually(
      metrics,
      (now) => now.delta(before, 'anmei_redis_pubsub_latency_seconds_count') >= 3,
      'three more probes',
    );
    const now = await metrics();
    expect(now.value('anmei_redis_connection_up', { connection: 'command' })).toBe(1);
    expect(now.value('anmei_redis_connection_up', { connection: 'subscriber' })).toBe(1);
    expect(now.delta(before, 'anmei_redis_pubsub_probes_lost_total')).toBe(0);
    // Probes are not envelopes: the socket got its `connected` and nothing else.
    expect(socket.frames.map((f) => f.action)).toEqual(['connected']);
    await socket.close();
  });

  it('answers 503 while Redis is down, /health staying 200, and 200 once it is back', async () => {
    expect((await app.http('GET', '/ready')).body.checks).toMatchObject({ redis: 'ok' });
    const before = await metrics();

    await redis.stop({ hard: true });
    const down = await eventually(
      () => app.http('GET', '/ready'),
      (r) => r.status === 503,
      '/ready 503 with Redis down',
    );
    expect(down.body).toMatchObject({
      code: 'NOT_READY',
      detail: `Not ready: Redis did not answer within ${HEALTH_TIMEOUT} ms (REDIS_URL).`,
      checks: { database: 'ok', migrations: 'ok', redis: 'unavailable', draining: false },
    });
    const health = await app.http('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'degraded', bus: { kind: 'redis', status: 'unavailable' } });
    // The outage in the metrics: both connections lost once, down now, the probes failing.
    const during = await eventually(
      metrics,
      (now) =>
        now.delta(before, 'anmei_redis_pubsub_probes_lost_total') >= 1 &&
        now.delta(before, 'anmei_redis_command_errors_total', { connection: 'command' }) >= 1,
      'a lost probe and a failed command',
    );
    expect(during.delta(before, 'anmei_redis_reconnects_total', { connection: 'command' })).toBe(1);
    expect(during.delta(before, 'anmei_redis_reconnects_total', { connection: 'subscriber' })).toBe(1);
    expect(during.value('anmei_redis_connection_up', { connection: 'command' })).toBe(0);

    await redis.start();
    await eventually(
      () => app.http('GET', '/ready'),
      (r) => r.status === 200,
      '/ready 200 with Redis back',
      15_000,
    );
    const back = await metrics();
    await eventually(
      metrics,
      (now) => now.delta(back, 'anmei_redis_pubsub_latency_seconds_count') >= 1,
      'probes getting through again',
    );
    expect((await app.http('GET', '/health')).body.status).toBe('ok');
  });
});
