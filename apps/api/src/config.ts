/**
 * Environment -> typed configuration, validated once at start. Every key has a working
 * default so `npm start` needs no .env; a wrong value stops start-up with one line naming
 * the key (see `ConfigError`).
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { DEV_JWT_SECRET, EnvSchema } from './config-env.ts';

/** Push providers when neither NOTIFICATION_PROVIDERS nor NOTIFICATION_PROVIDER is set. */
export const DEFAULT_PROVIDERS = ['logging', 'webpush'] as const;

/** ATTACHMENTS_S3_*: where the s3 attachment storage puts objects. */
export interface S3Settings {
  bucket: string;
  region: string;
  /** undefined = Amazon S3's endpoint for `region`. */
  endpoint: string | undefined;
  forcePathStyle: boolean;
  /** '' or ending in `/`. */
  prefix: string;
  /** undefined = the AWS SDK's default credential chain. */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  /** LISTEN_BACKLOG: the accept queue's length (the kernel caps it at net.core.somaxconn). */
  listenBacklog: number;
  instanceId: string;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  databaseUrl: string | undefined;
  dataDir: string;
  redisUrl: string | undefined;
  redisPassword: string | undefined;
  redis: {
    keyPrefix: string;
    cluster: boolean;
    shardedPubSub: boolean;
    /** Per-instance routing: envelopes per batch from which routes are looked up by the publisher. */
    routeLookupFrom: number;
    instanceTtlMs: number;
    probeIntervalMs: number;
  };
  /**
   * Where GET /metrics is served: on PORT (`api`), on a listener of its own at `port`/`host`
   * (`separate`), or nowhere (`off`: production with neither METRICS_PORT nor METRICS_TOKEN).
   * `token`: the bearer credential it then requires.
   */
  metrics: { serve: 'api' | 'separate' | 'off'; port: number; host: string; token: string | undefined };
  databaseSchema: string | undefined;
  /** Postgres pool size per process (connections). */
  databasePoolMax: number;
  /** ms between batched statement starts under load (DATABASE_BATCH_WINDOW_MS). */
  databaseBatchWindowMs: number;
  /** ms: connect / pool wait (Postgres), statement (Postgres; the client waits 1 s more), `/health`'s ping. */
  databaseTimeouts: { connectMs: number; statementMs: number; healthMs: number };
  /** Uploads: `dir` for ATTACHMENTS_STORAGE=disk; `s3` is set instead for ATTACHMENTS_STORAGE=s3. */
  attachments: { dir: string; maxBytes: number; s3: S3Settings | undefined };
  shutdown: { drainSpreadMs: number; timeoutMs: number };
  notificationProvider: z.infer<typeof EnvSchema>['NOTIFICATION_PROVIDER'];
  /** The enabled providers (NOTIFICATION_PROVIDERS, else NOTIFICATION_PROVIDER), `firebase` read as `fcm`. */
  notificationProviders: Array<'logging' | 'webhook' | 'fcm' | 'apns' | 'webpush'>;
  firebaseCredentialsPath: string | undefined;
  fcm: { baseUrl: string };
  apns: { keyPath: string; keyId: string; teamId: string; topic: string; host: string } | undefined;
  /** Configured VAPID keys; undefined → generated into the data folder when webpush is enabled. */
  vapid: { publicKey: string; privateKey: string; subject: string | undefined } | undefined;
  /** VAPID_SUBJECT, also for a generated pair (it overrides the subject stored with it). */
  vapidSubject: string | undefined;
  push: {
    /** Hosts (and their subdomains) Web Push endpoints may be on; '*' = any (WEB_PUSH_ALLOWED_HOSTS). */
    webPushAllowedHosts: '*' | readonly string[];
    webhook: { url: string; token: string | undefined } | undefined;
    pollIntervalMs: number;
    concurrency: number;
    sendTimeoutMs: number;
    leaseMs: number;
    retryBaseMs: number;
    retryMaxDelayMs: number;
    maxAgeMs: number;
    retentionMs: number;
  };
  ws: {
    heartbeatIntervalMs: number;
    connectionTimeoutMs: number;
    maxReconnectAttempts: number;
    maxPayloadBytes: number;
    maxBufferedBytes: number;
    allowedOrigins: '*' | ReadonlySet<string>;
    ticketTtlSeconds: number;
    /** 0: no resume tickets. */
    resumeTicketTtlSeconds: number;
    resumeWindow: number;
    positionsIntervalMs: number;
    statsIntervalMs: number;
  };
  auth: { jwtSecret: string; accessTokenTtlSeconds: number; usingDevSecret: boolean };
  seedDemoData: boolean;
  /** TRUST_PROXY as CIDR ranges (`10.0.0.0/8`, `::1/128`); empty = X-Forwarded-For is never believed. */
  trustProxy: readonly string[];
  /** Counts per `windowSeconds` (RATE_LIMIT_WINDOW) unless named otherwise. */
  limits: {
    windowSeconds: number;
    loginPerIp: number;
    loginPerUsername: number;
    registerPerIp: number;
    registerPerUsername: number;
    ticketsPerUser: number;
    uploadsPerUser: number;
    wsUpgradesPerIp: number;
    /** Open sockets, not per window. */
    wsConnectionsPerUser: number;
    wsConnectionsPerIp: number;
    /** Frames per second, and the burst, per connection. */
    wsFrameRate: number;
    wsFrameBurst: number;
  };
}

/** Parse `env` (default: process.env). Throws ConfigError with one line per bad key. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset" (a blank line in .env should not fail validation).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? '?');
      return `invalid configuration: ${key}=${JSON.stringify(redactIfSecret(key, cleaned[key]))}: ${i.message}`;
    });
    throw new ConfigError(lines.join('\n'));
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const usingDevSecret = e.JWT_SECRET === DEV_JWT_SECRET;
  if (production && usingDevSecret) {
    throw new ConfigError('invalid configuration: JWT_SECRET must be set to a secret of your own in production');
  }
  if (production && e.SEED_DEMO_DATA === true) {
    throw new ConfigError('invalid configuration: SEED_DEMO_DATA=true is not allowed when NODE_ENV=production');
  }
  // Neither set: the seed's logging provider, plus Web Push with a key pair kept in DATA_DIR, so the
  // embedded default can also notify a browser that turned notifications on.
  const named =
    e.NOTIFICATION_PROVIDERS?.split(',') ??
    (cleaned.NOTIFICATION_PROVIDER ? [e.NOTIFICATION_PROVIDER] : DEFAULT_PROVIDERS);
  const providers = [...new Set(named.map((p) => (p === 'firebase' ? 'fcm' : p)))] as Config['notificationProviders'];
  if (providers.includes('logging') && providers.includes('webhook')) {
    throw new ConfigError(
      'invalid configuration: NOTIFICATION_PROVIDERS may name logging or webhook, not both (each pushes once per user)',
    );
  }
  if (providers.includes('fcm') && !e.FIREBASE_CREDENTIALS_PATH) {
    throw new ConfigError(
      'invalid configuration: the fcm provider needs FIREBASE_CREDENTIALS_PATH (the service-account key JSON from the Firebase console)',
    );
  }
  const apnsMissing = (['APNS_KEY_PATH', 'APNS_KEY_ID', 'APNS_TEAM_ID', 'APNS_TOPIC'] as const).filter((k) => !e[k]);
  if (providers.includes('apns') && apnsMissing.length > 0) {
    throw new ConfigError(`invalid configuration: the apns provider needs ${apnsMissing.join(', ')}`);
  }
  if (Boolean(e.VAPID_PUBLIC_KEY) !== Boolean(e.VAPID_PRIVATE_KEY)) {
    throw new ConfigError(
      'invalid configuration: set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither (a pair is then generated into DATA_DIR)',
    );
  }
  if (providers.includes('webhook') && !e.PUSH_WEBHOOK_URL) {
    throw new ConfigError(
      'invalid configuration: NOTIFICATION_PROVIDER=webhook needs PUSH_WEBHOOK_URL (the http(s) URL pushes are POSTed to)',
    );
  }
  if (e.METRICS_PORT > 0 && e.METRICS_PORT === e.PORT) {
    throw new ConfigError(
      `invalid configuration: METRICS_PORT=${e.METRICS_PORT} is PORT too; give the metrics listener a port of its own, or 0 to serve /metrics on PORT`,
    );
  }
  // A live attempt must end (PUSH_SEND_TIMEOUT) well before its lease does, or a slow provider
  // call could be claimed and sent again by another instance while it is still running.
  if (e.PUSH_LEASE < 2 * e.PUSH_SEND_TIMEOUT) {
    throw new ConfigError(
      `invalid configuration: PUSH_LEASE=${e.PUSH_LEASE} must be at least twice PUSH_SEND_TIMEOUT=${e.PUSH_SEND_TIMEOUT} (ms)`,
    );
  }
  const s3 = attachmentsS3(e, cleaned);
  const origins = e.ALLOWED_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    listenBacklog: e.LISTEN_BACKLOG,
    instanceId: e.INSTANCE_ID ?? `api-${randomUUID().slice(0, 8)}`,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL,
    redisPassword: e.REDIS_PASSWORD,
    redis: {
      keyPrefix: e.REDIS_KEY_PREFIX,
      cluster: e.REDIS_CLUSTER,
      // Cluster mode always uses sharded pub/sub: classic PUBLISH is broadcast to every node.
      shardedPubSub: e.REDIS_SHARDED_PUBSUB || e.REDIS_CLUSTER,
      routeLookupFrom: e.REDIS_ROUTE_LOOKUP_FROM,
      instanceTtlMs: e.INSTANCE_TTL,
      probeIntervalMs: e.REDIS_PROBE_INTERVAL,
    },
    metrics: {
      // Production never serves /metrics unprotected next to the public API: a token, or a port
      // of its own that a firewall keeps to Prometheus. Neither set: off (a WARN says how to enable it).
      serve: e.METRICS_PORT > 0 ? 'separate' : production && !e.METRICS_TOKEN ? 'off' : 'api',
      port: e.METRICS_PORT,
      host: e.METRICS_HOST ?? e.HOST,
      token: e.METRICS_TOKEN,
    },
    databaseSchema: e.DATABASE_SCHEMA,
    databasePoolMax: e.DATABASE_POOL_MAX,
    databaseBatchWindowMs: e.DATABASE_BATCH_WINDOW_MS,
    databaseTimeouts: {
      connectMs: e.DATABASE_CONNECT_TIMEOUT,
      statementMs: e.DATABASE_STATEMENT_TIMEOUT,
      healthMs: e.DATABASE_HEALTH_TIMEOUT,
    },
    attachments: {
      dir:
        e.ATTACHMENTS_DIR ??
        (e.DATA_DIR === 'memory://' ? join(tmpdir(), 'anmei-attachments') : join(e.DATA_DIR, 'attachments')),
      maxBytes: e.ATTACHMENT_MAX_BYTES,
      s3,
    },
    shutdown: { drainSpreadMs: e.WS_DRAIN_SPREAD, timeoutMs: e.SHUTDOWN_TIMEOUT },
    notificationProvider: e.NOTIFICATION_PROVIDER,
    notificationProviders: providers,
    firebaseCredentialsPath: e.FIREBASE_CREDENTIALS_PATH,
    fcm: { baseUrl: e.FCM_BASE_URL },
    apns:
      e.APNS_KEY_PATH && e.APNS_KEY_ID && e.APNS_TEAM_ID && e.APNS_TOPIC
        ? {
            keyPath: e.APNS_KEY_PATH,
            keyId: e.APNS_KEY_ID,
            teamId: e.APNS_TEAM_ID,
            topic: e.APNS_TOPIC,
            host: e.APNS_HOST,
          }
        : undefined,
    vapid:
      e.VAPID_PUBLIC_KEY && e.VAPID_PRIVATE_KEY
        ? { publicKey: e.VAPID_PUBLIC_KEY, privateKey: e.VAPID_PRIVATE_KEY, subject: e.VAPID_SUBJECT }
        : undefined,
    vapidSubject: e.VAPID_SUBJECT,
    push: {
      webPushAllowedHosts: e.WEB_PUSH_ALLOWED_HOSTS === '*' ? '*' : e.WEB_PUSH_ALLOWED_HOSTS.split(','),
      webhook: e.PUSH_WEBHOOK_URL ? { url: e.PUSH_WEBHOOK_URL, token: e.PUSH_WEBHOOK_TOKEN } : undefined,
      pollIntervalMs: e.PUSH_POLL_INTERVAL,
      concurrency: e.PUSH_CONCURRENCY,
      sendTimeoutMs: e.PUSH_SEND_TIMEOUT,
      leaseMs: e.PUSH_LEASE,
      retryBaseMs: e.PUSH_RETRY_BASE,
      retryMaxDelayMs: e.PUSH_RETRY_MAX_DELAY,
      maxAgeMs: e.PUSH_MAX_AGE,
      retentionMs: e.PUSH_RETENTION,
    },
    ws: {
      heartbeatIntervalMs: e.WS_HEARTBEAT_INTERVAL,
      connectionTimeoutMs: e.WS_CONNECTION_TIMEOUT,
      maxReconnectAttempts: e.WS_MAX_RECONNECT_ATTEMPTS,
      maxPayloadBytes: e.WS_MAX_PAYLOAD,
      maxBufferedBytes: e.WS_MAX_BUFFERED_BYTES,
      allowedOrigins: origins.includes('*') ? '*' : new Set(origins),
      ticketTtlSeconds: e.WS_TICKET_TTL,
      resumeTicketTtlSeconds: e.WS_RESUME_TICKET_TTL,
      resumeWindow: e.RESUME_WINDOW,
      positionsIntervalMs: e.WS_POSITIONS_INTERVAL,
      statsIntervalMs: e.STATS_INTERVAL,
    },
    auth: { jwtSecret: e.JWT_SECRET, accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL, usingDevSecret },
    seedDemoData: e.SEED_DEMO_DATA ?? !production,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    limits: {
      windowSeconds: e.RATE_LIMIT_WINDOW,
      loginPerIp: e.RATE_LIMIT_LOGIN_PER_IP,
      loginPerUsername: e.RATE_LIMIT_LOGIN_PER_USERNAME,
      registerPerIp: e.RATE_LIMIT_REGISTER_PER_IP,
      registerPerUsername: e.RATE_LIMIT_REGISTER_PER_USERNAME,
      ticketsPerUser: e.RATE_LIMIT_TICKETS_PER_USER,
      uploadsPerUser: e.RATE_LIMIT_UPLOADS_PER_USER,
      wsUpgradesPerIp: e.WS_UPGRADES_PER_IP,
      wsConnectionsPerUser: e.WS_MAX_CONNECTIONS_PER_USER,
      wsConnectionsPerIp: e.WS_MAX_CONNECTIONS_PER_IP,
      wsFrameRate: e.WS_FRAME_RATE,
      wsFrameBurst: e.WS_FRAME_BURST,
    },
  };
}

/** ATTACHMENTS_STORAGE=s3 -> its settings (each missing one named); disk -> undefined, and no S3 key may be set. */
function attachmentsS3(e: z.infer<typeof EnvSchema>, env: Record<string, string | undefined>): S3Settings | undefined {
  if (e.ATTACHMENTS_STORAGE === 'disk') {
    // Forgetting ATTACHMENTS_STORAGE=s3 would keep files on each instance's own disk, where the
    // other instances cannot serve them.
    const stray = Object.keys(env).filter((k) => k.startsWith('ATTACHMENTS_S3_'));
    if (stray.length > 0) {
      throw new ConfigError(
        `invalid configuration: ${stray.join(', ')} ${stray.length === 1 ? 'is' : 'are'} set but ATTACHMENTS_STORAGE is disk; set ATTACHMENTS_STORAGE=s3 to store attachments in the bucket, or remove ${stray.length === 1 ? 'it' : 'them'}`,
      );
    }
    return undefined;
  }
  if (!e.ATTACHMENTS_S3_BUCKET) {
    throw new ConfigError(
      "invalid configuration: ATTACHMENTS_STORAGE=s3 needs ATTACHMENTS_S3_BUCKET (the bucket's name)",
    );
  }
  const region = e.ATTACHMENTS_S3_REGION ?? env.AWS_REGION;
  if (!region) {
    throw new ConfigError(
      "invalid configuration: ATTACHMENTS_STORAGE=s3 needs ATTACHMENTS_S3_REGION (or AWS_REGION), the bucket's region: e.g. us-east-1 (AWS, MinIO), cn-hangzhou (Aliyun OSS), ap-guangzhou (Tencent COS)",
    );
  }
  if (Boolean(e.ATTACHMENTS_S3_ACCESS_KEY_ID) !== Boolean(e.ATTACHMENTS_S3_SECRET_ACCESS_KEY)) {
    throw new ConfigError(
      'invalid configuration: set both ATTACHMENTS_S3_ACCESS_KEY_ID and ATTACHMENTS_S3_SECRET_ACCESS_KEY, or neither (the AWS credential chain is used then: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or task role)',
    );
  }
  return {
    bucket: e.ATTACHMENTS_S3_BUCKET,
    region,
    endpoint: e.ATTACHMENTS_S3_ENDPOINT,
    forcePathStyle: e.ATTACHMENTS_S3_FORCE_PATH_STYLE,
    prefix: e.ATTACHMENTS_S3_PREFIX,
    credentials:
      e.ATTACHMENTS_S3_ACCESS_KEY_ID && e.ATTACHMENTS_S3_SECRET_ACCESS_KEY
        ? { accessKeyId: e.ATTACHMENTS_S3_ACCESS_KEY_ID, secretAccessKey: e.ATTACHMENTS_S3_SECRET_ACCESS_KEY }
        : undefined,
  };
}

/** The ranges proxy-addr (Express, Fastify) calls by these names. */
const NAMED_RANGES: Record<string, readonly string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** TRUST_PROXY -> CIDR ranges; a bare address becomes a /32 or /128. */
function parseTrustProxy(value: string): string[] {
  if (value === 'false') return [];
  const ranges: string[] = [];
  for (const entry of value.split(',').map((v) => v.trim())) {
    const named = NAMED_RANGES[entry];
    if (named) {
      ranges.push(...named);
      continue;
    }
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
    if (family === 0 || extra !== undefined || prefix < 0 || prefix > max) {
      throw new ConfigError(
        `invalid configuration: TRUST_PROXY entry "${entry}" is not an address, a CIDR range (10.0.0.0/8) or one of loopback, linklocal, uniquelocal; use false to trust no proxy`,
      );
    }
    ranges.push(`${address}/${prefix}`);
  }
  return ranges;
}

function redactIfSecret(key: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (/SECRET|PASSWORD|TOKEN$|PRIVATE_KEY/.test(key)) return '[redacted]';
  if (/_URL$|_ENDPOINT$/.test(key)) return redactUrlCredentials(value);
  return value;
}

/**
 * A URL that failed validation cannot be parsed, so credentials are cut by position: everything
 * before the LAST `@` (a password may hold `/`, `@` or `:` unencoded; the scheme may be missing),
 * and any `password=` query parameter (libpq accepts one).
 */
function redactUrlCredentials(value: string): string {
  const at = value.lastIndexOf('@');
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(value)?.[0] ?? '';
  const shown = at === -1 ? value : `${scheme}[redacted]${value.slice(at)}`;
  return shown.replace(/([?&]password=)[^&#]*/gi, '$1[redacted]');
}
