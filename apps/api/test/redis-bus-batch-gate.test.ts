/**
 * Per-instance routing sends one batch at a time: the publishes made while a batch is in flight
 * gather into the next one, which goes when the answer is back, or at once when it is full
 * (redis-instance-routing.ts). A reply gate (a proxy holding Redis's answers to the publisher)
 * keeps the first batch in flight for as long as a test needs, without timing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BATCH_ENVELOPES } from '../src/realtime/bus/redis-instance-routing.ts';
import type { RedisClient } from '../src/realtime/redis/clients.ts';
import { redisNames } from '../src/realtime/redis/keys.ts';
import { uniquePrefix } from './contract/redis-fixtures.ts';
import { RedisBuses } from './support/redis-buses.ts';
import { type RedisProcess, startRedisServer } from './support/redis-server.ts';
import { type ReplyGate, startReplyGate } from './support/reply-gate.ts';

const fixture = new RedisBuses();
const servers: RedisProcess[] = [];
const gates: ReplyGate[] = [];

const envelope = (frame: string) => ({ frame, origin: 'test' });
/** Lets the bus act on the current turn (it sends a batch on `setImmediate`). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** How many times Redis has run `command` (INFO commandstats). */
async function calls(admin: RedisClient, command: string): Promise<number> {
  const stats = await admin.info('commandstats');
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
}

/** a publishes through a reply gate, b holds u1; our own redis-server, so its counters are ours. */
async function twoBuses(routeLookupFrom: number) {
  const names = redisNames(uniquePrefix(), false);
  const redis = await startRedisServer();
  servers.push(redis);
  const gate = await startReplyGate(redis.port);
  gates.push(gate);
  const a = await fixture.start({ names, id: 'a', routeLookupFrom, url: redis.url, publisherUrl: gate.url });
  const b = await fixture.start({ names, id: 'b', routeLookupFrom, url: redis.url });
  await b.bus.subscribeUser('u1');
  const admin = await fixture.client('admin', redis.url);
  return { a, b, gate, admin };
}

afterEach(async () => {
  // A test that failed while holding would otherwise leave its buses' closes waiting for answers.
  for (const gate of gates) gate.release();
  await fixture.cleanup();
  await Promise.allSettled(gates.splice(0).map((g) => g.close()));
  await Promise.allSettled(servers.splice(0).map((s) => s.stop()));
});

describe('Redis bus, one routed batch in flight at a time', () => {
  // Each way's batch starts with one command of its own: the script's EVALSHA, the look-up's GET.
  it.each([
    ['the routing script', 1_000, 'evalsha'],
    ["the publisher's look-up", 1, 'get'],
  ])(
    'sends the publishes of later turns as one batch once the batch in flight is answered (%s)',
    async (_way, routeLookupFrom, command) => {
      const { a, b, gate, admin } = await twoBuses(routeLookupFrom);
      const before = await calls(admin, command);

      gate.hold();
      const published = [a.bus.publishToUsers(['u1'], envelope('first'))];
      // Redis has answered the first batch's first command; a has not seen the answer.
      await gate.untilReplied();
      for (const frame of ['second', 'third', 'fourth']) {
        published.push(a.bus.publishToUsers(['u1'], envelope(frame)));
        await nextTurn();
      }
      gate.release();
      await Promise.all(published);

      await b.recorder.waitForCount(4);
      expect(b.recorder.frames()).toEqual(['first', 'second', 'third', 'fourth']);
      // Three turns' publishes went in one batch: two batches in all, not four.
      expect((await calls(admin, command)) - before).toBe(2);
    },
  );

  it("writes each batch over an answered batch's buffer without mixing their records", async () => {
    const { a, b } = await twoBuses(1_000);
    // Long records, then short ones written over them, then longer ones again (the buffer grows).
    const turns = [
      Array.from({ length: 40 }, (_, k) => `${'a'.repeat(2_000)} long #${k}`),
      ['short'],
      Array.from({ length: 3 }, (_, k) => `${'b'.repeat(100)} medium #${k}`),
      Array.from({ length: 200 }, (_, k) => `${'c'.repeat(3_000)} longer #${k}`),
    ];
    for (const frames of turns) {
      await Promise.all(frames.map((frame) => a.bus.publishToUsers(['u1'], envelope(frame))));
    }
    const expected = turns.flat();
    await b.recorder.waitForCount(expected.length);
    expect(b.recorder.frames()).toEqual(expected);
  });

  it('sends a full batch at once while another is in flight, in publish order', async () => {
    const { a, b, gate } = await twoBuses(1_000);

    gate.hold();
    const published = [a.bus.publishToUsers(['u1'], envelope('first'))];
    await gate.untilReplied();
    const expected = ['first'];
    for (let k = 0; k < MAX_BATCH_ENVELOPES + 1; k++) {
      const frame = `full #${k}`;
      expected.push(frame);
      published.push(a.bus.publishToUsers(['u1'], envelope(frame)));
    }
    // The full batch reached b although the first batch's answer is still held; the one
    // envelope after it is gathering for the next batch.
    await b.recorder.waitForCount(1 + MAX_BATCH_ENVELOPES);
    gate.release();
    await Promise.all(published);
    await b.recorder.waitForCount(expected.length);
    expect(b.recorder.frames()).toEqual(expected);
  });
});

describe('Redis bus, route updates: the running one and at most one queued', () => {
  it('settles a subscribe with the update that stored its route, not after the updates of later turns', async () => {
    const { a, gate } = await twoBuses(1_000);
    const settled: string[] = [];
    const subscribe = (user: string) =>
      a.bus.subscribeUser(user).then(() => {
        settled.push(user);
      });

    gate.hold();
    const first = subscribe('s1');
    // s1's update has run in Redis; a has not seen the answer.
    await gate.untilReplied();
    // Two more turns while it is in flight: both users go in the next update.
    const second = subscribe('s2');
    await nextTurn();
    const third = subscribe('s3');
    await nextTurn();
    gate.release();
    gate.hold();
    await first;
    await gate.untilReplied();
    // The update carrying s2 and s3 has run; s4 comes while its answer is held.
    const fourth = subscribe('s4');
    await nextTurn();
    gate.release();
    gate.hold();

    // s3's route is stored: its subscribe settles with that answer, before s4's update is answered.
    const firstToHappen = await Promise.race([
      third.then(() => 's3 settled'),
      gate.untilReplied().then(() => "s4's update ran"),
    ]);
    expect(firstToHappen).toBe('s3 settled');
    expect(settled).toEqual(['s1', 's2', 's3']);
    gate.release();
    await Promise.all([second, fourth]);
    expect(settled).toEqual(['s1', 's2', 's3', 's4']);
  });
});
