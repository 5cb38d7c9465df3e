/**
 * This instance's live figures, fed by in-process events: messages stored and broadcast
 * durations over a sliding window. Cheap on the hot path: one counter increment and one array
 * write per event; percentiles are computed only when a stats frame is built.
 */
import type { AppEvents } from '../events.ts';

/** Broadcast durations kept for percentiles (a ring buffer). */
const LATENCY_SAMPLES = 1_000;

export class InstanceMetrics {
  readonly #latencies = new Float64Array(LATENCY_SAMPLES);
  #latencyCount = 0;
  #messagesInWindow = 0;
  #windowStart: number;
  readonly #unsubscribe: Array<() => void>;

  constructor(events: AppEvents, now: () => number = Date.now) {
    this.#windowStart = now();
    this.#unsubscribe = [
      events.on('message.created', () => {
        this.#messagesInWindow++;
      }),
      events.on('broadcast.completed', ({ durationMs }) => {
        this.#latencies[this.#latencyCount % LATENCY_SAMPLES] = durationMs;
        this.#latencyCount++;
      }),
    ];
  }

  /** Figures since the last call (the window restarts). */
  take(now: number = Date.now()): { messagesPerSecond: number; latency: { p50: number; p99: number } } {
    const seconds = Math.max((now - this.#windowStart) / 1000, 0.001);
    const messagesPerSecond = Math.round((this.#messagesInWindow / seconds) * 100) / 100;
    this.#messagesInWindow = 0;
    this.#windowStart = now;
    const n = Math.min(this.#latencyCount, LATENCY_SAMPLES);
    const sorted = Array.from(this.#latencies.subarray(0, n)).sort((a, b) => a - b);
    const at = (q: number) => (n === 0 ? 0 : Math.round(sorted[Math.min(n - 1, Math.floor(q * n))]! * 1000) / 1000);
    return { messagesPerSecond, latency: { p50: at(0.5), p99: at(0.99) } };
  }

  close(): void {
    for (const off of this.#unsubscribe) off();
  }
}
