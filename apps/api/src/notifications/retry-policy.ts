/**
 * The one place that decides what happens to a push job after an attempt (docs/architecture.md,
 * "Push queue"): retryable failures wait an exponentially growing, fully jittered delay (or what
 * the provider asked for), permanent ones are not retried, and a job older than the maximum age
 * is dropped as expired. Pure: the random source is injected so tests can pin the jitter.
 */
import type { PushJobResult } from '../db/store-types.ts';
import type { PushResult } from './types.ts';

export interface RetryPolicyOptions {
  /** First retry's delay ceiling in ms (PUSH_RETRY_BASE, default 1 000). */
  baseDelayMs: number;
  /** Largest delay ceiling in ms (PUSH_RETRY_MAX_DELAY, default 300 000 = 5 min). */
  maxDelayMs: number;
  /** A job older than this (since its event was stored), in ms, is dropped (PUSH_MAX_AGE, default 1 h). */
  maxAgeMs: number;
  /** Uniform in [0, 1); default Math.random. */
  random?: () => number;
}

export class RetryPolicy {
  readonly maxAgeMs: number;
  readonly #base: number;
  readonly #max: number;
  readonly #random: () => number;

  constructor(options: RetryPolicyOptions) {
    this.#base = options.baseDelayMs;
    this.#max = options.maxDelayMs;
    this.maxAgeMs = options.maxAgeMs;
    this.#random = options.random ?? Math.random;
  }

  /** Too old to attempt at all: the push would arrive long after it mattered. */
  isExpired(ageMs: number): boolean {
    return ageMs > this.maxAgeMs;
  }

  /**
   * Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in
   * [0, min(max, base · 2^(attempt−1))), so retries of many jobs failing together spread out.
   * `attempt` counts from 1 (the attempt that just failed).
   */
  backoffMs(attempt: number): number {
    const ceiling = Math.min(this.#max, this.#base * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
    return Math.floor(this.#random() * ceiling);
  }

  /** The job's next state after attempt number `attempt`, `ageMs` after its event was stored. */
  after(result: PushResult, attempt: number, ageMs: number): PushJobResult {
    if (result.ok) return { state: 'delivered', outcome: 'success', error: null };
    if (!result.retryable) return { state: 'failed', outcome: 'permanent', error: result.error };
    // A provider's Retry-After is honoured as given: retrying sooner would only be refused again.
    const wait = result.retryAfterMs !== undefined ? Math.max(0, result.retryAfterMs) : this.backoffMs(attempt);
    if (this.isExpired(ageMs + wait)) {
      return {
        state: 'expired',
        outcome: 'expired',
        error: `gave up after ${attempt} attempt(s): the next would pass PUSH_MAX_AGE; last error: ${result.error}`,
      };
    }
    return { state: 'pending', outcome: 'retryable', retryInMs: wait, error: result.error };
  }
}
