import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { AppContext } from './app-context.ts';
import { AttachmentService } from './attachments/attachment-service.ts';
import { createAttachmentStorage } from './attachments/storage-factory.ts';
import { hashPassword } from './auth/passwords.ts';
import { TokenService } from './auth/tokens.ts';
import { createBroadcastingService } from './broadcasting/factory.ts';
import { ParticipantDirectory } from './broadcasting/participant-directory.ts';
import { ChatService } from './chat/chat-service.ts';
import type { Config } from './config.ts';
import { openDatabase } from './db/open-database.ts';
import { type SeedResult, seedDemoData } from './db/seed.ts';
import { type AppEventMap, TypedEvents } from './events.ts';
import { ClientAddress } from './http/client-address.ts';
import { registerHttpRateLimits } from './http/rate-limits.ts';
import { accountRoutes } from './http/routes/accounts.ts';
import { adminRoutes } from './http/routes/admin.ts';
import { adminConversationRoutes } from './http/routes/admin-conversations.ts';
import { attachmentRoutes } from './http/routes/attachments.ts';
import { authRoutes } from './http/routes/auth.ts';
import { chatRoutes } from './http/routes/chat.ts';
import { conversationTitleRoutes } from './http/routes/conversation-title.ts';
import { deviceRoutes } from './http/routes/devices.ts';
import { directoryRoutes } from './http/routes/directory.ts';
import { healthRoutes } from './http/routes/health.ts';
import { participantRemovalRoutes } from './http/routes/participant-removal.ts';
import { createHttpServer } from './http/server.ts';
import { createNotificationProviders } from './notifications/factory.ts';
import { PushDecider } from './notifications/push-rules.ts';
import { PushWorker } from './notifications/push-worker.ts';
import { RetryPolicy } from './notifications/retry-policy.ts';
import { NotificationService } from './notifications/service.ts';
import type { NotificationProvider } from './notifications/types.ts';
import { InstanceFigures } from './observability/instance-figures.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { AppMetrics } from './observability/metrics.ts';
import { type MetricsListener, metricsRoute, startMetricsListener } from './observability/metrics-endpoint.ts';
import { startRedisProbe } from './observability/redis-probe.ts';
import { PresenceWatch } from './presence-watch/presence-watch.ts';
import { createRealtimeInfrastructure } from './realtime/infrastructure.ts';
import { ResumeService } from './resume/resume-service.ts';
import { StreamPositions } from './resume/stream-positions.ts';
import { ConnectionLimits } from './ws/connection-limits.ts';
import { Gateway } from './ws/gateway.ts';
import { LocalConnections } from './ws/local-connections.ts';
import { StatsPublisher } from './ws/stats-publisher.ts';

/** Pending push jobs a scrape counts at most (anmei_push_queue_depth): a bounded read however long the queue. */
const PUSH_QUEUE_SCRAPE_CAP = 100_000;

export interface BuildOptions {
  /** Where logs go (default stdout). Tests pass a stream to assert on log lines. */
  logDestination?: DestinationStream;
  /** Postgres schema to use (tests isolate runs with `test_<random>`). */
  databaseSchema?: string;
  /** Push provider to use instead of the one NOTIFICATION_PROVIDER names (tests hand in a double). */
  notificationProvider?: NotificationProvider;
  /** Push providers to use instead of those NOTIFICATION_PROVIDERS names (tests: real providers trusting a test CA). */
  notificationProviders?: NotificationProvider[];
}

export interface BuiltApp {
  app: FastifyInstance;
  ctx: AppContext;
  logger: Logger;
  /** Present when demo data was seeded by this start. */
  seed: SeedResult | null;
  /**
   * Listen on config.host:config.port (0 = any free port); returns the bound port, and where
   * /metrics is served when it has a listener of its own (METRICS_PORT).
   */
  listen(): Promise<{ port: number; url: string; metricsUrl?: string }>;
  /** Sends a `stats` frame to local admin sockets now (tests; production uses the timer). */
  publishStats(): Promise<number>;
  /** Who this instance's sockets watch (`watch_presence`); exposed for tests. */
  presenceWatch: PresenceWatch;
  /** Graceful: stop accepting, close sockets (1001), release every resource. Idempotent. */
  close(): Promise<void>;
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<BuiltApp> {
  const logger = createLogger({
    level: config.logLevel,
    instanceId: config.instanceId,
    redactBodies: config.env === 'production',
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  if (config.auth.usingDevSecret)
    logger.warn('JWT_SECRET is the built-in development secret; set your own before deploying');
  if (config.metrics.serve === 'off')
    logger.warn(
      '/metrics is off: in production set METRICS_TOKEN (a bearer token on PORT) or METRICS_PORT (a port of its own)',
    );
  // The one registry of this app: every module below records into it, /metrics serves it, and the
  // admin figures read it back (observability/metrics.ts).
  const metrics = new AppMetrics({
    redis: config.redisUrl !== undefined,
    pushQueueTimeoutMs: config.databaseTimeouts.healthMs,
  });

  const database = await openDatabase({
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: config.dataDir }),
    ...((options.databaseSchema ?? config.databaseSchema)
      ? { schema: options.databaseSchema ?? config.databaseSchema }
      : {}),
    poolMax: config.databasePoolMax,
    batchWindowMs: config.databaseBatchWindowMs,
    connectTimeoutMs: config.databaseTimeouts.connectMs,
    statementTimeoutMs: config.databaseTimeouts.statementMs,
    logger,
    onAppendBatch: (size, seconds) => metrics.appendBatch(size, seconds),
  });
  const store = database.store;
  const seed = config.seedDemoData ? await seedDemoData(store, hashPassword) : null;

  const events = new TypedEvents<AppEventMap>({
    onListenerError: (error, event) => logger.error({ err: error, event }, 'event listener failed'),
  });
  metrics.listen(events);
  const realtime = await createRealtimeInfrastructure(config, logger, metrics);
  const { bus, presence, tickets } = realtime;
  const providers = options.notificationProviders
    ? options.notificationProviders
    : options.notificationProvider
      ? [options.notificationProvider]
      : await createNotificationProviders(
          config.notificationProviders,
          {
            redactContent: config.env === 'production',
            webhook: config.push.webhook,
            fcm: { credentialsPath: config.firebaseCredentialsPath, baseUrl: config.fcm.baseUrl },
            apns: config.apns,
            vapid: config.vapid,
            vapidSubject: config.vapidSubject,
            dataDir: config.dataDir,
          },
          logger,
        );
  const notifications = new NotificationService({ providers, logger, sendTimeoutMs: config.push.sendTimeoutMs });
  metrics.pushProviders(notifications.providerNames);
  const participants = new ParticipantDirectory(store);
  // The durable push queue: stored decisions → offline recipients → provider, off every sender's path.
  const pushes = new PushWorker(
    {
      store,
      decider: new PushDecider({
        participants,
        presence,
        devices: store.devices,
        userProvider: notifications.userProvider?.name,
        deviceProviders: notifications.deviceProviders,
      }),
      notifications,
      policy: new RetryPolicy({
        baseDelayMs: config.push.retryBaseMs,
        maxDelayMs: config.push.retryMaxDelayMs,
        maxAgeMs: config.push.maxAgeMs,
      }),
      logger,
      metrics,
    },
    {
      pollIntervalMs: config.push.pollIntervalMs,
      concurrency: config.push.concurrency,
      leaseMs: config.push.leaseMs,
      retentionMs: config.push.retentionMs,
    },
  );
  const local = new LocalConnections({
    maxBufferedBytes: config.ws.maxBufferedBytes,
    onSlowConsumer: (c) => {
      metrics.slowConsumerCut();
      logger.warn({ connectionId: c.info.connectionId, userId: c.info.userId }, 'closing slow consumer');
    },
    delivered: metrics.delivered,
  });
  const broadcasting = createBroadcastingService({
    store,
    bus,
    presence,
    participants,
    pushes,
    events,
    instanceId: config.instanceId,
    logger,
  });
  const chat = new ChatService({ store, participants, events, broadcasting });
  // ATTACHMENTS_STORAGE: a folder, or a bucket every instance shares.
  const attachmentStorage = createAttachmentStorage(config.attachments);
  const attachments = new AttachmentService({
    store,
    storage: attachmentStorage,
    chat,
    maxBytes: config.attachments.maxBytes,
  });
  const resume = new ResumeService({ store, participants, window: config.ws.resumeWindow, metrics });
  const tokens = new TokenService({
    secret: config.auth.jwtSecret,
    accessTtlSeconds: config.auth.accessTokenTtlSeconds,
    ticketTtlSeconds: config.ws.ticketTtlSeconds,
    resumeTicketTtlSeconds: config.ws.resumeTicketTtlSeconds,
  });
  const figures = new InstanceFigures(metrics);
  const ctx: AppContext = {
    config,
    realtime: { kind: realtime.kind, busStats: realtime.busStats, healthy: realtime.healthy, ping: realtime.ping },
    databaseKind: database.kind,
    migrationsApplied: () => database.migrationsApplied(),
    store,
    tokens,
    tickets,
    events,
    bus,
    presence,
    local,
    participants,
    notifications,
    pushes,
    metrics,
    figures,
    broadcasting,
    chat,
    attachments,
  };
  metrics.watch({
    census: () => local.census(),
    pool: () => database.pool(),
    pushQueue: () => store.pushJobs.pendingSummary(PUSH_QUEUE_SCRAPE_CAP),
    redisConnections: () => realtime.connections(),
  });

  const clientAddress = new ClientAddress(config.trustProxy);
  // Rate-limit counters sit next to presence when REDIS_URL is set, so limits hold across instances.
  const limitStore = realtime.redis
    ? { client: realtime.redis.client, prefix: realtime.redis.names.rateLimitPrefix }
    : undefined;
  const app = await createHttpServer(config, logger, clientAddress);

  // Before the routes: it attaches each limit to its route as the route is registered.
  const rateLimits = await registerHttpRateLimits(app, { limits: config.limits, redis: limitStore, metrics });

  let draining = false;
  healthRoutes(app, ctx, () => draining);
  if (config.metrics.serve === 'api') metricsRoute(app, metrics, config.metrics.token);
  authRoutes(app, ctx);
  chatRoutes(app, ctx);
  adminRoutes(app, ctx);
  adminConversationRoutes(app, ctx);
  attachmentRoutes(app, ctx);
  accountRoutes(app, ctx);
  deviceRoutes(app, ctx);
  directoryRoutes(app, ctx);
  conversationTitleRoutes(app, ctx);
  participantRemovalRoutes(app, ctx);
  await app.ready();
  rateLimits.assertAttached();

  const presenceWatch = new PresenceWatch({ presence, store, writer: local.writer, logger });
  const gateway = new Gateway(
    {
      instanceId: config.instanceId,
      heartbeatIntervalMs: config.ws.heartbeatIntervalMs,
      maxPayloadBytes: config.ws.maxPayloadBytes,
      maxReconnectAttempts: config.ws.maxReconnectAttempts,
      allowedOrigins: config.ws.allowedOrigins,
      frameRate: config.limits.wsFrameRate,
      frameBurst: config.limits.wsFrameBurst,
    },
    {
      tokens,
      tickets,
      local,
      bus,
      presence,
      events,
      chat,
      broadcasting,
      resume,
      presenceWatch,
      participants,
      logger,
      clientAddress,
      metrics,
      limits: new ConnectionLimits(
        {
          windowSeconds: config.limits.windowSeconds,
          upgradesPerIp: config.limits.wsUpgradesPerIp,
          maxPerIp: config.limits.wsConnectionsPerIp,
          maxPerUser: config.limits.wsConnectionsPerUser,
        },
        { presence, redis: limitStore, logger, metrics },
      ),
    },
  );
  gateway.attach(app.server);
  // Streams whose live frames may have been lost get their heads told to the sockets holding them.
  const positions = new StreamPositions(
    { store, local, logger, instanceId: config.instanceId, metrics },
    { intervalMs: config.ws.positionsIntervalMs },
  );
  bus.onRecovered(() => {
    void positions.announce('bus_recovered').catch((error: unknown) => {
      logger.warn({ err: error }, 'could not send positions after the bus recovered');
    });
    // Online changes published while the link was down were missed too.
    void presenceWatch.restate().catch((error: unknown) => {
      logger.warn({ err: error }, 'could not re-send presence after the bus recovered');
    });
  });
  positions.start();
  pushes.start();
  const stopProbe = realtime.probe
    ? startRedisProbe({ probe: realtime.probe, metrics, intervalMs: config.redis.probeIntervalMs })
    : () => {};
  const stats = new StatsPublisher({
    local,
    presence,
    figures,
    instanceId: config.instanceId,
    intervalMs: config.ws.statsIntervalMs,
    logger,
  });

  let metricsListener: MetricsListener | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      positions.close();
      presenceWatch.close();
      stats.close();
      stopProbe();
      // One deadline for the whole drain (main.ts exits 5 s after SHUTDOWN_TIMEOUT regardless).
      const deadline = Date.now() + config.shutdown.timeoutMs;
      await gateway.close({ spreadMs: config.shutdown.drainSpreadMs, timeoutMs: config.shutdown.timeoutMs });
      await app.close();
      // Attempts in flight may finish (they need presence and the database); the rest keep their
      // lease and are run again by another instance, or by this one after a restart.
      await pushes.close(Math.max(0, deadline - Date.now()));
      await Promise.allSettled([
        realtime.close(),
        notifications.close(),
        metricsListener?.close(),
        attachmentStorage.close(),
      ]);
      await database.close();
      metrics.close();
    })();
    return closing;
  };

  return {
    app,
    ctx,
    logger,
    seed,
    async listen() {
      await app.listen({ host: config.host, port: config.port, backlog: config.listenBacklog });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const host = (h: string) => (h === '0.0.0.0' ? '127.0.0.1' : h);
      const url = `http://${host(config.host)}:${port}`;
      if (config.metrics.serve !== 'separate') return { port, url };
      metricsListener ??= await startMetricsListener({
        host: config.metrics.host,
        port: config.metrics.port,
        metrics,
        token: config.metrics.token,
        logger,
      });
      return { port, url, metricsUrl: `http://${host(config.metrics.host)}:${metricsListener.port}/metrics` };
    },
    publishStats: () => stats.publishNow(),
    presenceWatch,
    close,
  };
}
