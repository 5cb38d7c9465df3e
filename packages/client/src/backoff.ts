/**
 * Reconnect delays: exponential backoff with FULL jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): retry n waits a uniformly random time in [0, min(max, base·2^(n-1))].
 * Full jitter spreads a crowd of clients that lost the same server over the whole window, so
 * they do not come back in one thundering herd.
 */

export interface BackoffOptions {
  /** Ceiling of the first retry's delay, ms (seed `reconnectInterval`, default 2000). */
  baseMs: number;
  /** Largest ceiling, ms (seed `maxReconnectDelay`, default 30000). */
  maxMs: number;
  /** Retries before giving up (seed: 15). 0 = never retry. */
  maxAttempts: number;
  /** Uniform in [0, 1). `Math.random` by default; tests pass `seededRandom(n)`. */
  random: () => number;
}

/** The upper bound of retry `attempt`'s delay (attempt 1 = first retry), ms. */
export function backoffCeiling(attempt: number, baseMs: number, maxMs: number): number {
  // 2^31 overflows nothing and is far past any realistic cap; keeps huge attempt counts finite.
  const exponent = Math.min(Math.max(attempt - 1, 0), 31);
  return Math.min(maxMs, baseMs * 2 ** exponent);
}

/** A delay drawn uniformly from [0, ceiling] (both ends included), whole ms. */
export function fullJitterDelay(attempt: number, options: Omit<BackoffOptions, 'maxAttempts'>): number {
  const ceiling = backoffCeiling(attempt, options.baseMs, options.maxMs);
  return Math.min(ceiling, Math.floor(options.random() * (ceiling + 1)));
}

export interface BackoffStep {
  /** 1-based retry number, counted against `maxAttempts`. */
  attempt: number;
  delayMs: number;
}

/** Counts consecutive failed retries; `reset()` after a connection proved stable. */
export class Backoff {
  readonly #options: BackoffOptions;
  #attempts = 0;

  constructor(options: BackoffOptions) {
    this.#options = options;
  }

  /**
   * The next retry, or null when `maxAttempts` retries have been used. `firstCeilingMs` lowers
   * the first retry's ceiling (not later ones'): see ReconnectScheduler.backoff.
   */
  next(firstCeilingMs?: number): BackoffStep | null {
    if (this.#attempts >= this.#options.maxAttempts) return null;
    this.#attempts += 1;
    const quick = this.#attempts === 1 && firstCeilingMs !== undefined;
    const options = quick
      ? { ...this.#options, baseMs: Math.min(firstCeilingMs, this.#options.baseMs) }
      : this.#options;
    return { attempt: this.#attempts, delayMs: fullJitterDelay(this.#attempts, options) };
  }

  reset(): void {
    this.#attempts = 0;
  }

  /** Retries used since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }

  get maxAttempts(): number {
    return this.#options.maxAttempts;
  }
}

/**
 * A small, fast, seedable PRNG (mulberry32): the same seed gives the same sequence, so jitter
 * tests are reproducible. Not for cryptography.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
