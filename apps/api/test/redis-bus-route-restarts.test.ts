/**
 * Per-instance routing across what Redis does behind the bus's back: a script another instance
 * loads while one of ours met NOSCRIPT, and a Redis that comes back from an older snapshot, whose
 * routes' version can return to a value a publisher cached under other routes. (Found in review
 * of the publisher's own look-up, redis-route-lookup.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROUTE_PUBLISH } from '../src/realtime/bus/redis-route-scripts.ts';
import type { RedisClient } from '../src/realtime/redis/clients.ts';
import { type RedisNames, redisNames } from '../src/realtime/redis/keys.ts';
import { uniquePrefix } from './contract/redis-fixtures.ts';
import { RedisBuses } from './support/redis-buses.ts';
import { type RedisProcess, startRedisServer } from './support/redis-server.ts';
import { type ReplyGate, startReplyGate } from './support/reply-gate.ts';
import { eventually } from './support/wait.ts';

const fixture = new RedisBuses();
const servers: RedisProcess[] = [];
const gates: ReplyGate[] = [];
const dirs: string[] = [];

const client = (role: string, url: string): Promise<RedisClient> => fixture.client(role, url);
const startBus = (names: RedisNames, id: string, routeLookupFrom: number, url: string, publisherUrl = url) =>
  fixture.start({ names, id, routeLookupFrom, url, publisherUrl });

const envelope = (frame: string) => ({ frame, origin: 'test' });

afterEach(async () => {
  await fixture.cleanup();
  await Promise.allSettled(gates.splice(0).map((g) => g.close()));
  await Promise.allSettled(servers.splice(0).map((s) => s.stop()));
  await Promise.allSettled(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('Redis bus, per-instance routing when Redis changes behind its back', () => {
  it('keeps the publish order when another instance loads the routing script while our first batch is in flight', async () => {
    const names = redisNames(uniquePrefix(), false);
    // Our own redis-server, which has never seen the routing script.
    const redis = await startRedisServer();
    servers.push(redis);
    const gate = await startReplyGate(redis.port);
    gates.push(gate);
    // Every batch routed by the script; a's command connection goes through the gate.
    const a = await startBus(names, 'a', 1_000, redis.url, gate.url);
    const b = await startBus(names, 'b', 1_000, redis.url);
    await b.bus.subscribeUser('u1');
    const other = await client('other instance', redis.url);

    gate.hold();
    const first = a.bus.publishToUsers(['u1'], envelope('first'));
    // Redis has run a's first batch; a has not seen the answer yet.
    await gate.untilReplied();
    // Another instance runs the script (its own retry after NOSCRIPT loads it) meanwhile.
    await ROUTE_PUBLISH.run(other, [], [names.routeBase, names.instanceChannelPrefix, 'other', '', '[]']);
    const second = a.bus.publishToUsers(['u1'], envelope('second'));
    await b.recorder.waitForCount(1);
    gate.release();
    await Promise.all([first, second]);
    await b.recorder.waitForCount(2);
    expect(b.recorder.frames()).toEqual(['first', 'second']);
  });

  it('does not trust its cached routes once Redis came back from an older snapshot, even at a version it saw', async () => {
    const names = redisNames(uniquePrefix(), false);
    const dir = await mkdtemp(join(tmpdir(), 'route-restarts-'));
    dirs.push(dir);
    const redis = await startRedisServer(['--dir', dir]);
    servers.push(redis);
    const a = await startBus(names, 'a', 1, redis.url);
    const b = await startBus(names, 'b', 1, redis.url);
    const c = await startBus(names, 'c', 1, redis.url);
    const admin = await client('admin', redis.url);
    const versionKey = `${names.routeBase}:routes_version`;
    const version = async () => Number(await admin.get(versionKey));

    // The snapshot Redis will come back with (RDB, or AOF every second: the last changes lost).
    await admin.save();
    const saved = await version();
    for (const u of ['u1', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9']) await b.bus.subscribeUser(u);
    await a.bus.publishToUsers(['u1'], envelope('before'));
    await b.recorder.waitForFrame('before');
    // a now holds u1 → [b] under this version.
    const cachedUnder = await version();
    expect(cachedUnder).toBe(saved + 10);

    await redis.stop({ hard: true });
    await redis.start();
    // The three buses register their routes again: one route change each.
    await eventually(version, (v) => v >= saved + 3, 'the buses registered their routes again');
    // Ordinary route changes bring the version back to the cached one, the last being c's u1.
    for (let i = 0; (await version()) < cachedUnder - 1; i++) await b.bus.subscribeUser(`pad${i}`);
    await c.bus.subscribeUser('u1');
    expect(await version()).toBe(cachedUnder);

    // c's registration has returned: a publish started now must reach c.
    await a.bus.publishToUsers(['u1'], envelope('after'));
    await c.recorder.waitForFrame('after');
  }, 30_000);
});
