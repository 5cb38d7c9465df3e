/**
 * Two in-process API instances for one test file, sharing a fresh Postgres schema and the
 * machine's Redis under a prefix of this run. Started one after the other (the first migrates and
 * seeds, the second finds the data); at the end both are closed, the prefix's keys deleted (Redis
 * is never flushed) and the schema dropped.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { createTestSchema, type TestSchema } from './postgres-schema.ts';
import { deleteKeysWithPrefix } from './redis-keys.ts';
import { startTestApp, type TestApp } from './test-app.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface InstancePair {
  readonly a: TestApp;
  readonly b: TestApp;
  /** A connection of the test's own to the shared Redis. */
  readonly redis: Redis;
  /** REDIS_KEY_PREFIX of both instances, e.g. `test-rl-1a2b3c4d:`. */
  readonly prefix: string;
}

export interface InstancePairOptions {
  /** Starts the key prefix, e.g. `test-rl`. */
  tag: string;
  /** Settings of each instance beyond the shared database and Redis (called after `before`). */
  env: (instance: 0 | 1) => Record<string, string>;
  /** Runs before the instances start (a third-party double they need), and `after` once they stopped. */
  before?: () => Promise<void>;
  after?: () => Promise<void>;
}

export function useInstancePair(options: InstancePairOptions): InstancePair {
  const prefix = `${options.tag}-${randomBytes(4).toString('hex')}:`;
  let redis: Redis | undefined;
  let schema: TestSchema | undefined;
  let apps: [TestApp, TestApp] | undefined;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
    } catch (error) {
      throw new Error(`Redis is required at ${REDIS_URL} (set TEST_REDIS_URL): ${(error as Error).message}`);
    }
    schema = await createTestSchema();
    await options.before?.();
    const shared = { DATABASE_URL: schema.url, DATABASE_SCHEMA: schema.schema, REDIS_URL, REDIS_KEY_PREFIX: prefix };
    const a = await startTestApp({ ...shared, ...options.env(0) });
    apps = [
      a,
      await startTestApp({ ...shared, ...options.env(1) }).catch(async (error) => {
        await a.close();
        throw error;
      }),
    ];
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled((apps ?? []).map((app) => app.close()));
    if (redis) {
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
    }
    await schema?.drop();
    await options.after?.();
  });

  const started = (): [TestApp, TestApp] => {
    if (!apps) throw new Error('useInstancePair(): the instances start in beforeAll; use them inside a test');
    return apps;
  };
  return {
    get a() {
      return started()[0];
    },
    get b() {
      return started()[1];
    },
    get redis() {
      if (!redis) throw new Error('useInstancePair(): Redis connects in beforeAll');
      return redis;
    },
    prefix,
  };
}
