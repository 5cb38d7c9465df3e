/**
 * Per-instance routing of the Redis bus on a standalone Redis (what the Bus contract does not
 * pin down): how many Redis messages a publish costs, batching, and keeping the routes in
 * Redis true when instances crash, restart with the same id, or Redis forgets everything.
 * A raw subscriber on an instance's channel observes what Redis really carries. Each test runs
 * twice: batches routed by the script in Redis, and by the publisher's own look-up.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RedisClient } from '../src/realtime/redis/clients.ts';
import { type RedisNames, redisNames } from '../src/realtime/redis/keys.ts';
import { uniquePrefix } from './contract/redis-fixtures.ts';
import { LEVEL, LogCapture } from './support/log-capture.ts';
import { RedisBuses } from './support/redis-buses.ts';
import { startRedisServer } from './support/redis-server.ts';
import { eventually } from './support/wait.ts';

const fixture = new RedisBuses();
const { clients, buses } = fixture;
let prefix = '';
let names: RedisNames;
/** RedisBus's `routeLookupFrom` for the buses a test starts. */
let routeLookupFrom: number | undefined;

const client = (role: string, url?: string): Promise<RedisClient> => fixture.client(role, url);

function startBus(id: string, logs?: LogCapture, url?: string) {
  const logger = logs ? pino({ level: 'debug' }, logs) : undefined;
  return fixture.start({ names, id, routeLookupFrom, ...(url ? { url } : {}), ...(logger ? { logger } : {}) });
}

/** Counts what Redis delivers on an instance's channel, independently of the bus. */
const watchers = new WeakMap<Buffer[], { ping(): Promise<unknown> }>();

async function watchChannel(instanceId: string): Promise<Buffer[]> {
  const seen: Buffer[] = [];
  const raw = await client('watcher');
  raw.on('messageBuffer', (_channel: Buffer, message: Buffer) => seen.push(message));
  await raw.subscribe(names.instanceChannelPrefix + instanceId);
  watchers.set(seen, raw);
  return seen;
}

/**
 * Resolves once each watcher has received every message published before this call. The bus
 * under test may read a message before a watcher's connection does; a PING on the watcher's
 * connection is answered after everything Redis already queued for it.
 */
async function caughtUp(...watched: Buffer[][]): Promise<void> {
  await Promise.all(watched.map((seen) => watchers.get(seen)!.ping()));
}

async function routesOf(userId: string): Promise<string[]> {
  const probe = await client('probe');
  const route = await probe.hget(`${names.routeBase}:routes`, userId);
  return route === null ? [] : route.split(' ').sort();
}

function envelope(frame: string) {
  return { frame, origin: 'test' };
}

afterEach(async () => {
  await Promise.allSettled(buses.splice(0).map((b) => b.close()));
  const cleaner = await client('cleanup');
  const keys = await cleaner.keys(`${prefix}*`);
  if (keys.length > 0) await cleaner.del(...keys);
  await fixture.cleanup();
});

function fresh(): void {
  prefix = uniquePrefix();
  names = redisNames(prefix, false);
}

describe.each([
  ['the routing script', Number.POSITIVE_INFINITY],
  ["the publisher's look-up", 1],
])('Redis bus, per-instance routing, batches routed by %s', (_how, lookupFrom) => {
  beforeEach(() => {
    routeLookupFrom = lookupFrom;
  });

  it('sends one Redis message per target instance and none back to the publisher', async () => {
    fresh();
    const a = await startBus('a');
    const b = await startBus('b');
    const c = await startBus('c');
    const bystander = await startBus('d');
    await a.bus.subscribeUser('u1');
    await Promise.all([b.bus.subscribeUser('u2'), b.bus.subscribeUser('u3')]);
    await c.bus.subscribeUser('u4');
    await bystander.bus.subscribeUser('u9');
    const [onA, onB, onC, onD] = (await Promise.all(['a', 'b', 'c', 'd'].map(watchChannel))) as [
      Buffer[],
      Buffer[],
      Buffer[],
      Buffer[],
    ];

    await a.bus.publishToUsers(['u1', 'u2', 'u3', 'u4'], envelope('room message'));
    await Promise.all([b.recorder.waitForCount(1), c.recorder.waitForCount(1)]);
    // Then a marker for the bystander: once it is there, the room message was fully routed.
    await a.bus.publishToUsers(['u9'], envelope('marker'));
    await bystander.recorder.waitForCount(1);

    expect(a.recorder.calls.map((x) => x.targets)).toEqual([['u1']]);
    expect(b.recorder.calls.map((x) => x.targets)).toEqual([['u2', 'u3']]);
    expect(c.recorder.calls.map((x) => x.targets)).toEqual([['u4']]);
    expect(bystander.recorder.frames()).toEqual(['marker']);
    await caughtUp(onA, onB, onC, onD);
    expect([onA.length, onB.length, onC.length, onD.length]).toEqual([0, 1, 1, 1]);
    expect(a.bus.stats()).toMatchObject({ published: 3, echoes: 0 });
    expect(b.bus.stats()).toMatchObject({ received: 1, subscribedUsers: 2 });
  });

  it('carries the publishes of one event-loop turn in one message per instance, in order', async () => {
    fresh();
    const a = await startBus('a');
    const b = await startBus('b');
    await b.bus.subscribeUser('u1');
    const onB = await watchChannel('b');
    const frames = Array.from({ length: 600 }, (_, i) => `m-${i} ${'x'.repeat(i % 7)}`);
    await Promise.all(frames.map((f) => a.bus.publishToUsers(['u1'], envelope(f))));
    await b.recorder.waitForCount(600);
    expect(b.recorder.frames()).toEqual(frames);
    // 600 envelopes in one turn: batches of at most 256, so 3 Redis messages instead of 600.
    await caughtUp(onB);
    expect(onB).toHaveLength(3);
    expect(a.bus.stats().published).toBe(3);
  });

  it('keeps multi-byte frames and filters intact inside a batch', async () => {
    fresh();
    const a = await startBus('a');
    const b = await startBus('b');
    await b.bus.subscribeUser('u1');
    const text = JSON.stringify({ action: 'new_message', data: { content: '顾问回复 ✓ "q" \\ \n 😀' } });
    await Promise.all([
      a.bus.publishToUsers(['u1'], { frame: text, origin: 'a', deviceTypes: ['mobile'], excludeConnectionId: 'c-1' }),
      a.bus.publishToUsers(['u1'], { frame: Buffer.from('second'), origin: 'a', connectionType: 'admin' }),
    ]);
    await b.recorder.waitForCount(2);
    expect(b.recorder.calls.map((x) => x.envelope)).toEqual([
      { frame: text, origin: 'a', deviceTypes: ['mobile'], excludeConnectionId: 'c-1' },
      { frame: 'second', origin: 'a', connectionType: 'admin' },
    ]);
  });

  it('carries a turn of frames much larger than a batch starts with, intact and in order', async () => {
    fresh();
    const a = await startBus('a');
    const b = await startBus('b');
    await b.bus.subscribeUser('u1');
    // 40 frames of 20-60 KiB in one turn: the batch's buffer (16 KiB at first) has to grow several times.
    const frames = Array.from(
      { length: 40 },
      (_, i) => `${i}:${String.fromCharCode(97 + (i % 26)).repeat(20_000 * (1 + (i % 3)))}`,
    );
    await Promise.all(frames.map((f) => a.bus.publishToUsers(['u1'], envelope(f))));
    await b.recorder.waitForCount(40);
    expect(b.recorder.frames()).toEqual(frames);
  });

  it('refuses a user id with a space or a line break instead of routing it as other users', async () => {
    fresh();
    const a = await startBus('a');
    const b = await startBus('b');
    await Promise.all([b.bus.subscribeUser('u1'), b.bus.subscribeUser('u2')]);
    for (const bad of ['u1 u2', 'u1\nu2', '']) {
      await expect(a.bus.publishToUsers([bad], envelope('misrouted'))).rejects.toThrow(
        'is empty or contains a space or a line break',
      );
    }
    await a.bus.publishToUsers(['u2'], envelope('marker'));
    await b.recorder.waitForCount(1);
    expect(b.recorder.frames()).toEqual(['marker']);
  });

  it('loads its script again when Redis forgot it (SCRIPT FLUSH) and delivers the batch', async () => {
    fresh();
    // Our own redis-server: SCRIPT FLUSH would touch every other test on the shared one.
    const redis = await startRedisServer();
    try {
      const a = await startBus('a', undefined, redis.url);
      const b = await startBus('b', undefined, redis.url);
      await b.bus.subscribeUser('u1');
      await a.bus.publishToUsers(['u1'], envelope('before'));
      await b.recorder.waitForCount(1);
      const admin = await client('admin', redis.url);
      await admin.script('FLUSH');
      await Promise.all(['after-1', 'after-2'].map((f) => a.bus.publishToUsers(['u1'], envelope(f))));
      await b.recorder.waitForCount(3);
      expect(b.recorder.frames()).toEqual(['before', 'after-1', 'after-2']);
    } finally {
      await Promise.allSettled(buses.splice(0).map((bus) => bus.close()));
      await redis.stop();
    }
  });

  it('sends each instance only the records of users it holds, in order, and a user on two instances to both', async () => {
    fresh();
    const a = await startBus('a');
    const b = await startBus('b');
    const c = await startBus('c');
    await b.bus.subscribeUser('u1');
    await c.bus.subscribeUser('u2');
    await Promise.all([b.bus.subscribeUser('u3'), c.bus.subscribeUser('u3')]);
    await Promise.all([
      a.bus.publishToUsers(['u1'], envelope('m1')),
      a.bus.publishToUsers(['u2'], envelope('m2')),
      a.bus.publishToUsers(['u1'], envelope('m3')),
      a.bus.publishToUsers(['u3'], envelope('m4')),
      a.bus.publishToUsers(['u2', 'u1'], envelope('m5')),
    ]);
    await Promise.all([b.recorder.waitForCount(4), c.recorder.waitForCount(3)]);
    expect(b.recorder.calls.map((x) => [x.envelope.frame, x.targets])).toEqual([
      ['m1', ['u1']],
      ['m3', ['u1']],
      ['m4', ['u3']],
      ['m5', ['u1']],
    ]);
    expect(c.recorder.calls.map((x) => [x.envelope.frame, x.targets])).toEqual([
      ['m2', ['u2']],
      ['m4', ['u3']],
      ['m5', ['u2']],
    ]);
  });

  it('routes a publish to more recipients than one Lua unpack() can take', async () => {
    fresh();
    const a = await startBus('a');
    const b = await startBus('b');
    const users = Array.from({ length: 9_000 }, (_, i) => `user-${i}`);
    await Promise.all(users.map((u) => b.bus.subscribeUser(u)));
    // Only the last one is on b: the lookup must cover every slice of the recipient list.
    await Promise.all(users.slice(0, -1).map((u) => b.bus.unsubscribeUser(u)));
    await a.bus.publishToUsers(users, envelope('to many'));
    await b.recorder.waitForCount(1);
    expect(b.recorder.calls[0]!.targets).toEqual(['user-8999']);
  });

  it('forgets the routes of a dead instance, so nobody publishes to it any more', async () => {
    fresh();
    const a = await startBus('a');
    const dead = await startBus('dead');
    await Promise.all([dead.bus.subscribeUser('u1'), dead.bus.subscribeUser('u2')]);
    expect(await routesOf('u1')).toEqual(['dead']);
    // kill -9: its connections vanish without a goodbye.
    for (const c of clients.slice(2, 4)) c.disconnect();
    await a.bus.forgetInstance('dead');
    expect(await routesOf('u1')).toEqual([]);
    expect(await routesOf('u2')).toEqual([]);
    await a.bus.publishToUsers(['u1', 'u2'], envelope('to nobody'));
    expect(a.bus.stats().published).toBe(0);
  });

  it('a process restarted with the same instance id starts from no routes', async () => {
    fresh();
    const first = await startBus('api-1');
    await first.bus.subscribeUser('u1');
    for (const c of clients.slice(0, 2)) c.disconnect(); // crashed, routes left behind
    buses.splice(0);
    expect(await routesOf('u1')).toEqual(['api-1']);
    await startBus('api-1');
    expect(await routesOf('u1')).toEqual([]);
  });

  it('registers every held user again after Redis lost its data', async () => {
    fresh();
    const a = await startBus('a');
    const b = await startBus('b');
    await Promise.all([b.bus.subscribeUser('u1'), b.bus.subscribeUser('u2')]);
    const probe = await client('probe');
    const keys = await probe.keys(`${names.routeBase}:*`);
    await probe.del(...keys);
    await a.bus.publishToUsers(['u1'], envelope('lost'));
    expect(a.bus.stats().published).toBe(0);

    await b.bus.resync();
    expect(await routesOf('u1')).toEqual(['b']);
    await a.bus.publishToUsers(['u1', 'u2'], envelope('after resync'));
    await b.recorder.waitForFrame('after resync');
    expect(b.recorder.calls.map((x) => x.targets)).toEqual([['u1', 'u2']]);
  });

  it('re-registers its routes by itself when its Redis connection comes back', async () => {
    fresh();
    const a = await startBus('a');
    const b = await startBus('b');
    await b.bus.subscribeUser('u1');
    const probe = await client('probe');
    await probe.hdel(`${names.routeBase}:routes`, 'u1');
    // Drop b's command connection; ioredis reconnects and the bus registers u1 again.
    await probe.client('KILL', 'ID', String(await clients[2]!.client('ID')));
    await eventually(
      () => routesOf('u1'),
      (members) => members.length === 1 && members[0] === 'b',
      'u1 routed to b again',
    );
    await a.bus.publishToUsers(['u1'], envelope('after reconnect'));
    await b.recorder.waitForFrame('after reconnect');
  });

  it('removes its routes on close', async () => {
    fresh();
    const b = await startBus('b');
    await b.bus.subscribeUser('u1');
    await b.bus.close();
    expect(await routesOf('u1')).toEqual([]);
  });

  it('ignores a malformed message on its channel with a warning and keeps delivering', async () => {
    fresh();
    const logs = new LogCapture();
    const a = await startBus('a');
    const b = await startBus('b', logs);
    await b.bus.subscribeUser('u1');
    const probe = await client('probe');
    await probe.publish(`${names.instanceChannelPrefix}b`, 'not a record');
    await probe.publish(`${names.instanceChannelPrefix}b`, `u1\n{"b":"x","o":"x","n":999}\nshort`);
    await a.bus.publishToUsers(['u1'], envelope(`ok ${randomUUID()}`));
    await b.recorder.waitForCount(1);
    const warnings = logs.records.filter((r) => r.level === LEVEL.warn).map((r) => r.msg);
    expect(warnings).toEqual([
      'ignoring a malformed record on the instance channel',
      'ignoring a malformed record on the instance channel',
    ]);
  });
});
