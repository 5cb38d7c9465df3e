/**
 * Time seams. Every timer and every "now" of the client goes through these, so tests can use
 * Vitest fake timers (the defaults look up `globalThis.setTimeout` / `Date.now` at call time)
 * or a hand-driven clock.
 */

export interface Clock {
  /** Wall-clock milliseconds since the epoch (`Date.now()` by default). */
  now(): number;
}

export type TimerHandle = ReturnType<typeof globalThis.setTimeout>;

export interface Timers {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = { now: () => Date.now() };

export const systemTimers: Timers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle),
};

/**
 * One-shot timers owned by one connection attempt: `dispose()` clears every timer still pending
 * and refuses new ones, so a finished attempt cannot leave a timer behind.
 */
export class OwnedTimers {
  readonly #timers: Timers;
  readonly #pending = new Set<TimerHandle>();
  #disposed = false;

  constructor(timers: Timers) {
    this.#timers = timers;
  }

  /** Runs `callback` after `ms` unless disposed first. Returns a cancel function. */
  after(ms: number, callback: () => void): () => void {
    if (this.#disposed) return () => undefined;
    const handle = this.#timers.setTimeout(() => {
      this.#pending.delete(handle);
      if (!this.#disposed) callback();
    }, ms);
    this.#pending.add(handle);
    return () => {
      if (this.#pending.delete(handle)) this.#timers.clearTimeout(handle);
    };
  }

  clearAll(): void {
    for (const handle of this.#pending) this.#timers.clearTimeout(handle);
    this.#pending.clear();
  }

  /** Clears every pending timer; later `after` calls do nothing. */
  dispose(): void {
    this.#disposed = true;
    this.clearAll();
  }

  get pending(): number {
    return this.#pending.size;
  }
}
