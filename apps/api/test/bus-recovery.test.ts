/**
 * RedisBus.onRecovered (the Bus contract's "envelopes may have been lost" signal, issue #20) on the
 * machine's Redis under a random prefix: a bus whose subscriber or command connection came back
 * reports it once it is live again, and a bus whose publish failed makes the other instances
 * report it after its own reconnect. The memory bus never reports (it cannot lose envelopes).
 */
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { MemoryBusHub } from '../src/realtime/bus/memory.ts';
import { RedisBus } from '../src/realtime/bus/redis.ts';
import { createRedisClient, type RedisClient, waitUntilReady } from '../src/realtime/redis/clients.ts';
import { redisNames } from '../src/realtime/redis/keys.ts';
import { SHARED_REDIS_URL, uniquePrefix } from './contract/redis-fixtures.ts';
import { eventually } from './support/wait.ts';

const silent = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function client(role: string, failFast: boolean): Promise<RedisClient> {
  const c = createRedisClient({ url: SHARED_REDIS_URL, cluster: false, role, failFast, logger: silent });
  await waitUntilReady(c, SHARED_REDIS_URL, 5_000);
  return c;
}

/** Buses of several instances on one prefix, each counting its onRecovered calls. */
async function buses(ids: readonly string[]) {
  const names = redisNames(uniquePrefix(), false);
  const made = [];
  for (const busId of ids) {
    const publisher = await client('command', true);
    const subscriber = await client('subscriber', false);
    const bus = new RedisBus({ publisher, subscriber, names, busId, sharded: false, logger: silent });
    const seen = { recovered: 0 };
    bus.onRecovered(() => {
      seen.recovered++;
    });
    bus.onEnvelope(() => undefined);
    await bus.start();
    await bus.subscribeUser(`user-of-${busId}`);
    cleanups.push(async () => {
      await bus.close();
      publisher.disconnect();
      subscriber.disconnect();
    });
    made.push({ bus, publisher, subscriber, seen });
  }
  return made;
}

it('reports a recovery once its subscriber connection is back and subscribed again', async () => {
  const [a] = await buses(['recover-a']);
  expect(a!.seen.recovered).toBe(0);
  // A dropped TCP connection, as a network blip or a Redis failover would cause.
  a!.subscriber.disconnect(true);
  await eventually(
    async () => a!.seen.recovered,
    (n) => n === 1,
    'onRecovered after the subscriber reconnected',
  );
  // Reported after the re-subscription was confirmed, so the connection is ready by then.
  expect(a!.subscriber.status).toBe('ready');
});

it('reports a recovery once its command connection is back and its routes are registered again', async () => {
  const [a] = await buses(['recover-b']);
  a!.publisher.disconnect(true);
  await eventually(
    async () => a!.seen.recovered,
    (n) => n >= 1,
    'onRecovered after the command connection reconnected',
  );
});

it('a failed publish makes every other instance report a recovery after the publisher is back', async () => {
  const [a, b] = await buses(['recover-c', 'recover-d']);
  a!.publisher.disconnect(true);
  // Fails fast while the command connection is away (it does not queue).
  await expect(a!.bus.publishToUsers(['user-of-recover-d'], { frame: '{}', origin: 'recover-c' })).rejects.toThrow();
  await eventually(
    async () => b!.seen.recovered,
    (n) => n === 1,
    "the peer's onRecovered after the failed publish",
  );
});

it('the memory bus never reports a recovery (it cannot lose an envelope)', async () => {
  const bus = new MemoryBusHub().createBus('memory-a');
  let recovered = 0;
  bus.onRecovered(() => {
    recovered++;
  });
  bus.onEnvelope(() => undefined);
  await bus.subscribeUser('u');
  await bus.publishToUsers(['u'], { frame: '{}', origin: 'memory-a' });
  await bus.close();
  expect(recovered).toBe(0);
});
