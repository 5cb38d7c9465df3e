/**
 * The environment variables the API reads: each key's type, range and default (zod), in one
 * schema. config.ts turns the parsed values into the typed Config; README.md, .env.example and
 * docs/operations.md describe every key.
 */
import { z } from 'zod';

/** The built-in JWT secret: accepted outside production only (with a WARN). */
export const DEV_JWT_SECRET = 'dev-only-insecure-secret-change-me-0123456789';

export const int = (min: number, max: number) =>
  z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(8000),
  /**
   * Connections the kernel queues for accept() (capped by net.core.somaxconn). Node's 511 overflows
   * when thousands reconnect at once, and every dropped SYN costs its client a 1 s, then 3 s retry.
   */
  LISTEN_BACKLOG: int(1, 65_535).default(4096),
  /** Identifies this process in presence records and logs; random per start by default. */
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (max 64)')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Unset -> embedded PGlite under DATA_DIR. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** Folder for the embedded database; relative to the working directory. */
  DATA_DIR: z.string().min(1).default('./data'),
  /** ATTACHMENTS_STORAGE=disk: folder for uploaded files (default <DATA_DIR>/attachments; a temp folder when DATA_DIR=memory://). Shared by all instances. */
  ATTACHMENTS_DIR: z.string().min(1).optional(),
  /** Where uploaded files go: `disk` (ATTACHMENTS_DIR) or `s3` (a bucket of S3 or an S3-compatible store). */
  ATTACHMENTS_STORAGE: z.enum(['disk', 's3']).default('disk'),
  /** s3: the bucket (it must exist); S3's naming rules (COS: `<name>-<APPID>`). */
  ATTACHMENTS_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "3-63 lower-case letters, digits, . and -, as S3's bucket names")
    .optional(),
  /** s3: the bucket's region (signs every request); unset -> AWS_REGION. */
  ATTACHMENTS_S3_REGION: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/, 'a region name such as us-east-1, cn-hangzhou or ap-guangzhou')
    .optional(),
  /** s3: the store's URL for S3-compatible stores (MinIO, OSS, COS); unset -> Amazon S3's endpoint for the region. */
  ATTACHMENTS_S3_ENDPOINT: z
    .url({ protocol: /^https?$/ })
    .refine(
      (url) => !/^[a-z]+:\/\/[^/]*@/i.test(url),
      'credentials do not go in the URL; use ATTACHMENTS_S3_ACCESS_KEY_ID and ATTACHMENTS_S3_SECRET_ACCESS_KEY',
    )
    .optional(),
  /** s3: address the bucket as `<endpoint>/<bucket>` instead of `<bucket>.<endpoint>` (MinIO needs true; OSS refuses it). */
  ATTACHMENTS_S3_FORCE_PATH_STYLE: bool.default(false),
  /** s3: put before every object key, e.g. `anmei/attachments/`, so the bucket can hold other things. */
  ATTACHMENTS_S3_PREFIX: z
    .string()
    .regex(
      /^([A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}\/){0,10}$/,
      'empty, or folder names ending in / (letters, digits, _ . -; not starting with .)',
    )
    .default(''),
  /** s3: an access key pair; both unset -> the AWS credential chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or task role). Never logged. */
  ATTACHMENTS_S3_ACCESS_KEY_ID: z.string().min(1).max(256).optional(),
  ATTACHMENTS_S3_SECRET_ACCESS_KEY: z.string().min(1).max(1024).optional(),
  /** Largest upload in bytes (images, documents, voice notes). */
  ATTACHMENT_MAX_BYTES: int(1024, 100 * 1024 * 1024).default(10 * 1024 * 1024),
  /** Unset -> in-memory bus and presence (one instance). */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  REDIS_PASSWORD: z.string().optional(),
  /** Prefix for every Redis key and channel (e.g. `staging:`); empty keeps the seed's names (`ws:online_users`). */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_:.-]{0,64}$/, 'letters, digits, _ : . - only (max 64)')
    .default(''),
  /** REDIS_URL points at one node of a Redis Cluster (implies sharded pub/sub). */
  REDIS_CLUSTER: bool.default(false),
  /** Use Redis 7 sharded pub/sub (SSUBSCRIBE/SPUBLISH) for per-user channels. */
  REDIS_SHARDED_PUBSUB: bool.default(false),
  /**
   * Per-instance routing: envelopes in one publish batch from which the instance looks the
   * routes up itself instead of running the routing script in Redis (batches hold ≤ 256).
   */
  REDIS_ROUTE_LOOKUP_FROM: int(1, 1_000_000).default(16),
  /** ms an instance stays "alive" in Redis without refreshing; survivors reap its connections after it. */
  INSTANCE_TTL: int(1_000, 600_000).default(6_000),
  /** Postgres schema for the tables (default: the connection's search_path, usually public). */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _ (max 63), not starting with a digit')
    .optional(),
  /** Postgres only: most database connections per process (the pool size). */
  DATABASE_POOL_MAX: int(1, 1000).default(10),
  /** Postgres only: ms a new connection may take to be ready, and a query may wait for a free pooled one. */
  DATABASE_CONNECT_TIMEOUT: int(100, 600_000).default(5_000),
  /**
   * Postgres only: ms a statement may run (the server's statement_timeout, also its
   * idle_in_transaction_session_timeout); the client waits 1 000 ms longer for an answer, then
   * discards the connection (docs/operations.md "Database stalls").
   */
  DATABASE_STATEMENT_TIMEOUT: int(100, 3_600_000).default(5_000),
  /**
   * ms between the starts of two batched statements of one kind (message appends; each lane of
   * read receipts) while requests keep coming; after a longer pause a statement starts at once.
   * 0: start whenever the running statement allows. db/append-batcher.ts, docs/operations.md "Configuration".
   */
  DATABASE_BATCH_WINDOW_MS: int(0, 1_000).default(5),
  /** ms /health waits for the database's `select 1` before reporting it unavailable. */
  DATABASE_HEALTH_TIMEOUT: int(100, 60_000).default(2_000),
  /**
   * Port of a listener serving only GET /metrics; 0 = no such listener, /metrics is on PORT (outside
   * production, or with METRICS_TOKEN). docs/operations.md "Metrics".
   */
  METRICS_PORT: int(0, 65535).default(0),
  /** Address the METRICS_PORT listener binds (default: HOST). */
  METRICS_HOST: z.string().min(1).optional(),
  /** When set, /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` (at least 16 characters); never logged. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').max(4096).optional(),
  /** ms between the Redis pub/sub latency probes (anmei_redis_pubsub_latency_seconds); 0 = no probe. */
  REDIS_PROBE_INTERVAL: int(0, 600_000).default(5_000),
  /** ms between `stats` frames to admin connections. */
  STATS_INTERVAL: int(100, 600_000).default(2_000),
  /** Most events per stream a resume replays; a larger gap answers `reload` (client reloads over HTTP). */
  RESUME_WINDOW: int(1, 100_000).default(1_000),
  /**
   * ms between two `positions` frames to a connected user (the check of quiet streams, docs/
   * delivery.md "Trailing gaps"); 0 = no periodic check (the check after a Redis outage still runs).
   */
  WS_POSITIONS_INTERVAL: int(0, 86_400_000).default(60_000),
  /** On shutdown, clients are told to reconnect after a random delay in [0, WS_DRAIN_SPREAD] ms. */
  WS_DRAIN_SPREAD: int(0, 600_000).default(5_000),
  /** ms graceful shutdown may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT: int(1_000, 600_000).default(15_000),
  /** The seed's single provider; `firebase` is FCM. Ignored when NOTIFICATION_PROVIDERS is set. */
  NOTIFICATION_PROVIDER: z.enum(['logging', 'webhook', 'firebase', 'fcm', 'apns', 'webpush']).default('logging'),
  /** Several providers at once, e.g. `logging,fcm,apns,webpush`: at most one of logging / webhook. */
  NOTIFICATION_PROVIDERS: z
    .string()
    .regex(
      /^(logging|webhook|firebase|fcm|apns|webpush)(,(logging|webhook|firebase|fcm|apns|webpush))*$/,
      'a comma-separated list of logging, webhook, fcm (or firebase), apns, webpush',
    )
    .optional(),
  /** fcm: the Firebase service-account key JSON (Project settings → Service accounts → Generate new private key). */
  FIREBASE_CREDENTIALS_PATH: z.string().optional(),
  /** fcm: the FCM origin (tests point it at a double). */
  FCM_BASE_URL: z.url({ protocol: /^https$/ }).default('https://fcm.googleapis.com'),
  /** apns: the `.p8` token-signing key, its 10-character key id, the team id and the app's bundle id. */
  APNS_KEY_PATH: z.string().optional(),
  APNS_KEY_ID: z
    .string()
    .regex(/^[A-Z0-9]{10}$/, '10 capital letters or digits')
    .optional(),
  APNS_TEAM_ID: z
    .string()
    .regex(/^[A-Z0-9]{10}$/, '10 capital letters or digits')
    .optional(),
  APNS_TOPIC: z.string().min(1).max(255).optional(),
  /** apns: https://api.push.apple.com (production builds) or https://api.sandbox.push.apple.com (development builds). */
  APNS_HOST: z.url({ protocol: /^https$/ }).default('https://api.push.apple.com'),
  /** webpush: the VAPID key pair (base64url) and contact; unset → a pair generated once into DATA_DIR/vapid.json. */
  VAPID_PUBLIC_KEY: z.string().min(1).optional(),
  VAPID_PRIVATE_KEY: z.string().min(1).optional(),
  VAPID_SUBJECT: z
    .string()
    .regex(/^(mailto:|https:\/\/)/, 'a mailto: or https: URL')
    .optional(),
  /**
   * Hosts a browser's Web Push endpoint may be on (a host or its subdomains; `*` = any). The
   * server POSTs to every registered endpoint, so an unchecked one lets any user make it call an
   * address of their choosing. Default: the push services of Chrome/Edge (FCM), Firefox, Edge
   * (WNS) and Safari.
   */
  WEB_PUSH_ALLOWED_HOSTS: z
    .string()
    .regex(/^(\*|[a-z0-9.-]+(,[a-z0-9.-]+)*)$/, 'comma-separated host names, or *')
    .default('fcm.googleapis.com,android.googleapis.com,push.services.mozilla.com,notify.windows.com,push.apple.com'),
  /** NOTIFICATION_PROVIDER=webhook: where each push is POSTed as JSON (a clinic's own push gateway). */
  PUSH_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Sent as `Authorization: Bearer <token>` to PUSH_WEBHOOK_URL when set; never logged. */
  PUSH_WEBHOOK_TOKEN: z.string().min(1).max(4096).optional(),
  /** ms between looks at the push queue when nothing nudged the worker (jobs left by a crash, retries). */
  PUSH_POLL_INTERVAL: int(10, 600_000).default(1_000),
  /** Push jobs one instance runs at once. */
  PUSH_CONCURRENCY: int(1, 1_000).default(16),
  /** ms one provider call may take; longer counts as a retryable failure. */
  PUSH_SEND_TIMEOUT: int(100, 600_000).default(10_000),
  /** ms a claimed push job stays invisible to other instances; a crashed instance's job runs again after it. */
  PUSH_LEASE: int(200, 3_600_000).default(60_000),
  /** ms ceiling of the first retry's delay (doubling per attempt, full jitter). */
  PUSH_RETRY_BASE: int(1, 3_600_000).default(1_000),
  /** ms: the largest retry delay ceiling. */
  PUSH_RETRY_MAX_DELAY: int(1, 86_400_000).default(300_000),
  /** ms after its event was stored that a push is dropped as expired instead of sent. */
  PUSH_MAX_AGE: int(1_000, 30 * 86_400_000).default(3_600_000),
  /** ms finished push jobs are kept for the admin figures before they are deleted. */
  PUSH_RETENTION: int(0, 365 * 86_400_000).default(7 * 86_400_000),
  /** ms between server pings; a peer that has not answered by the next ping is terminated. */
  WS_HEARTBEAT_INTERVAL: int(100, 600_000).default(45_000),
  /** ms a TCP connection may take to complete its HTTP/WebSocket handshake. */
  WS_CONNECTION_TIMEOUT: int(100, 600_000).default(20_000),
  /** Sent to clients (they own reconnecting); the server does not use it itself. */
  WS_MAX_RECONNECT_ATTEMPTS: int(0, 1000).default(15),
  /** Largest inbound frame in bytes; bigger frames close the socket with 1009. */
  WS_MAX_PAYLOAD: int(1024, 16 * 1024 * 1024).default(65_536),
  /** Bytes a socket may have queued before it counts as a slow consumer and is closed. */
  WS_MAX_BUFFERED_BYTES: int(16 * 1024, 1024 * 1024 * 1024).default(8 * 1024 * 1024),
  /** Comma-separated Origins allowed to open a WebSocket; `*` allows any. Requests with no Origin (non-browsers) are allowed. */
  ALLOWED_ORIGINS: z.string().default('http://localhost:3000,http://127.0.0.1:3000,http://localhost:8000'),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').default(DEV_JWT_SECRET),
  /** Access token lifetime in seconds. */
  ACCESS_TOKEN_TTL: int(60, 30 * 24 * 3600).default(3600),
  /** WebSocket ticket lifetime in seconds. */
  WS_TICKET_TTL: int(5, 300).default(30),
  /**
   * Resume ticket lifetime in seconds (0 = none): the single-use ticket an open connection gets on
   * `connected` and renewed in `pong` at half its life, so a reconnect needs no HTTP ticket.
   */
  WS_RESUME_TICKET_TTL: int(0, 3600).default(300),
  /** Seed demo users and conversations at start (never allowed in production). */
  SEED_DEMO_DATA: bool.optional(),
  // ---- Limits (issue #15; docs/operations.md "Limits"). Counters of the per-window limits live
  // in Redis when REDIS_URL is set (they hold across instances), in this process's memory
  // otherwise. Each refusal is 429 with Retry-After (HTTP) or an error frame with retry_after_ms.
  /**
   * Proxies whose X-Forwarded-For is believed when finding a client's address (every per-address
   * limit, and `request.ip`): `false`, or a comma-separated list of addresses, CIDR ranges and the
   * names `loopback`, `linklocal`, `uniquelocal` (private ranges, where a proxy such as nginx sits).
   */
  TRUST_PROXY: z
    .string()
    .regex(/^[0-9A-Za-z.:/,]{1,2000}$/, 'false, or addresses, CIDR ranges, loopback, linklocal, uniquelocal')
    .default('loopback,linklocal,uniquelocal'),
  /** Seconds: the (fixed) window of every per-window limit below. */
  RATE_LIMIT_WINDOW: int(1, 3_600).default(60),
  /** POST /auth/login attempts per client address per window (each costs an Argon2 hash). */
  RATE_LIMIT_LOGIN_PER_IP: int(1, 1_000_000).default(20),
  /** POST /auth/login attempts per username per window, from any address. */
  RATE_LIMIT_LOGIN_PER_USERNAME: int(1, 1_000_000).default(5),
  /** POST /auth/register attempts per client address per window. */
  RATE_LIMIT_REGISTER_PER_IP: int(1, 1_000_000).default(5),
  /** POST /auth/register attempts per username per window. */
  RATE_LIMIT_REGISTER_PER_USERNAME: int(1, 1_000_000).default(5),
  /** POST /ws/ticket per user per window (a client takes one per connection attempt). */
  RATE_LIMIT_TICKETS_PER_USER: int(1, 1_000_000).default(60),
  /** Attachment uploads per user per window. */
  RATE_LIMIT_UPLOADS_PER_USER: int(1, 1_000_000).default(30),
  /** WebSocket upgrade requests per client address per window, counted before the ticket is read. */
  WS_UPGRADES_PER_IP: int(1, 1_000_000).default(300),
  /** Open WebSockets per user, across all instances (counted in presence). */
  WS_MAX_CONNECTIONS_PER_USER: int(1, 1_000_000).default(20),
  /** Open WebSockets (and upgrades under way) per client address, on each instance. */
  WS_MAX_CONNECTIONS_PER_IP: int(1, 1_000_000).default(500),
  /** Frames per second a connection may send, sustained (token bucket refill rate). */
  WS_FRAME_RATE: int(1, 1_000_000).default(20),
  /** Frames a connection may send at once after being quiet (token bucket size). */
  WS_FRAME_BURST: int(1, 1_000_000).default(40),
});
