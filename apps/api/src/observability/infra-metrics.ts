/**
 * The Redis and database part of the app's metrics (metrics.ts): bus probe latency, command
 * errors and reconnects, connection state; append batches; the Postgres pool.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BATCH_BUCKETS, LATENCY_BUCKETS, type MetricSources, REDIS_CONNECTIONS } from './metric-labels.ts';

/** Metric constructors bound to `registers`: a counter, a histogram and a gauge whose value is read at scrape time. */
export function metricFactories(registers: Registry[]) {
  return {
    counter: <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers }),
    histogram: <L extends string>(name: string, help: string, buckets: number[], labelNames: readonly L[] = []) =>
      new Histogram<L>({ name, help, buckets, labelNames, registers }),
    gauge: <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      collect: (gauge: Gauge<L>) => void | Promise<void>,
    ) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          return collect(this);
        },
      }),
  };
}

export class InfraMetrics {
  readonly #redisLatency: Histogram;
  readonly #redisProbesLost: Counter;
  readonly #redisCommandErrors: Counter<'connection'>;
  readonly #redisReconnects: Counter<'connection'>;
  readonly #appendBatchSize: Histogram;
  readonly #appendDuration: Histogram;
  readonly #sources: () => MetricSources | null;

  /** `redis`: whether Redis is configured (its per-connection counters then start at 0). */
  constructor(registers: Registry[], redis: boolean, sources: () => MetricSources | null) {
    this.#sources = sources;
    const options = { redis };
    const { counter, histogram, gauge } = metricFactories(registers);

    // ---- Redis
    this.#redisLatency = histogram(
      'anmei_redis_pubsub_latency_seconds',
      'Publish-to-receive time of the bus probe through Redis (PUBLISH on the command connection, received on the subscriber).',
      LATENCY_BUCKETS,
    );
    this.#redisProbesLost = counter(
      'anmei_redis_pubsub_probes_lost_total',
      'Bus probes that could not be published or were not received within REDIS_PROBE_INTERVAL.',
    );
    this.#redisCommandErrors = counter(
      'anmei_redis_command_errors_total',
      'Redis commands that failed (refused while disconnected, timed out, or answered with an error), by connection.',
      ['connection'],
    );
    this.#redisReconnects = counter(
      'anmei_redis_reconnects_total',
      'Times a Redis connection was lost and began to reconnect, by connection.',
      ['connection'],
    );
    gauge(
      'anmei_redis_connection_up',
      'Whether the Redis connection is ready (1) or not (0), by connection; no series without REDIS_URL.',
      ['connection'],
      (g) => {
        for (const { connection, up } of this.#sources()?.redisConnections() ?? []) g.set({ connection }, up ? 1 : 0);
      },
    );
    if (options.redis) {
      for (const connection of REDIS_CONNECTIONS) {
        this.#redisCommandErrors.inc({ connection }, 0);
        this.#redisReconnects.inc({ connection }, 0);
      }
    }

    // ---- database
    this.#appendBatchSize = histogram(
      'anmei_db_append_batch_size',
      'Messages stored by one append statement (group commit: the appends of one event-loop turn share one).',
      BATCH_BUCKETS,
    );
    this.#appendDuration = histogram(
      'anmei_db_append_duration_seconds',
      'Time of one append statement: a batch, or a single append with its duplicate check.',
      LATENCY_BUCKETS,
    );
    gauge(
      'anmei_db_pool_connections',
      'Postgres pool connections by state (in_use, idle); 0 on PGlite, which has no pool.',
      ['state'],
      (g) => {
        const pool = this.#sources()?.pool() ?? null;
        g.set({ state: 'in_use' }, pool ? pool.total - pool.idle : 0);
        g.set({ state: 'idle' }, pool ? pool.idle : 0);
      },
    );
    gauge('anmei_db_pool_waiting', 'Queries waiting for a free Postgres pool connection; 0 on PGlite.', [], (g) => {
      g.set(this.#sources()?.pool()?.waiting ?? 0);
    });
  }

  /** A bus probe's publish-to-receive time in seconds, or null when it was lost. */
  redisProbe(seconds: number | null): void {
    if (seconds === null) this.#redisProbesLost.inc();
    else this.#redisLatency.observe(seconds);
  }

  redisCommandError(connection: string): void {
    this.#redisCommandErrors.inc({ connection });
  }

  redisReconnect(connection: string): void {
    this.#redisReconnects.inc({ connection });
  }

  /** One append statement: how many messages it carried and how long it took (seconds). */
  appendBatch(size: number, seconds: number): void {
    this.#appendBatchSize.observe(size);
    this.#appendDuration.observe(seconds);
  }
}
