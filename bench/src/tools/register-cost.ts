/**
 * What a reconnect's Redis work costs the instance that takes it (scenario 6's B) and Redis, per
 * connection, through the real modules: `authenticateUpgrade` (the per-address upgrade limit, the
 * ticket's single use, the per-user connection cap) and then what `Gateway.#register` sends to
 * Redis (the bus route and the presence record, together). K upgrades start in the same
 * event-loop turn, as in a storm where one read of the listening socket brings many; K = 1, 10,
 * 100 by default, or the list given (e.g. 100,1000,5000: a whole storm in one turn). Measured per connection: this process's CPU (`process.cpuUsage`: ioredis, the modules,
 * the socket writes), Redis's CPU (`/proc` of the bench-owned redis-server) and its commands
 * (`INFO commandstats`, scripts' inner calls included), and the wall time until the turn's
 * upgrades were all registered (with one upgrade per turn: its round trips in a row).
 *
 * Then REAP: instance A's 5,000 connections (scenario 6's) are reaped by B's liveness tick; the
 * script's time in Redis (`INFO commandstats`) is how long Redis serves nobody else.
 *
 *   node --conditions=@anmei/source --import tsx bench/src/tools/register-cost.ts [rounds=200] [per-turn=1,10,100]
 *
 * Starts its own redis-server on a free port (never the machine's shared one).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { TokenService } from '../../../apps/api/src/auth/tokens.ts';
import { loadConfig } from '../../../apps/api/src/config.ts';
import { AppMetrics } from '../../../apps/api/src/observability/metrics.ts';
import { createRealtimeInfrastructure } from '../../../apps/api/src/realtime/infrastructure.ts';
import { RedisPresence } from '../../../apps/api/src/realtime/presence/redis.ts';
import { createRedisClient, waitUntilReady } from '../../../apps/api/src/realtime/redis/clients.ts';
import { redisNames } from '../../../apps/api/src/realtime/redis/keys.ts';
import { FrozenConnectionInfo } from '../../../apps/api/src/realtime/types.ts';
import { ConnectionLimits } from '../../../apps/api/src/ws/connection-limits.ts';
import { authenticateUpgrade, connectionInfoFor } from '../../../apps/api/src/ws/upgrade-auth.ts';
import { cpuSeconds } from '../common/proc.ts';
import { commandStats, commandStatsDelta, startRedis } from '../harness/redis.ts';

const rounds = Number(process.argv[2] ?? 200);
/** Upgrades per turn to measure; each gets max(1, rounds × 10 ÷ K) turns. */
const perTurn = (process.argv[3] ?? '1,10,100').split(',').map(Number);
const REAPED = 5_000;
const logger = pino({ level: 'silent' });
const redis = await startRedis();
const prefix = 'register-cost:';
const config = loadConfig({
  NODE_ENV: 'test',
  INSTANCE_ID: 'inst-b',
  LOG_LEVEL: 'silent',
  DATA_DIR: 'memory://',
  REDIS_URL: redis.url,
  REDIS_KEY_PREFIX: prefix,
  // B's own liveness tick (every INSTANCE_TTL/3) must not reap A before the measured one does.
  INSTANCE_TTL: '600000',
  WS_UPGRADES_PER_IP: '1000000',
  WS_MAX_CONNECTIONS_PER_IP: '1000000',
  WS_MAX_CONNECTIONS_PER_USER: '1000000',
});
const infra = await createRealtimeInfrastructure(config, logger);
try {
  const { bus, presence, tickets } = infra;
  bus.onEnvelope(() => undefined);
  const tokens = new TokenService({
    secret: 'register-cost-secret-0123456789abcdef',
    accessTtlSeconds: 600,
    ticketTtlSeconds: 600,
  });
  const metrics = new AppMetrics({ redis: true, pushQueueTimeoutMs: 1_000 });
  const limits = new ConnectionLimits(
    { windowSeconds: 60, upgradesPerIp: 1_000_000, maxPerIp: 1_000_000, maxPerUser: 1_000_000 },
    { presence, redis: { client: infra.redis!.client, prefix: infra.redis!.names.rateLimitPrefix }, logger, metrics },
  );
  const options = { tokens, tickets, allowedOrigins: '*' as const, limits };

  /** One upgrade's Redis path: what the gateway does from the request until `connected` (minus Postgres). */
  async function reconnect(ticket: string, address: string): Promise<void> {
    const req = {
      url: `/api/v1/ws?ticket=${ticket}&resume=1`,
      headers: {},
      socket: new PassThrough(),
    } as unknown as IncomingMessage;
    const identity = await authenticateUpgrade(req, address, options);
    const info = connectionInfoFor(identity, 'inst-b');
    await Promise.all([bus.subscribeUser(info.userId), presence.add(info)]);
  }

  console.log(
    '| upgrades per turn | B CPU µs per connection | Redis CPU µs per connection | Redis commands per connection (EVALSHA) | wall ms per turn of upgrades |',
  );
  console.log('|---|---|---|---|---|');
  // Warm-up (JIT, scripts loaded into Redis), not measured.
  for (let r = 0; r < 20; r++) {
    const warm = await Promise.all(
      Array.from({ length: 20 }, () => tokens.issueTicket({ userId: randomUUID(), role: 'customer' })),
    );
    await Promise.all(warm.map((t, k) => reconnect(t, `10.1.${k}.${r}`)));
  }
  for (const batch of perTurn) {
    const n = Math.max(1, Math.floor((rounds * 10) / batch));
    // Tickets are signed outside the measured window (the HTTP route or `connected` signs them).
    const sets = await Promise.all(
      Array.from({ length: n }, () =>
        Promise.all(
          Array.from({ length: batch }, () => tokens.issueTicket({ userId: randomUUID(), role: 'customer' })),
        ),
      ),
    );
    const stats0 = await commandStats(redis.url);
    const redis0 = cpuSeconds(redis.pid);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let r = 0; r < n; r++) {
      await Promise.all(sets[r]!.map((t, k) => reconnect(t, `10.0.${k % 250}.${r % 250}`)));
    }
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const redisCpu = cpuSeconds(redis.pid) - redis0;
    const delta = commandStatsDelta(stats0, await commandStats(redis.url));
    const total = n * batch;
    const commands = delta.filter(([name]) => name !== 'info').reduce((s, [, v]) => s + v.calls, 0);
    const evalsha = delta.find(([name]) => name === 'evalsha')?.[1].calls ?? 0;
    console.log(
      `| ${batch} | ${((cpu.user + cpu.system) / total).toFixed(1)} | ${((redisCpu * 1e6) / total).toFixed(1)} | ${(commands / total).toFixed(2)} (${(evalsha / total).toFixed(2)}) | ${(wallMs / n).toFixed(2)} |`,
    );
  }

  // REAP: a dead instance A's connections, removed by B's liveness tick in one script call.
  const names = redisNames(prefix, false);
  const a = new RedisPresence({
    client: infra.redis!.client,
    names,
    instanceId: 'inst-a',
    instanceTtlMs: 60_000,
    logger,
  });
  await Promise.all(
    Array.from({ length: REAPED }, () =>
      a.add(
        new FrozenConnectionInfo(
          {
            connectionId: randomUUID(),
            userId: randomUUID(),
            role: 'customer',
            deviceType: 'desktop',
            connectionType: 'chat',
            instanceId: 'inst-a',
          },
          Date.now(),
        ),
      ),
    ),
  );
  const reaper = createRedisClient({ url: redis.url, cluster: false, role: 'reaper', logger });
  await waitUntilReady(reaper, redis.url);
  const stats0 = await commandStats(redis.url);
  const reaping = new RedisPresence({
    client: reaper,
    names,
    instanceId: 'inst-reaper',
    instanceTtlMs: 60_000,
    logger,
  });
  await reaping.start(); // its first tick reaps inst-a (no liveness key)
  const reap = commandStatsDelta(stats0, await commandStats(redis.url)).find(([name]) => name === 'evalsha')?.[1];
  console.log(
    `\nREAP of ${REAPED} connections: ${reap ? `${reap.calls} script call(s), ${(reap.usec / 1000).toFixed(1)} ms inside Redis in all, longest call ≥ ${(reap.usec / reap.calls / 1000).toFixed(1)} ms` : 'n/a'}`,
  );
  await reaping.close();
  reaper.disconnect();
} finally {
  await infra.close();
  await redis.stop();
}
