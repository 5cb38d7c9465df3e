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
 * One-shot timers owned by an AbortSignal: aborting the signal clears every timer still
 * pending, so a finished connection attempt cannot leave a timer behind.
 */
export class SignalTimers {
  readonly #timers: Timers;
  readonly #signal: AbortSignal;
  readonly #pending = new Set<TimerHandle>();

  constructor(timers: Timers, signal: AbortSignal) {
    this.#timers = timers;
    this.#signal = signal;
    signal.addEventListener('abort', () => this.clearAll(), { once: true });
  }

  /** Runs `callback` after `ms` unless the signal is aborted first. Returns a cancel function. */
  after(ms: number, callback: () => void): () => void {
    if (this.#signal.aborted) return () => undefined;
    const handle = this.#timers.setTimeout(() => {
      this.#pending.delete(handle);
      if (!this.#signal.aborted) callback();
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

  get pending(): number {
    return this.#pending.size;
  }
}
