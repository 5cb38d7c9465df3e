/**
 * Per-instance routing when the publisher looks the routes up itself (batches of
 * `routeLookupFrom` envelopes or more, redis-route-lookup.ts): its copy of the routes must
 * never outlive a route change or Redis losing its data, and batches routed by the script and
 * by the look-up must leave in the order they were published.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BATCH_ENVELOPES } from '../src/realtime/bus/redis-instance-routing.ts';
import type { RedisClient } from '../src/realtime/redis/clients.ts';
import { type RedisNames, redisNames } from '../src/realtime/redis/keys.ts';
import { SHARED_REDIS_URL, uniquePrefix } from './contract/redis-fixtures.ts';
import { RedisBuses } from './support/redis-buses.ts';
import { type RedisProcess, startRedisServer } from './support/redis-server.ts';

const fixture = new RedisBuses();
const servers: RedisProcess[] = [];
let names: RedisNames;

const client = (role: string, url: string): Promise<RedisClient> => fixture.client(role, url);
const startBus = (id: string, routeLookupFrom: number, url?: string) =>
  fixture.start({ names, id, routeLookupFrom, ...(url ? { url } : {}) });

const envelope = (frame: string) => ({ frame, origin: 'test' });
/** Lets the bus send the current turn's batch (it sends on `setImmediate`). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(async () => {
  await fixture.cleanup();
  await Promise.allSettled(servers.splice(0).map((s) => s.stop()));
});

describe('Redis bus, routes looked up by the publisher', () => {
  it('sees a route added after its last look-up, on the very next publish', async () => {
    names = redisNames(uniquePrefix(), false);
    const a = await startBus('a', 1);
    const b = await startBus('b', 1);
    const c = await startBus('c', 1);
    await b.bus.subscribeUser('u1');
    await a.bus.publishToUsers(['u1'], envelope('first'));
    await b.recorder.waitForCount(1);
    // a now holds u1 → b; c's registration moves the routes' version.
    await c.bus.subscribeUser('u1');
    await a.bus.publishToUsers(['u1'], envelope('second'));
    await Promise.all([b.recorder.waitForCount(2), c.recorder.waitForCount(1)]);
    expect(b.recorder.frames()).toEqual(['first', 'second']);
    expect(c.recorder.frames()).toEqual(['second']);
  });

  it('stops publishing to an instance whose user left, on the very next publish', async () => {
    names = redisNames(uniquePrefix(), false);
    const a = await startBus('a', 1);
    const b = await startBus('b', 1);
    const c = await startBus('c', 1);
    await Promise.all([b.bus.subscribeUser('u1'), c.bus.subscribeUser('u2')]);
    await a.bus.publishToUsers(['u1', 'u2'], envelope('both'));
    await Promise.all([b.recorder.waitForCount(1), c.recorder.waitForCount(1)]);
    const publishedBefore = a.bus.stats().published;
    await b.bus.unsubscribeUser('u1');
    await a.bus.publishToUsers(['u1', 'u2'], envelope('only c'));
    await c.recorder.waitForCount(2);
    // One PUBLISH (to c): b is no longer among the targets at all.
    expect(a.bus.stats().published - publishedBefore).toBe(1);
  });

  it('routes the recipients as they were at the call when the caller changes its list before the batch is sent', async () => {
    names = redisNames(uniquePrefix(), false);
    const a = await startBus('a', 1);
    const b = await startBus('b', 1);
    const c = await startBus('c', 1);
    await Promise.all([b.bus.subscribeUser('u1'), b.bus.subscribeUser('u2'), c.bus.subscribeUser('u3')]);
    // Each list has no repeat (the bus's own copy is then the only one) and changes within the turn.
    const first = ['u1', 'u2'];
    const second = ['u1'];
    const published = Promise.all([
      a.bus.publishToUsers(first, envelope('first')),
      a.bus.publishToUsers(second, envelope('second')),
    ]);
    first.push('u3');
    second.splice(0, 1, 'never-seen');
    await published;
    await b.recorder.waitForCount(2);
    await a.bus.publishToUsers(['u3'], envelope('marker'));
    await c.recorder.waitForCount(1);
    expect(b.recorder.calls.map((call) => [call.envelope.frame, call.targets])).toEqual([
      ['first', ['u1', 'u2']],
      ['second', ['u1']],
    ]);
    expect(c.recorder.frames()).toEqual(['marker']);
  });

  it('does not trust its copy of the routes once Redis lost its data, and finds them again after the resync', async () => {
    names = redisNames(uniquePrefix(), false);
    const a = await startBus('a', 1);
    const b = await startBus('b', 1);
    await Promise.all([b.bus.subscribeUser('u1'), b.bus.subscribeUser('u2')]);
    await a.bus.publishToUsers(['u1', 'u2'], envelope('cached'));
    await b.recorder.waitForCount(1);
    const probe = await client('probe', SHARED_REDIS_URL);
    await probe.del(...(await probe.keys(`${names.routeBase}:*`)));
    const publishedBefore = a.bus.stats().published;
    // Redis has no route for anyone now: a copy taken before must not be used.
    await a.bus.publishToUsers(['u1', 'u2'], envelope('lost'));
    expect(a.bus.stats().published).toBe(publishedBefore);

    await b.bus.resync();
    await a.bus.publishToUsers(['u1', 'u2'], envelope('after resync'));
    await b.recorder.waitForFrame('after resync');
    expect(b.recorder.frames()).toEqual(['cached', 'after resync']);
  });

  it('keeps the publish order when batches routed by the script and by the look-up alternate', async () => {
    names = redisNames(uniquePrefix(), false);
    // Our own redis-server: CLIENT PAUSE would stall every other test on the shared one.
    const redis = await startRedisServer();
    servers.push(redis);
    const a = await startBus('a', 5, redis.url);
    const b = await startBus('b', 5, redis.url);
    await b.bus.subscribeUser('u1');
    const admin = await client('admin', redis.url);
    // Redis holds every command for 300 ms. Only a full batch is sent while another is in
    // flight (the rest gather behind it), so the turns are: one envelope (a script batch, in
    // flight), a full batch (a look-up that must wait for the script's answer), two more and
    // a full batch's worth (gathering, then full: a second look-up queued behind the first),
    // and the one left over (a script batch once both are answered). This Redis has never seen
    // the routing script: the first script batch's SCRIPT LOAD goes out in front of it.
    await admin.client('PAUSE', '300', 'ALL');
    const turns = [1, MAX_BATCH_ENVELOPES, 2, MAX_BATCH_ENVELOPES - 1];
    const published: Promise<void>[] = [];
    const expected: string[] = [];
    for (const [turn, size] of turns.entries()) {
      for (let k = 0; k < size; k++) {
        const frame = `turn ${turn} #${k}`;
        expected.push(frame);
        published.push(a.bus.publishToUsers(['u1'], envelope(frame)));
      }
      await nextTurn();
    }
    await Promise.all(published);
    await b.recorder.waitForCount(expected.length);
    expect(b.recorder.frames()).toEqual(expected);
  });

  it('routes a batch of several thousand recipients spread over three instances', async () => {
    names = redisNames(uniquePrefix(), false);
    const a = await startBus('a', 1);
    const b = await startBus('b', 1);
    const c = await startBus('c', 1);
    const users = Array.from({ length: 6_000 }, (_, i) => `user-${i}`);
    await Promise.all(users.map((u, i) => (i % 3 === 0 ? a : i % 3 === 1 ? b : c).bus.subscribeUser(u)));
    await a.bus.publishToUsers(users, envelope('to all'));
    await Promise.all([b.recorder.waitForCount(1), c.recorder.waitForCount(1)]);
    expect(b.recorder.calls[0]!.targets).toHaveLength(2_000);
    expect(c.recorder.calls[0]!.targets).toHaveLength(2_000);
    expect(a.recorder.calls[0]!.targets).toHaveLength(2_000);
  });
});
