/**
 * When the next attempt runs (seed: core/reconnect.ts): full-jitter backoff counted against
 * maxReconnectAttempts, server-requested moves that are not counted, the "stable connection"
 * timer that resets the count, and retries that wait for a hidden page to become visible.
 * It owns its timers; `cancel()` clears them all.
 */
import { Backoff, type BackoffOptions } from './backoff.ts';
import type { Clock, TimerHandle, Timers } from './timers.ts';

export interface RetryPlan {
  /** Retry number counted against maxAttempts; 0 for a server-requested move (not counted). */
  attempt: number;
  delayMs: number;
  /** Epoch ms. */
  nextRetryAt: number;
}

export interface ReconnectSchedulerOptions extends BackoffOptions {
  timers: Timers;
  clock: Clock;
  /** A retry that falls due while this returns true waits for `visible()`. */
  isHidden(): boolean;
  /** Starts attempt number `attempt`. */
  run(attempt: number): void;
}

export class ReconnectScheduler {
  readonly #o: ReconnectSchedulerOptions;
  readonly #backoff: Backoff;
  #retryTimer: TimerHandle | undefined;
  #stableTimer: TimerHandle | undefined;
  #deferred: number | null = null;

  constructor(options: ReconnectSchedulerOptions) {
    this.#o = options;
    this.#backoff = new Backoff(options);
  }

  get attempts(): number {
    return this.#backoff.attempts;
  }

  get maxAttempts(): number {
    return this.#backoff.maxAttempts;
  }

  /**
   * Schedules the next counted retry, or returns null when the budget is used up. `afterOpen`:
   * the connection had opened and then dropped, most often because its server died or drained,
   * and a resume ticket makes coming back cheap: the first retry then waits at most half of
   * `baseMs` (1 s by default; Socket.IO's client waits 0.5–1.5 s). Full jitter still spreads a
   * crowd over that window; later retries back off from `baseMs` as before.
   */
  backoff(afterOpen = false): RetryPlan | null {
    const step = this.#backoff.next(afterOpen ? Math.floor(this.#o.baseMs / 2) : undefined);
    if (!step) return null;
    return this.#plan(step.attempt, step.delayMs);
  }

  /**
   * The server asked us to move (`reconnect` frame): wait `retryAfterMs` plus up to
   * `baseMs / 2` of our own jitter, so a server that hands everyone the same value still
   * does not get a herd. Not counted as an attempt.
   */
  move(retryAfterMs: number): RetryPlan {
    const jitter = Math.floor(this.#o.random() * (Math.floor(this.#o.baseMs / 2) + 1));
    return this.#plan(0, Math.max(0, retryAfterMs) + jitter);
  }

  /** The connection opened: reset the count once it has stayed up for `stableMs`. */
  opened(stableMs: number): void {
    this.#clearStable();
    this.#stableTimer = this.#o.timers.setTimeout(() => {
      this.#stableTimer = undefined;
      this.#backoff.reset();
    }, stableMs);
  }

  /** The page is visible again: run a retry that fell due while hidden. True if one ran. */
  visible(): boolean {
    if (this.#deferred === null) return false;
    const attempt = this.#deferred;
    this.#deferred = null;
    this.#o.run(attempt);
    return true;
  }

  /** A fresh budget (manual connect/reconnect, network back, page shown again). */
  reset(): void {
    this.cancel();
    this.#backoff.reset();
  }

  /** Clears the pending retry, a deferred retry and the stable timer; the count is kept. */
  cancel(): void {
    if (this.#retryTimer !== undefined) this.#o.timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#deferred = null;
    this.#clearStable();
  }

  #clearStable(): void {
    if (this.#stableTimer !== undefined) this.#o.timers.clearTimeout(this.#stableTimer);
    this.#stableTimer = undefined;
  }

  #plan(attempt: number, delayMs: number): RetryPlan {
    this.cancel();
    this.#retryTimer = this.#o.timers.setTimeout(() => {
      this.#retryTimer = undefined;
      // A hidden page does not spin retries; the retry runs when the page is visible again.
      if (this.#o.isHidden()) this.#deferred = attempt;
      else this.#o.run(attempt);
    }, delayMs);
    return { attempt, delayMs, nextRetryAt: this.#o.clock.now() + delayMs };
  }
}
