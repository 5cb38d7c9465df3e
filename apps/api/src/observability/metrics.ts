/**
 * This instance's Prometheus metrics (issue #16; the table in docs/operations.md "Metrics"). ONE
 * prom-client Registry per app: `buildApp` creates an `AppMetrics` and hands it to every module
 * that records, and serves `registry` at /metrics; the admin `stats` frames and
 * `GET /api/v1/admin/stats` read their per-instance figures from the same metrics
 * (instance-figures.ts). Nothing is registered in prom-client's global default registry, so the
 * apps a test process builds never share a series.
 *
 * Conventions: base units (`_seconds`), counters end in `_total`, and every label has a bounded
 * set of values (no user, conversation or connection ids). Label values known in advance are
 * resolved into prom-client children once, and their series start at 0 (so `rate()` sees the
 * first event). The fan-out path counts deliveries in plain numbers that the registry reads at
 * scrape time (delivery-counter.ts): prom-client hashes the label values on every `inc()`.
 */
import { DEVICE_TYPES, type DeviceType, type ErrorCode, POSITIONS_REASONS, ROLES, type Role } from '@anmei/protocol';
import { Counter, collectDefaultMetrics, type Histogram, Registry } from 'prom-client';
import type { AppEvents } from '../events.ts';
import { DeliveryCounter } from './delivery-counter.ts';
import { InfraMetrics, metricFactories } from './infra-metrics.ts';
import {
  type AppMetricsOptions,
  BROADCAST_METHODS,
  type ConnectionCensus,
  INVALID_FRAME_CODES,
  KNOWN_CLOSE_CODES,
  LATENCY_BUCKETS,
  type MetricSources,
  PUSH_FINAL_STATES,
  PUSH_OUTCOMES,
  type PushFinalState,
  type PushOutcome,
  RATE_LIMITS,
  type RateLimitName,
  RESUME_STATUSES,
  RESUME_STREAMS,
  type ResumeStatus,
  type ResumeStream,
} from './metric-labels.ts';

// Callers import the label types and shapes from here, as before the split.
export * from './metric-labels.ts';

export class AppMetrics {
  readonly registry = new Registry();
  /** `anmei_broadcast_duration_seconds`: the stats frames' latency percentiles are read from it too. */
  readonly broadcastDuration: Histogram<'method'>;
  /** `anmei_messages_stored_total`: the stats frames' messages per second are read from it too. */
  readonly messagesStored: Counter;
  /** Frames delivered on the fan-out path (LocalConnections.deliver counts into it). */
  readonly delivered: DeliveryCounter;
  /** The push counters the admin figures read (instance-figures.ts). */
  readonly pushDecisions: Counter;
  readonly pushQueued: Counter<'provider'>;
  readonly pushAttempts: Counter<'provider' | 'outcome'>;
  readonly pushFinished: Counter<'provider' | 'state'>;
  readonly #o: AppMetricsOptions;
  readonly #infra: InfraMetrics;
  readonly #broadcastFailures: Counter<'method'>;
  readonly #framesDelivered: Counter<'action'>;
  readonly #connects: Counter<'device_type' | 'role'>;
  readonly #disconnects: Counter<'code'>;
  readonly #upgradesRefused: Counter<'code'>;
  readonly #slowConsumerCuts: Counter;
  readonly #invalidFrames: Counter<'code'>;
  readonly #rateLimited: Counter<'limit'>;
  readonly #resumes: Counter;
  readonly #resumeStreams: Counter<'stream' | 'status'>;
  readonly #framesReplayed: Counter;
  readonly #positionsFrames: Counter<'reason'>;
  /** Label children resolved once: prom-client's `labels()` checks and copies its arguments on every call. */
  readonly #broadcastChildren = new Map<string, Histogram.Internal<'method'>>();
  readonly #disconnectChildren = new Map<number, Counter.Internal>();
  readonly #otherDisconnect: Counter.Internal;
  #sources: MetricSources | null = null;
  /** One census per scrape, shared by the three connection gauges (collected in the same turn). */
  #census: ConnectionCensus | null = null;
  /** The push-queue read of the scrape running now (both queue gauges share it). */
  #pushQueueRead: Promise<{ pending: number; oldestAgeSeconds: number | null } | null> | null = null;
  /** The last push-queue figures read: kept while the database does not answer. */
  #pushQueue: { pending: number; oldestAgeSeconds: number | null } | null = null;
  readonly #unsubscribe: Array<() => void> = [];

  constructor(options: AppMetricsOptions) {
    this.#o = options;
    const registers = [this.registry];
    const { counter, histogram, gauge } = metricFactories(registers);

    // ---- broadcasting and storage
    this.broadcastDuration = histogram(
      'anmei_broadcast_duration_seconds',
      'Wall time of one BroadcastingService call until the bus took the publish, by method.',
      LATENCY_BUCKETS,
      ['method'],
    );
    this.#broadcastFailures = counter(
      'anmei_broadcast_failures_total',
      'BroadcastingService calls that failed ("broadcast failed" in the log), by method.',
      ['method'],
    );
    for (const method of BROADCAST_METHODS) {
      this.broadcastDuration.zero({ method });
      this.#broadcastChildren.set(method, this.broadcastDuration.labels(method));
      this.#broadcastFailures.inc({ method }, 0);
    }
    this.messagesStored = counter('anmei_messages_stored_total', 'Chat messages stored by this instance.');

    // ---- WebSocket
    this.#framesDelivered = new Counter({
      name: 'anmei_ws_frames_delivered_total',
      help: 'Broadcast frames handed to local sockets (written, or held for a resuming socket), by action.',
      labelNames: ['action'],
      registers,
      collect: () => this.delivered.flush(this.#framesDelivered),
    });
    this.delivered = new DeliveryCounter(this.#framesDelivered);
    gauge(
      'anmei_ws_connections',
      'Open WebSockets on this instance, by device type and role.',
      ['device_type', 'role'],
      (g) => {
        const census = this.#censusNow();
        if (!census) return;
        for (const device_type of DEVICE_TYPES)
          for (const role of ROLES) g.set({ device_type, role }, census.connections[device_type][role]);
      },
    );
    gauge('anmei_ws_online_users', 'Distinct users with a WebSocket on this instance, by role.', ['role'], (g) => {
      const census = this.#censusNow();
      if (!census) return;
      for (const role of ROLES) g.set({ role }, census.usersByRole[role]);
    });
    gauge(
      'anmei_ws_online_users_by_device',
      'Distinct users with a WebSocket of this device type on this instance (a user on two device types counts in both).',
      ['device_type'],
      (g) => {
        const census = this.#censusNow();
        if (!census) return;
        for (const device_type of DEVICE_TYPES) g.set({ device_type }, census.usersByDevice[device_type]);
      },
    );
    this.#connects = counter(
      'anmei_ws_connects_total',
      'WebSockets registered on this instance (their `connected` frame was sent), by device type and role.',
      ['device_type', 'role'],
    );
    for (const device_type of DEVICE_TYPES) for (const role of ROLES) this.#connects.inc({ device_type, role }, 0);
    this.#disconnects = counter(
      'anmei_ws_disconnects_total',
      'WebSockets closed or cut on this instance, by close code (`other`: a code outside RFC 6455 and ours).',
      ['code'],
    );
    for (const code of KNOWN_CLOSE_CODES) {
      this.#disconnects.inc({ code: String(code) }, 0);
      this.#disconnectChildren.set(code, this.#disconnects.labels(String(code)));
    }
    this.#disconnects.inc({ code: 'other' }, 0);
    this.#otherDisconnect = this.#disconnects.labels('other');
    this.#upgradesRefused = counter(
      'anmei_ws_upgrades_refused_total',
      'WebSocket upgrades refused before a socket existed (or closed at once with 4003), by error code.',
      ['code'],
    );
    this.#slowConsumerCuts = counter(
      'anmei_ws_slow_consumer_cuts_total',
      'Sockets cut with 4009: send buffer over WS_MAX_BUFFERED_BYTES, or too many frames held during a resume.',
    );
    this.#invalidFrames = counter(
      'anmei_ws_invalid_frames_total',
      'Inbound frames that could not be decoded (each answered with an error frame), by error code.',
      ['code'],
    );
    for (const code of INVALID_FRAME_CODES) this.#invalidFrames.inc({ code }, 0);
    this.#rateLimited = counter(
      'anmei_rate_limited_total',
      'Requests, upgrades and frames refused by a limit (RATE_LIMITED, TOO_MANY_CONNECTIONS), by limit.',
      ['limit'],
    );
    for (const limit of RATE_LIMITS) this.#rateLimited.inc({ limit }, 0);

    // ---- resume and trailing gaps
    this.#resumes = counter('anmei_resumes_total', '`resume` frames answered with `resumed`.');
    this.#resumeStreams = counter(
      'anmei_resume_streams_total',
      'Streams in answered resumes, by kind and status (reload: the gap was larger than RESUME_WINDOW).',
      ['stream', 'status'],
    );
    for (const stream of RESUME_STREAMS)
      for (const status of RESUME_STATUSES) this.#resumeStreams.inc({ stream, status }, 0);
    this.#framesReplayed = counter('anmei_resume_frames_replayed_total', 'Stored frames replayed by resumes.');
    this.#positionsFrames = counter(
      'anmei_positions_frames_total',
      '`positions` frames sent (the server-side check for trailing gaps), by reason.',
      ['reason'],
    );
    for (const reason of POSITIONS_REASONS) this.#positionsFrames.inc({ reason }, 0);

    // ---- push queue
    this.pushDecisions = counter('anmei_push_decisions_total', 'Push decisions run by this instance.');
    this.pushQueued = counter(
      'anmei_push_jobs_queued_total',
      "Push sends queued by this instance's decisions (one per offline recipient, or per device), by provider.",
      ['provider'],
    );
    this.pushAttempts = counter(
      'anmei_push_attempts_total',
      'Provider calls made by this instance, by provider and outcome (success, retryable, permanent).',
      ['provider', 'outcome'],
    );
    this.pushFinished = counter(
      'anmei_push_jobs_finished_total',
      'Push sends this instance finished, by provider and final state (delivered, failed, expired).',
      ['provider', 'state'],
    );
    gauge(
      'anmei_push_queue_depth',
      'Pending push jobs (decisions and sends) in the database, all instances; counted up to 100 000.',
      [],
      async (g) => {
        const queue = await this.#pushQueueNow();
        if (queue) g.set(queue.pending);
      },
    );
    gauge(
      'anmei_push_queue_oldest_age_seconds',
      'Age of the oldest pending push job in the database (0 when none is pending), all instances.',
      [],
      async (g) => {
        const queue = await this.#pushQueueNow();
        if (queue) g.set(queue.oldestAgeSeconds ?? 0);
      },
    );

    this.#infra = new InfraMetrics(registers, options.redis, () => this.#sources);

    // CPU, memory, file descriptors, event-loop lag (nodejs_eventloop_lag_*), GC, of this process.
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts what the in-process events report: stored messages, broadcast durations and failures. */
  listen(events: AppEvents): void {
    this.#unsubscribe.push(
      events.on('message.created', () => this.messagesStored.inc()),
      events.on('broadcast.completed', ({ kind, durationMs }) => {
        this.#broadcastChildren.get(kind)?.observe(durationMs / 1000);
      }),
      events.on('broadcast.failed', ({ kind }) => this.#broadcastFailures.inc({ method: kind })),
    );
  }

  /** The push providers in use: their series start at 0 (others are counted as they appear). */
  pushProviders(names: readonly string[]): void {
    for (const provider of names) {
      this.pushQueued.inc({ provider }, 0);
      for (const outcome of PUSH_OUTCOMES) this.pushAttempts.inc({ provider, outcome }, 0);
      for (const state of PUSH_FINAL_STATES) this.pushFinished.inc({ provider, state }, 0);
    }
  }

  /** Attach what the gauges read (the parts exist only after the registry). */
  watch(sources: MetricSources): void {
    this.#sources = sources;
  }

  // ---- WebSocket
  connected(info: { deviceType: DeviceType; role: Role }): void {
    this.#connects.inc({ device_type: info.deviceType, role: info.role });
  }

  disconnected(code: number): void {
    (this.#disconnectChildren.get(code) ?? this.#otherDisconnect).inc();
  }

  upgradeRefused(code: ErrorCode): void {
    this.#upgradesRefused.inc({ code });
  }

  slowConsumerCut(): void {
    this.#slowConsumerCuts.inc();
  }

  invalidFrame(code: ErrorCode): void {
    this.#invalidFrames.inc({ code });
  }

  rateLimited(limit: RateLimitName): void {
    this.#rateLimited.inc({ limit });
  }

  // ---- resume
  /** One answered `resume`: each stream's status, and how many frames were replayed. */
  resumed(streams: ReadonlyArray<{ stream: ResumeStream; status: ResumeStatus }>, replayedFrames: number): void {
    this.#resumes.inc();
    for (const { stream, status } of streams) this.#resumeStreams.inc({ stream, status });
    if (replayedFrames > 0) this.#framesReplayed.inc(replayedFrames);
  }

  positionsSent(reason: (typeof POSITIONS_REASONS)[number], frames: number): void {
    if (frames > 0) this.#positionsFrames.inc({ reason }, frames);
  }

  // ---- push
  pushDecided(providers: readonly string[]): void {
    this.pushDecisions.inc();
    for (const provider of providers) this.pushQueued.inc({ provider });
  }

  pushAttempted(provider: string, outcome: PushOutcome): void {
    this.pushAttempts.inc({ provider, outcome });
  }

  pushJobFinished(provider: string, state: PushFinalState): void {
    this.pushFinished.inc({ provider, state });
  }

  // ---- Redis and database (infra-metrics.ts)
  redisProbe(seconds: number | null): void {
    this.#infra.redisProbe(seconds);
  }

  redisCommandError(connection: string): void {
    this.#infra.redisCommandError(connection);
  }

  redisReconnect(connection: string): void {
    this.#infra.redisReconnect(connection);
  }

  appendBatch(size: number, seconds: number): void {
    this.#infra.appendBatch(size, seconds);
  }

  /** The Prometheus text of every metric (GET /metrics). */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops listening to the app's events (the default process metrics cannot be stopped; see docs). */
  close(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  #censusNow(): ConnectionCensus | null {
    if (!this.#sources) return null;
    if (!this.#census) {
      this.#census = this.#sources.census();
      // The registry collects every gauge in one turn; the next scrape counts again.
      queueMicrotask(() => {
        this.#census = null;
      });
    }
    return this.#census;
  }

  /**
   * The push-queue figures for this scrape: one read shared by both gauges, bounded by
   * `pushQueueTimeoutMs`; when the database does not answer in time the gauges keep their last
   * value (the queue's own alerts then look stale rather than empty; /ready says why).
   */
  #pushQueueNow(): Promise<{ pending: number; oldestAgeSeconds: number | null } | null> {
    const sources = this.#sources;
    if (!sources) return Promise.resolve(null);
    if (!this.#pushQueueRead) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => {
        timer = setTimeout(resolve, this.#o.pushQueueTimeoutMs, null);
      });
      const read = sources.pushQueue().then(
        (queue) => {
          this.#pushQueue = queue;
          return queue;
        },
        () => this.#pushQueue,
      );
      this.#pushQueueRead = Promise.race([read, late.then(() => this.#pushQueue)]).finally(() => {
        clearTimeout(timer);
        this.#pushQueueRead = null;
      });
    }
    return this.#pushQueueRead;
  }
}
