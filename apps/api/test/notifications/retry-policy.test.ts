import { describe, expect, it } from 'vitest';
import { RetryPolicy } from '../../src/notifications/retry-policy.ts';

const HOUR = 3_600_000;

/** A policy whose jitter is a fixed fraction, so delays are exact. */
const policy = (fraction: number, overrides: Partial<{ base: number; max: number; maxAge: number }> = {}) =>
  new RetryPolicy({
    baseDelayMs: overrides.base ?? 1_000,
    maxDelayMs: overrides.max ?? 300_000,
    maxAgeMs: overrides.maxAge ?? HOUR,
    random: () => fraction,
  });

describe('RetryPolicy', () => {
  it('delivers on success and fails for good on a permanent error', () => {
    expect(policy(0.5).after({ ok: true }, 1, 0)).toEqual({ state: 'delivered', outcome: 'success', error: null });
    expect(policy(0.5).after({ ok: false, error: 'bad token', retryable: false }, 1, 0)).toEqual({
      state: 'failed',
      outcome: 'permanent',
      error: 'bad token',
    });
  });

  it('backs off exponentially with full jitter: uniform below base·2^(n−1), capped at the maximum', () => {
    // The ceiling doubles per attempt: 1 s, 2 s, 4 s, … and the delay is fraction × ceiling.
    expect([1, 2, 3, 4].map((n) => policy(0.5).backoffMs(n))).toEqual([500, 1_000, 2_000, 4_000]);
    expect(policy(0.999).backoffMs(20)).toBe(299_700);
    expect(policy(0).backoffMs(5)).toBe(0);
    // Absurd attempt counts do not overflow into Infinity or NaN.
    expect(policy(0.5).backoffMs(10_000)).toBe(150_000);
  });

  it('retries a retryable failure after the backoff, keeping the reason', () => {
    expect(policy(0.25).after({ ok: false, error: '503', retryable: true }, 3, 10_000)).toEqual({
      state: 'pending',
      outcome: 'retryable',
      retryInMs: 1_000,
      error: '503',
    });
  });

  it("honours the provider's Retry-After instead of its own backoff", () => {
    expect(policy(0.25).after({ ok: false, error: '429', retryable: true, retryAfterMs: 42_000 }, 1, 0)).toMatchObject({
      state: 'pending',
      retryInMs: 42_000,
    });
  });

  it('expires a job that is too old, or whose next retry would come after the maximum age', () => {
    const p = policy(0.5, { maxAge: 60_000 });
    expect(p.isExpired(60_001)).toBe(true);
    expect(p.isExpired(60_000)).toBe(false);
    const result = p.after({ ok: false, error: '429', retryable: true, retryAfterMs: 30_000 }, 4, 45_000);
    expect(result).toEqual({
      state: 'expired',
      outcome: 'expired',
      error: 'gave up after 4 attempt(s): the next would pass PUSH_MAX_AGE; last error: 429',
    });
  });
});
