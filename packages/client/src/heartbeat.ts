/**
 * Client-side liveness (seed: core/heartbeat.ts). Browsers cannot see WebSocket ping control
 * frames, so after `intervalMs` without ANY inbound frame the client sends a `ping` frame; if
 * nothing at all arrives within `timeoutMs` of it, the connection is declared dead.
 *
 * Deadlines are compared against the wall clock, never counted in timer ticks: background tabs
 * throttle timers (to once a minute in Chrome) and laptops sleep, so a timer may fire long
 * after it was due. A timer that fires more than `timeoutMs` late means WE were suspended, not
 * that the server is gone: the client then pings again and gives the server a fresh timeout
 * instead of reporting a false timeout.
 */
import type { Clock, TimerHandle, Timers } from './timers.ts';

export interface HeartbeatOptions {
  /** Idle time before a ping, ms (seed heartbeatInterval, default 45000). */
  intervalMs: number;
  /** Time to wait for any frame after a ping, ms (default 10000). */
  timeoutMs: number;
  clock: Clock;
  timers: Timers;
  /** Sends `{action:'ping', data:{ts}}`; returns false when the socket is not writable. */
  sendPing(ts: number): boolean;
  onTimeout(): void;
  /** Round trip of a ping answered by its pong, ms. */
  onRtt(rttMs: number): void;
}

export class Heartbeat {
  readonly #o: HeartbeatOptions;
  #timer: TimerHandle | undefined;
  /** When the pending timer was due (wall clock), to detect a suspended page. */
  #dueAt = 0;
  #lastInboundAt = 0;
  #pingSentAt: number | null = null;
  /** ts of the last ping sent, until its pong arrives (for the RTT). */
  #lastPingTs: number | null = null;
  #running = false;

  constructor(options: HeartbeatOptions) {
    this.#o = options;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    this.stop();
    this.#running = true;
    this.#lastInboundAt = this.#o.clock.now();
    this.#schedule(this.#o.intervalMs);
  }

  stop(): void {
    this.#running = false;
    this.#pingSentAt = null;
    if (this.#timer !== undefined) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Any inbound frame proves liveness; a pong echoing our ping's `ts` also gives the RTT. */
  received(pongTs?: number): void {
    const now = this.#o.clock.now();
    this.#lastInboundAt = now;
    // RTT comes from the pong that echoes our last ping's ts, even when other frames arrived
    // first (they prove liveness and clear the pending ping, but are not the answer).
    if (pongTs !== undefined && pongTs === this.#lastPingTs) {
      this.#o.onRtt(Math.max(0, now - pongTs));
      this.#lastPingTs = null;
    }
    if (this.#pingSentAt === null) return;
    // The outstanding ping is answered: the next one is due an idle interval from now.
    this.#pingSentAt = null;
    if (this.#running) this.#schedule(this.#o.intervalMs);
  }

  /** Ping now (e.g. the page became visible again) and expect an answer within the timeout. */
  probe(): void {
    if (!this.#running) return;
    this.#ping(this.#o.clock.now());
  }

  #schedule(ms: number): void {
    if (this.#timer !== undefined) this.#o.timers.clearTimeout(this.#timer);
    this.#dueAt = this.#o.clock.now() + ms;
    this.#timer = this.#o.timers.setTimeout(() => this.#check(), Math.max(0, ms));
  }

  #ping(now: number): void {
    this.#pingSentAt = now;
    this.#lastPingTs = now;
    if (!this.#o.sendPing(now)) {
      // Not writable: the socket is closing; its close event ends the connection, not us.
      this.#pingSentAt = null;
      return;
    }
    this.#schedule(this.#o.timeoutMs);
  }

  #check(): void {
    this.#timer = undefined;
    if (!this.#running) return;
    const now = this.#o.clock.now();
    const suspended = now - this.#dueAt > this.#o.timeoutMs;
    if (this.#pingSentAt !== null) {
      const answered = this.#lastInboundAt >= this.#pingSentAt;
      if (!answered && suspended) {
        this.#ping(now);
        return;
      }
      if (!answered) {
        const left = this.#pingSentAt + this.#o.timeoutMs - now;
        if (left > 0) {
          this.#schedule(left);
          return;
        }
        this.stop();
        this.#o.onTimeout();
        return;
      }
      this.#pingSentAt = null;
    }
    const idle = now - this.#lastInboundAt;
    if (idle >= this.#o.intervalMs) {
      this.#ping(now);
      return;
    }
    this.#schedule(this.#o.intervalMs - idle);
  }
}
