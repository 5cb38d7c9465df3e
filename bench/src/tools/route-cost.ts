/**
 * What the per-instance routing costs per envelope, through the real RedisBus: instance A
 * publishes to rooms of 10 whose members are split 5 on A and 5 on B (scenario 4's layout, plus
 * a bystander C holding 200 other users), in batches of 1, 10, 30 and 100 envelopes per
 * event-loop turn. Three figures per envelope:
 * - Redis's time inside commands (`INFO commandstats`, every command the bus sent: the script
 *   with its PUBLISHes, or the look-up and the PUBLISHes), which does not depend on this
 *   process's speed;
 * - Redis's whole CPU (`/proc`: also reading, parsing and writing the commands);
 * - this process's CPU (A, B and C together: encoding, Redis clients, decoding on B).
 *
 *   node --conditions=@anmei/source --import tsx bench/src/tools/route-cost.ts [calls=300] [lookupFrom] [sizes=1,10,30,100]
 *
 * `lookupFrom` sets the bus's `routeLookupFrom` (envelopes per turn from which it looks routes up
 * and publishes itself instead of running the routing script); `-` or none: the bus's own.

 * Starts its own redis-server on a free port (never the machine's shared one).
 */
import { pino } from 'pino';
import { RedisBus } from '../../../apps/api/src/realtime/bus/redis.ts';
import { createRedisClient, type RedisClient, waitUntilReady } from '../../../apps/api/src/realtime/redis/clients.ts';
import { redisNames } from '../../../apps/api/src/realtime/redis/keys.ts';
import { cpuSeconds } from '../common/proc.ts';
import { commandStats, startRedis } from '../harness/redis.ts';

const calls = Number(process.argv[2] ?? 300);
const lookupFrom = process.argv[3] === undefined || process.argv[3] === '-' ? undefined : Number(process.argv[3]);
const sizes = (process.argv[4] ?? '1,10,30,100').split(',').map(Number);
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
    ...(lookupFrom === undefined ? {} : { routeLookupFrom: lookupFrom }),
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

  /** Redis's time (µs) in the routing script and in every other command but the probe's own. */
  const redisCommands = async () => {
    let script = 0;
    let others = 0;
    for (const [name, stat] of await commandStats(redis.url)) {
      if (name === 'evalsha') script += stat.usec;
      else if (name !== 'info' && name !== 'config') others += stat.usec;
    }
    return { script, others };
  };

  // Commands a script runs count in its own time and again under their names: the two middle
  // columns overlap when the script routes, and the third is then the part of the second.
  console.log(
    '| envelopes per turn | Redis CPU µs per envelope (/proc) | EVALSHA µs per envelope | other commands µs per envelope | this process CPU µs per envelope |',
  );
  console.log('|---|---|---|---|---|');
  for (const batch of sizes) {
    await probe.config('RESETSTAT');
    const before = received;
    const redisCpuBefore = cpuSeconds(redis.pid);
    const ownBefore = process.cpuUsage();
    for (let call = 0; call < calls; call++) {
      await Promise.all(
        Array.from({ length: batch }, (_, m) =>
          a.publishToUsers(rooms[(call * batch + m) % ROOMS]!, { frame, origin: 'route-cost' }),
        ),
      );
    }
    const envelopes = calls * batch;
    await receivedAll(before + envelopes);
    const own = process.cpuUsage(ownBefore);
    const redisCpu = cpuSeconds(redis.pid) - redisCpuBefore;
    const commands = await redisCommands();
    const perEnvelope = (micros: number) => (micros / envelopes).toFixed(2);
    console.log(
      `| ${batch} | ${perEnvelope(redisCpu * 1e6)} | ${perEnvelope(commands.script)} | ${perEnvelope(commands.others)} | ${perEnvelope(own.user + own.system)} |`,
    );
  }
  await Promise.all([a.close(), b.close(), c.close()]);
} finally {
  for (const c of clients) c.disconnect();
  await redis.stop();
}
