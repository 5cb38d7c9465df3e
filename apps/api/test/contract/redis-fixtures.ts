/**
 * Builds Redis-backed buses/presences for the contract suites: on the machine's shared Redis
 * (127.0.0.1:6379, override with TEST_REDIS_URL) under a random key prefix, or on a
 * test-owned cluster. Every client is closed in cleanup.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { RedisBus } from '../../src/realtime/bus/redis.ts';
import { RedisPresence } from '../../src/realtime/presence/redis.ts';
import { createRedisClient, type RedisClient, waitUntilReady } from '../../src/realtime/redis/clients.ts';
import { type RedisNames, redisNames } from '../../src/realtime/redis/keys.ts';
import type { BusFixture } from './bus-contract.ts';
import type { PresenceFixture } from './presence-contract.ts';

export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const silent = pino({ level: 'silent' });

export interface RedisTarget {
  url: string;
  cluster: boolean;
}

async function client(target: RedisTarget, role: string): Promise<RedisClient> {
  const c = createRedisClient({ url: target.url, cluster: target.cluster, role, logger: silent });
  try {
    await waitUntilReady(c, target.url, 5_000);
  } catch (error) {
    c.disconnect();
    throw new Error(
      `${(error as Error).message}. The Redis contract tests need Redis 7 at ${target.url} (set TEST_REDIS_URL).`,
    );
  }
  return c;
}

export function uniquePrefix(): string {
  return `test:${randomBytes(6).toString('hex')}:`;
}

async function deleteKeys(c: RedisClient, names: RedisNames, prefix: string): Promise<void> {
  if (c.constructor.name === 'Cluster') {
    // All presence keys share the {ws} hash tag: one node holds them.
    const keys: string[] = [];
    for (const node of (c as import('ioredis').Cluster).nodes('master')) keys.push(...(await node.keys(`${prefix}*`)));
    for (const key of keys) await c.del(key);
    return;
  }
  const keys = await c.keys(`${prefix}*`);
  if (keys.length > 0) await c.del(...keys);
  void names;
}

/** `routeLookupFrom`: RedisBus's option of that name (per-instance routing only). */
export async function redisBusFixture(
  target: RedisTarget,
  sharded: boolean,
  routeLookupFrom?: number,
): Promise<BusFixture> {
  const names = redisNames(uniquePrefix(), target.cluster);
  const clients: RedisClient[] = [];
  const buses: RedisBus[] = [];
  for (const id of ['instance-a', 'instance-b', 'instance-c']) {
    const publisher = await client(target, 'command');
    const subscriber = await client(target, 'subscriber');
    clients.push(publisher, subscriber);
    const bus = new RedisBus({ publisher, subscriber, names, busId: id, sharded, logger: silent, routeLookupFrom });
    await bus.start();
    buses.push(bus);
  }
  return {
    buses: [buses[0]!, buses[1]!, buses[2]!],
    async cleanup() {
      await Promise.all(buses.map((b) => b.close()));
      for (const c of clients) c.disconnect();
    },
  };
}

export async function redisPresenceFixture(target: RedisTarget): Promise<PresenceFixture> {
  const prefix = uniquePrefix();
  const names = redisNames(prefix, target.cluster);
  const c = await client(target, 'command');
  // One subscriber connection per simulated instance, as each process has its own.
  const subscribers = [await client(target, 'subscriber'), await client(target, 'subscriber')];
  const make = (instanceId: string, subscriber: RedisClient) =>
    new RedisPresence({ client: c, subscriber, names, instanceId, instanceTtlMs: 60_000, logger: silent });
  return {
    presences: [make('presence-1', subscribers[0]!), make('presence-2', subscribers[1]!)],
    async cleanup() {
      await deleteKeys(c, names, prefix);
      c.disconnect();
      for (const s of subscribers) s.disconnect();
    },
  };
}
