/**
 * What the per-instance routing costs Redis per envelope, through the real RedisBus: instance A
 * publishes to rooms of 10 whose members are split 5 on A and 5 on B (scenario 4's layout, plus
 * a bystander C holding 200 other users), in batches of 1, 10 and 100 envelopes per event-loop
 * turn. Redis's own time comes from `INFO commandstats` (the script's `usec`, which includes its
 * PUBLISHes), so the figure does not depend on this process's speed.
 *
 *   node --conditions=@anmei/source --import tsx bench/src/tools/route-cost.ts [calls=300]
 *
 * Starts its own redis-server on a free port (never the machine's shared one).
 */
import { pino } from 'pino';
import { RedisBus } from '../../../apps/api/src/realtime/bus/redis.ts';
import { createRedisClient, type RedisClient, waitUntilReady } from '../../../apps/api/src/realtime/redis/clients.ts';
import { redisNames } from '../../../apps/api/src/realtime/redis/keys.ts';
import { startRedis } from '../harness/redis.ts';

const calls = Number(process.argv[2] ?? 300);
const ROOMS = 100;
const PER_SIDE = 5;
const logger = pino({ level: 'silent' });
const redis = await startRedis();
const clients: RedisClient[] = [];
const names = redisNames('route-cost:', false);

async function client(role: string): Promise<RedisClient> {
  const c = createRedisClient({ url: redis.url, cluster: false, role, logger });
  clients.push(c);
  await waitUntilReady(c, redis.url, 5_000);
  return c;
}

async function bus(id: string): Promise<RedisBus> {
  const b = new RedisBus({
    publisher: await client('command'),
    subscriber: await client('subscriber'),
    names,
    busId: id,
    sharded: false,
    logger,
  });
  await b.start();
  return b;
}

try {
  const [a, b, c] = [await bus('inst-a'), await bus('inst-b'), await bus('inst-c')];
  let received = 0;
  let waiting: { count: number; resolve: () => void } | null = null;
  const receivedAll = (count: number) =>
    received >= count ? Promise.resolve() : new Promise<void>((resolve) => (waiting = { count, resolve }));
  a.onEnvelope(() => undefined);
  b.onEnvelope(() => {
    received++;
    if (waiting && received >= waiting.count) waiting.resolve();
  });
  c.onEnvelope(() => undefined);
  const user = (side: string, i: number) => `${side}-${i.toString().padStart(4, '0')}-4f1c-9a7e-2b5d8c3e1f60`;
  const rooms = Array.from({ length: ROOMS }, (_, r) => [
    ...Array.from({ length: PER_SIDE }, (_, k) => user('aaaaaaaa', r * PER_SIDE + k)),
    ...Array.from({ length: PER_SIDE }, (_, k) => user('bbbbbbbb', r * PER_SIDE + k)),
  ]);
  await Promise.all(rooms.flatMap((room) => room.slice(0, PER_SIDE).map((u) => a.subscribeUser(u))));
  await Promise.all(rooms.flatMap((room) => room.slice(PER_SIDE).map((u) => b.subscribeUser(u))));
  await Promise.all(Array.from({ length: 200 }, (_, i) => c.subscribeUser(user('cccccccc', i))));
  const frame = JSON.stringify({ action: 'new_message', data: { content: 'x'.repeat(980) } });
  const probe = await client('probe');

  console.log('| envelopes per turn | Redis µs per envelope | Redis µs per script call |');
  console.log('|---|---|---|');
  for (const batch of [1, 10, 100]) {
    await probe.config('RESETSTAT');
    const before = received;
    for (let call = 0; call < calls; call++) {
      await Promise.all(
        Array.from({ length: batch }, (_, m) =>
          a.publishToUsers(rooms[(call * batch + m) % ROOMS]!, { frame, origin: 'route-cost' }),
        ),
      );
    }
    const stats = await probe.info('commandstats');
    const line = stats.split('\n').find((l) => l.startsWith('cmdstat_evalsha:'));
    const usec = Number(/usec=(\d+)/.exec(line ?? '')?.[1] ?? Number.NaN);
    const scripts = Number(/calls=(\d+)/.exec(line ?? '')?.[1] ?? Number.NaN);
    const envelopes = calls * batch;
    await receivedAll(before + envelopes);
    console.log(`| ${batch} | ${(usec / envelopes).toFixed(2)} | ${(usec / scripts).toFixed(0)} |`);
  }
  await Promise.all([a.close(), b.close(), c.close()]);
} finally {
  for (const c of clients) c.disconnect();
  await redis.stop();
}
