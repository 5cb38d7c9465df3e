import { afterAll, beforeAll, describe } from 'vitest';
import { type RedisCluster, startRedisCluster } from '../support/redis-server.ts';
import { describeBusContract } from './bus-contract.ts';
import { redisBusFixture, SHARED_REDIS_URL } from './redis-fixtures.ts';

describeBusContract('redis (classic pub/sub)', () => redisBusFixture({ url: SHARED_REDIS_URL, cluster: false }, false));

// Every batch, however small, routed by the publisher's own look-up instead of the script.
describeBusContract('redis (classic pub/sub, routes looked up by the publisher)', () =>
  redisBusFixture({ url: SHARED_REDIS_URL, cluster: false }, false, 1),
);

describeBusContract('redis (sharded pub/sub on a standalone Redis 7)', () =>
  redisBusFixture({ url: SHARED_REDIS_URL, cluster: false }, true),
);

describe('on a Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  describeBusContract('redis cluster (sharded pub/sub)', () =>
    redisBusFixture({ url: cluster.url, cluster: true }, true),
  );
});
