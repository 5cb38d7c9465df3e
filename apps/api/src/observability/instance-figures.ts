/**
 * This instance's figures as the admin page shows them (`stats` frames, GET /api/v1/admin/stats),
 * read back from the metrics /metrics serves (issue #16: one set of figures, no second count):
 * - messages per second: the growth of `anmei_messages_stored_total` since the previous window;
 * - broadcast latency p50 / p99: estimated from the buckets of `anmei_broadcast_duration_seconds`
 *   that filled since the previous window, by linear interpolation inside a bucket — the estimate
 *   Prometheus' `histogram_quantile` gives for the same buckets (0 when nothing was broadcast);
 * - push attempts, finished sends, decisions and queued sends: the push counters' totals.
 */
import type { Histogram } from 'prom-client';
import type { AppMetrics, PushOutcome } from './metrics.ts';

/** Provider attempts by outcome, plus `expired`: sends dropped at PUSH_MAX_AGE. */
export type PushAttemptCounts = Record<PushOutcome | 'expired', number>;

/** This instance's push figures since it started. */
export interface PushAttemptStats {
  attempts: PushAttemptCounts;
  /** The same per provider (fcm, apns, webpush, logging, webhook): every configured one, and any other seen. */
  byProvider: Record<string, PushAttemptCounts>;
  /** Decisions run, and the sends they queued (one per offline recipient or device). */
  decisions: number;
  queued: number;
  /** success ÷ (success + retryable + permanent); null before the first attempt. */
  successRate: number | null;
}

export interface WindowFigures {
  messagesPerSecond: number;
  /** ms, 3 decimals. */
  latency: { p50: number; p99: number };
}

type Buckets = Map<number, number>;

export class InstanceFigures {
  readonly #metrics: AppMetrics;
  readonly #now: () => number;
  #windowStart: number;
  #messages = 0;
  /** Cumulative broadcast counts per bucket upper bound (s; Infinity for +Inf) at the window start. */
  #buckets: Buckets = new Map();

  constructor(metrics: AppMetrics, now: () => number = Date.now) {
    this.#metrics = metrics;
    this.#now = now;
    this.#windowStart = now();
  }

  /** Figures since the previous call (or since start); the next window starts now. */
  async window(): Promise<WindowFigures> {
    const now = this.#now();
    const [messages, buckets] = await Promise.all([
      totalOf(this.#metrics.messagesStored),
      bucketsOf(this.#metrics.broadcastDuration),
    ]);
    const seconds = Math.max((now - this.#windowStart) / 1000, 0.001);
    const messagesPerSecond = Math.round(((messages - this.#messages) / seconds) * 100) / 100;
    const inWindow = new Map([...buckets].map(([le, count]) => [le, count - (this.#buckets.get(le) ?? 0)]));
    this.#windowStart = now;
    this.#messages = messages;
    this.#buckets = buckets;
    const ms = (q: number) => Math.round(quantile(q, inWindow) * 1000 * 1000) / 1000;
    return { messagesPerSecond, latency: { p50: ms(0.5), p99: ms(0.99) } };
  }

  async push(): Promise<PushAttemptStats> {
    const metrics = this.#metrics;
    const [attempts, finished, decisions, queued] = await Promise.all([
      metrics.pushAttempts.get(),
      metrics.pushFinished.get(),
      metrics.pushDecisions.get(),
      metrics.pushQueued.get(),
    ]);
    const total: PushAttemptCounts = { success: 0, retryable: 0, permanent: 0, expired: 0 };
    const byProvider: Record<string, PushAttemptCounts> = {};
    const of = (provider: string) => (byProvider[provider] ??= { success: 0, retryable: 0, permanent: 0, expired: 0 });
    for (const { labels, value } of attempts.values) {
      const outcome = labels.outcome as PushOutcome;
      of(String(labels.provider))[outcome] += value;
      total[outcome] += value;
    }
    for (const { labels, value } of finished.values) {
      const counts = of(String(labels.provider));
      if (labels.state !== 'expired') continue;
      counts.expired += value;
      total.expired += value;
    }
    const attempted = total.success + total.retryable + total.permanent;
    return {
      attempts: total,
      byProvider,
      decisions: decisions.values.reduce((sum, v) => sum + v.value, 0),
      queued: queued.values.reduce((sum, v) => sum + v.value, 0),
      successRate: attempted === 0 ? null : total.success / attempted,
    };
  }
}

async function totalOf(metric: { get(): Promise<{ values: Array<{ value: number }> }> }): Promise<number> {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/** Cumulative counts per upper bound, summed over every label (method). */
async function bucketsOf(histogram: Histogram<string>): Promise<Buckets> {
  const buckets: Buckets = new Map();
  for (const { labels, value, metricName } of (await histogram.get()).values) {
    if (!metricName?.endsWith('_bucket')) continue;
    const le = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + value);
  }
  return buckets;
}

/**
 * The q-quantile (0..1) of cumulative `buckets`, in their unit, like Prometheus'
 * `histogram_quantile`: linear inside the bucket that holds the rank; a rank in the +Inf bucket
 * reads as the highest finite bound; 0 when the window is empty.
 */
export function quantile(q: number, buckets: Buckets): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Number.POSITIVE_INFINITY) ?? 0;
  if (total <= 0) return 0;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound) ?? 0;
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lower;
      return count === below ? bound : lower + ((bound - lower) * (rank - below)) / (count - below);
    }
    lower = bound;
    below = count;
  }
  return lower;
}
