/**
 * RedisPresence reads the connections of many users with one script call per turn (up to
 * MAX_READ_BATCH users, redis/presence.ts): every upgrade reads its user's connections for the
 * per-user cap, and a storm's upgrades of one turn must not cost Redis a command apiece. Our own
 * redis-server, so its command counters are ours alone.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisPresence } from '../src/realtime/presence/redis.ts';
import { createRedisClient, type RedisClient, waitUntilReady } from '../src/realtime/redis/clients.ts';
import { redisNames } from '../src/realtime/redis/keys.ts';
import { uniquePrefix } from './contract/redis-fixtures.ts';
import { type RedisProcess, startRedisServer } from './support/redis-server.ts';

const silent = pino({ level: 'silent' });
const servers: RedisProcess[] = [];
const clients: RedisClient[] = [];
const presences: RedisPresence[] = [];

/** Script calls Redis has run (INFO commandstats: EVALSHA, and EVAL for a script's first load). */
async function scriptCalls(admin: RedisClient): Promise<number> {
  const stats = await admin.info('commandstats');
  const count = (command: string) => Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
  return count('evalsha') + count('eval');
}

async function presenceOnOwnRedis(): Promise<{ presence: RedisPresence; admin: RedisClient }> {
  const redis = await startRedisServer();
  servers.push(redis);
  const connect = async (role: string) => {
    const client = createRedisClient({ url: redis.url, cluster: false, role, logger: silent });
    clients.push(client);
    await waitUntilReady(client, redis.url);
    return client;
  };
  const presence = new RedisPresence({
    client: await connect('command'),
    names: redisNames(uniquePrefix(), false),
    instanceId: 'instance-1',
    instanceTtlMs: 60_000,
    logger: silent,
  });
  presences.push(presence);
  return { presence, admin: await connect('admin') };
}

afterEach(async () => {
  await Promise.allSettled(presences.splice(0).map((p) => p.close()));
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.allSettled(servers.splice(0).map((s) => s.stop()));
});

describe('RedisPresence reads', () => {
  it('reads the connections of one turn’s 300 users with two script calls (256 users per call)', async () => {
    const { presence, admin } = await presenceOnOwnRedis();
    const users = Array.from({ length: 300 }, (_, u) => `user_${u}`);
    await Promise.all(
      users.map((userId) =>
        presence.add({
          connectionId: `${userId}_c`,
          userId,
          role: 'customer',
          deviceType: 'mobile',
          connectionType: 'chat',
          instanceId: 'instance-1',
          connectedAt: new Date(0),
        }),
      ),
    );
    await presence.devicesOf('warm-up'); // loads the script, so the count below is of EVALSHAs only
    const before = await scriptCalls(admin);

    const answers = await Promise.all(users.map((userId) => presence.devicesOf(userId)));

    expect(await scriptCalls(admin)).toBe(before + 2);
    expect(answers.map((devices) => devices.map((d) => d.connectionId))).toEqual(users.map((u) => [`${u}_c`]));
  });

  it('reads in a later turn with a call of its own, and rejects every read of a call Redis refused', async () => {
    const { presence, admin } = await presenceOnOwnRedis();
    await presence.devicesOf('warm-up');
    const before = await scriptCalls(admin);
    expect(await presence.devicesOf('a')).toEqual([]);
    expect(await presence.devicesOf('b')).toEqual([]);
    expect(await scriptCalls(admin)).toBe(before + 2);

    // Our own server: refuse scripts to the default user, so the batch's one call fails.
    await admin.acl('SETUSER', 'default', '-eval', '-evalsha');
    const reads = await Promise.allSettled([presence.devicesOf('a'), presence.devicesOf('b')]);
    expect(reads.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
