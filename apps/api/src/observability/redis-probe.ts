/**
 * Measures Redis pub/sub the way envelopes travel: every `intervalMs` (REDIS_PROBE_INTERVAL,
 * default 5 000) the bus publishes a probe to its own probe channel and times its arrival on the
 * subscriber connection (RedisBus.probe). A probe not back by the next tick counts as lost.
 * One probe at a time; the timer is unref'd. Without Redis there is nothing to probe.
 */
import type { AppMetrics } from './metrics.ts';

export interface RedisProbeOptions {
  probe: (timeoutMs: number) => Promise<number | null>;
  metrics: AppMetrics;
  /** ms between probes; 0 = no probe. */
  intervalMs: number;
}

/** Starts probing; the returned function stops it (idempotent). */
export function startRedisProbe(options: RedisProbeOptions): () => void {
  if (options.intervalMs <= 0) return () => {};
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    void options
      .probe(options.intervalMs)
      .then((seconds) => options.metrics.redisProbe(seconds))
      .finally(() => {
        running = false;
      });
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  // The first figure at once, not an interval after start.
  tick();
  return () => clearInterval(timer);
}
