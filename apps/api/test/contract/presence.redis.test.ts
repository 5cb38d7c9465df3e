import { afterAll, beforeAll, describe } from 'vitest';
import { type RedisCluster, startRedisCluster } from '../support/redis-server.ts';
import { describePresenceContract } from './presence-contract.ts';
import { redisPresenceFixture, SHARED_REDIS_URL } from './redis-fixtures.ts';

describePresenceContract('redis', () => redisPresenceFixture({ url: SHARED_REDIS_URL, cluster: false }));

describe('on a Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  describePresenceContract('redis cluster', () => redisPresenceFixture({ url: cluster.url, cluster: true }));
});
