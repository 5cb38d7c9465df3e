/** Full-jitter exponential backoff: bounds, cap, budget, and the spread across many clients. */
import { describe, expect, it } from 'vitest';
import { Backoff, backoffCeiling, fullJitterDelay, seededRandom } from '../src/index.ts';

const SEED = { baseMs: 2_000, maxMs: 30_000 };

describe('backoffCeiling', () => {
  it('doubles from reconnectInterval and is capped at maxReconnectDelay (30 s)', () => {
    const ceilings = Array.from({ length: 15 }, (_, i) => backoffCeiling(i + 1, SEED.baseMs, SEED.maxMs));
    expect(ceilings).toEqual([2_000, 4_000, 8_000, 16_000, ...Array(11).fill(30_000)]);
  });

  it('stays finite for absurd attempt numbers', () => {
    expect(backoffCeiling(10_000, 2_000, 30_000)).toBe(30_000);
  });
});

describe('fullJitterDelay', () => {
  it('spans the whole window [0, ceiling], both ends included', () => {
    expect(fullJitterDelay(3, { ...SEED, random: () => 0 })).toBe(0);
    expect(fullJitterDelay(3, { ...SEED, random: () => 0.999_999_999 })).toBe(8_000);
    expect(fullJitterDelay(20, { ...SEED, random: () => 0.999_999_999 })).toBe(30_000);
  });

  it('is reproducible with a seeded random source', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const run = (random: () => number) =>
      Array.from({ length: 15 }, (_, i) => fullJitterDelay(i + 1, { ...SEED, random }));
    expect(run(a)).toEqual(run(b));
    expect(run(seededRandom(43))).not.toEqual(run(seededRandom(42)));
  });
});

describe('Backoff', () => {
  it('lowers only the first retry ceiling when asked (a connection that was open dropped)', () => {
    const top = { ...SEED, maxAttempts: 15, random: () => 0.999_999_999 };
    const quick = new Backoff(top);
    expect([quick.next(1_000), quick.next(1_000), quick.next(1_000)].map((s) => s?.delayMs)).toEqual([
      1_000, 4_000, 8_000,
    ]);
    const plain = new Backoff(top);
    expect([plain.next(), plain.next()].map((s) => s?.delayMs)).toEqual([2_000, 4_000]);
    // Never above the configured base: a smaller reconnectInterval wins.
    expect(new Backoff({ ...top, baseMs: 500 }).next(1_000)?.delayMs).toBe(500);
  });

  it('gives 15 retries numbered 1..15, then null; reset() gives a fresh budget', () => {
    const backoff = new Backoff({ ...SEED, maxAttempts: 15, random: seededRandom(1) });
    const steps = Array.from({ length: 15 }, () => backoff.next());
    expect(steps.map((s) => s?.attempt)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(backoff.next()).toBeNull();
    expect(backoff.attempts).toBe(15);
    backoff.reset();
    expect(backoff.next()?.attempt).toBe(1);
  });

  it('with maxAttempts 0 never retries', () => {
    expect(new Backoff({ ...SEED, maxAttempts: 0, random: Math.random }).next()).toBeNull();
  });
});

describe('1000 clients that lost the same server', () => {
  const CLIENTS = 1_000;
  const delays: number[][] = Array.from({ length: CLIENTS }, (_, c) => {
    const backoff = new Backoff({ ...SEED, maxAttempts: 15, random: seededRandom(c + 1) });
    const mine: number[] = [];
    for (let step = backoff.next(); step; step = backoff.next()) mine.push(step.delayMs);
    return mine;
  });

  it('every delay is within [0, min(max, base·2^(n-1))] and each client stops at 15', () => {
    for (const mine of delays) {
      expect(mine).toHaveLength(15);
      mine.forEach((delay, i) => {
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(backoffCeiling(i + 1, SEED.baseMs, SEED.maxMs));
      });
    }
  });

  it('spreads them over the whole window: no thundering herd (spread printed below)', () => {
    const rows: string[] = [];
    const quantile = (sorted: number[], q: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    for (let attempt = 1; attempt <= 15; attempt++) {
      const ceiling = backoffCeiling(attempt, SEED.baseMs, SEED.maxMs);
      const sorted = delays.map((d) => d[attempt - 1]!).sort((a, b) => a - b);
      const mean = sorted.reduce((sum, d) => sum + d, 0) / sorted.length;
      // Clients per tenth of the window: uniform would be 100 each.
      const deciles = Array<number>(10).fill(0);
      for (const d of sorted) deciles[Math.min(9, Math.floor((d / (ceiling + 1)) * 10))]! += 1;
      const busiest = Math.max(...deciles);
      const quietest = Math.min(...deciles);
      rows.push(
        [
          attempt,
          ceiling,
          sorted[0],
          quantile(sorted, 0.5),
          quantile(sorted, 0.9),
          sorted.at(-1),
          Math.round(mean),
          quietest,
          busiest,
        ]
          .map((v) => String(v).padStart(8))
          .join(' |'),
      );
      expect(mean).toBeGreaterThan(ceiling * 0.45);
      expect(mean).toBeLessThan(ceiling * 0.55);
      expect(busiest).toBeLessThanOrEqual(140);
      expect(quietest).toBeGreaterThanOrEqual(60);
      expect(sorted[0]).toBeLessThan(ceiling * 0.01);
      expect(sorted.at(-1)).toBeGreaterThan(ceiling * 0.99);
    }
    const header = ['attempt', 'ceil ms', 'min', 'p50', 'p90', 'max', 'mean', 'min/10th', 'max/10th']
      .map((h) => h.padStart(8))
      .join(' |');
    console.log(
      `backoff spread of ${CLIENTS} clients (seeded), per retry; /10th = clients per tenth of the window (uniform: 100)\n${header}\n${rows.join('\n')}`,
    );

    // First retry after a shared outage: arrivals per 100 ms over the 2 s window (uniform: 50).
    const perSlot = Array<number>(21).fill(0);
    for (const d of delays) perSlot[Math.floor(d[0]! / 100)]! += 1;
    console.log(`first-retry arrivals per 100 ms slot: ${perSlot.join(' ')}`);
    expect(Math.max(...perSlot.slice(0, 20))).toBeLessThanOrEqual(80);
  });
});
