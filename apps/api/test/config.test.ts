/**
 * loadConfig(env): every key has a working default, every key is parsed, and a wrong value
 * stops start-up with one line per bad key that names the key and never echoes a secret.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { configError } from './support/config-error.ts';

const PROD_SECRET = 'a-production-secret-of-at-least-32-chars';

describe('defaults', () => {
  it('starts with an empty environment: port 8000, 45 s heartbeat, 20 s handshake, 15 reconnects, logging push', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      host: '0.0.0.0',
      port: 8000,
      listenBacklog: 4096,
      logLevel: 'info',
      databaseUrl: undefined,
      dataDir: './data',
      redisUrl: undefined,
      redisPassword: undefined,
      redis: { keyPrefix: '', cluster: false, shardedPubSub: false, routeLookupFrom: 16, instanceTtlMs: 6_000 },
      databaseSchema: undefined,
      databasePoolMax: 10,
      databaseBatchWindowMs: 5,
      databaseTimeouts: { connectMs: 5_000, statementMs: 5_000, healthMs: 2_000 },
      attachments: { dir: 'data/attachments', maxBytes: 10 * 1024 * 1024 },
      shutdown: { drainSpreadMs: 5_000, timeoutMs: 15_000 },
      notificationProvider: 'logging',
      notificationProviders: ['logging', 'webpush'],
      firebaseCredentialsPath: undefined,
      fcm: { baseUrl: 'https://fcm.googleapis.com' },
      apns: undefined,
      vapid: undefined,
      vapidSubject: undefined,
      push: {
        webPushAllowedHosts: [
          'fcm.googleapis.com',
          'android.googleapis.com',
          'push.services.mozilla.com',
          'notify.windows.com',
          'push.apple.com',
        ],
        webhook: undefined,
        pollIntervalMs: 1_000,
        concurrency: 16,
        sendTimeoutMs: 10_000,
        leaseMs: 60_000,
        retryBaseMs: 1_000,
        retryMaxDelayMs: 300_000,
        maxAgeMs: 3_600_000,
        retentionMs: 7 * 86_400_000,
      },
      ws: {
        heartbeatIntervalMs: 45_000,
        connectionTimeoutMs: 20_000,
        maxReconnectAttempts: 15,
        maxPayloadBytes: 65_536,
        maxBufferedBytes: 8 * 1024 * 1024,
        ticketTtlSeconds: 30,
        resumeTicketTtlSeconds: 300,
        resumeWindow: 1_000,
        positionsIntervalMs: 60_000,
        statsIntervalMs: 2_000,
      },
      auth: { accessTokenTtlSeconds: 3600, usingDevSecret: true },
      seedDemoData: true,
    });
    expect(config.auth.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(config.ws.allowedOrigins).toEqual(
      new Set(['http://localhost:3000', 'http://127.0.0.1:3000', 'http://localhost:8000']),
    );
  });

  it('gives every start its own instance id unless INSTANCE_ID is set', () => {
    const a = loadConfig({}).instanceId;
    const b = loadConfig({}).instanceId;
    expect(a).toMatch(/^api-[0-9a-f]{8}$/);
    expect(b).not.toBe(a);
  });

  it('seeds demo data in development and test, never by default in production', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).seedDemoData).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).seedDemoData).toBe(true);
    const production = loadConfig({ NODE_ENV: 'production', JWT_SECRET: PROD_SECRET });
    expect(production.seedDemoData).toBe(false);
    expect(production.auth.usingDevSecret).toBe(false);
  });

  it('treats empty strings as unset (a blank line in .env does not fail)', () => {
    const config = loadConfig({ PORT: '', WS_HEARTBEAT_INTERVAL: '', DATABASE_URL: '', JWT_SECRET: '' });
    expect(config.port).toBe(8000);
    expect(config.ws.heartbeatIntervalMs).toBe(45_000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.auth.usingDevSecret).toBe(true);
  });
});

describe('every key is parsed', () => {
  it('reads each key into its typed field', () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      INSTANCE_ID: 'api-eu.1_b',
      LOG_LEVEL: 'debug',
      DATABASE_URL: 'postgresql://app:s3cret@db.internal:5433/anmei',
      DATA_DIR: '/var/lib/anmei',
      REDIS_URL: 'rediss://cache.internal:6380',
      REDIS_PASSWORD: 'redis-pass',
      REDIS_KEY_PREFIX: 'staging:',
      REDIS_CLUSTER: 'false',
      REDIS_SHARDED_PUBSUB: '1',
      REDIS_ROUTE_LOOKUP_FROM: '64',
      INSTANCE_TTL: '2000',
      DATABASE_SCHEMA: 'tenant_a',
      DATABASE_POOL_MAX: '20',
      DATABASE_BATCH_WINDOW_MS: '0',
      DATABASE_CONNECT_TIMEOUT: '1500',
      DATABASE_STATEMENT_TIMEOUT: '30000',
      DATABASE_HEALTH_TIMEOUT: '500',
      WS_DRAIN_SPREAD: '0',
      SHUTDOWN_TIMEOUT: '1000',
      NOTIFICATION_PROVIDER: 'firebase',
      FIREBASE_CREDENTIALS_PATH: '/etc/firebase.json',
      WEB_PUSH_ALLOWED_HOSTS: '*',
      PUSH_WEBHOOK_URL: 'https://push.clinic.example/v1/send',
      PUSH_WEBHOOK_TOKEN: 'gateway-token',
      PUSH_POLL_INTERVAL: '250',
      PUSH_CONCURRENCY: '4',
      PUSH_SEND_TIMEOUT: '2000',
      PUSH_LEASE: '5000',
      PUSH_RETRY_BASE: '100',
      PUSH_RETRY_MAX_DELAY: '60000',
      PUSH_MAX_AGE: '600000',
      PUSH_RETENTION: '86400000',
      WS_HEARTBEAT_INTERVAL: '1000',
      WS_CONNECTION_TIMEOUT: '2500',
      WS_MAX_RECONNECT_ATTEMPTS: '0',
      WS_MAX_PAYLOAD: '1024',
      WS_MAX_BUFFERED_BYTES: '16384',
      ALLOWED_ORIGINS: 'https://app.example.com',
      JWT_SECRET: PROD_SECRET,
      ACCESS_TOKEN_TTL: '60',
      WS_TICKET_TTL: '5',
      LISTEN_BACKLOG: '128',
      WS_RESUME_TICKET_TTL: '0',
      RESUME_WINDOW: '250',
      WS_POSITIONS_INTERVAL: '0',
      STATS_INTERVAL: '500',
      SEED_DEMO_DATA: 'false',
      TRUST_PROXY: '10.0.0.5,fd00::/8',
      RATE_LIMIT_WINDOW: '30',
      RATE_LIMIT_LOGIN_PER_IP: '11',
      RATE_LIMIT_LOGIN_PER_USERNAME: '3',
      RATE_LIMIT_REGISTER_PER_IP: '2',
      RATE_LIMIT_REGISTER_PER_USERNAME: '4',
      RATE_LIMIT_TICKETS_PER_USER: '90',
      RATE_LIMIT_UPLOADS_PER_USER: '7',
      WS_UPGRADES_PER_IP: '120',
      WS_MAX_CONNECTIONS_PER_USER: '8',
      WS_MAX_CONNECTIONS_PER_IP: '250',
      WS_FRAME_RATE: '10',
      WS_FRAME_BURST: '15',
      METRICS_PORT: '9464',
      METRICS_HOST: '10.0.0.7',
      METRICS_TOKEN: 'scrape-token-0123456789',
      REDIS_PROBE_INTERVAL: '1000',
    });
    expect(config).toEqual({
      env: 'test',
      host: '127.0.0.1',
      port: 0,
      listenBacklog: 128,
      instanceId: 'api-eu.1_b',
      logLevel: 'debug',
      databaseUrl: 'postgresql://app:s3cret@db.internal:5433/anmei',
      dataDir: '/var/lib/anmei',
      redisUrl: 'rediss://cache.internal:6380',
      redisPassword: 'redis-pass',
      redis: {
        keyPrefix: 'staging:',
        cluster: false,
        shardedPubSub: true,
        routeLookupFrom: 64,
        instanceTtlMs: 2_000,
        probeIntervalMs: 1_000,
      },
      metrics: { serve: 'separate', port: 9464, host: '10.0.0.7', token: 'scrape-token-0123456789' },
      databaseSchema: 'tenant_a',
      databasePoolMax: 20,
      databaseBatchWindowMs: 0,
      databaseTimeouts: { connectMs: 1_500, statementMs: 30_000, healthMs: 500 },
      attachments: { dir: '/var/lib/anmei/attachments', maxBytes: 10 * 1024 * 1024 },
      shutdown: { drainSpreadMs: 0, timeoutMs: 1_000 },
      notificationProvider: 'firebase',
      notificationProviders: ['fcm'],
      firebaseCredentialsPath: '/etc/firebase.json',
      fcm: { baseUrl: 'https://fcm.googleapis.com' },
      apns: undefined,
      vapid: undefined,
      vapidSubject: undefined,
      push: {
        webPushAllowedHosts: '*',
        webhook: { url: 'https://push.clinic.example/v1/send', token: 'gateway-token' },
        pollIntervalMs: 250,
        concurrency: 4,
        sendTimeoutMs: 2_000,
        leaseMs: 5_000,
        retryBaseMs: 100,
        retryMaxDelayMs: 60_000,
        maxAgeMs: 600_000,
        retentionMs: 86_400_000,
      },
      ws: {
        heartbeatIntervalMs: 1000,
        connectionTimeoutMs: 2500,
        maxReconnectAttempts: 0,
        maxPayloadBytes: 1024,
        maxBufferedBytes: 16_384,
        allowedOrigins: new Set(['https://app.example.com']),
        ticketTtlSeconds: 5,
        resumeTicketTtlSeconds: 0,
        resumeWindow: 250,
        positionsIntervalMs: 0,
        statsIntervalMs: 500,
      },
      auth: { jwtSecret: PROD_SECRET, accessTokenTtlSeconds: 60, usingDevSecret: false },
      seedDemoData: false,
      trustProxy: ['10.0.0.5/32', 'fd00::/8'],
      limits: {
        windowSeconds: 30,
        loginPerIp: 11,
        loginPerUsername: 3,
        registerPerIp: 2,
        registerPerUsername: 4,
        ticketsPerUser: 90,
        uploadsPerUser: 7,
        wsUpgradesPerIp: 120,
        wsConnectionsPerUser: 8,
        wsConnectionsPerIp: 250,
        wsFrameRate: 10,
        wsFrameBurst: 15,
      },
    });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('SEED_DEMO_DATA=%s means %s', (value, expected) => {
    expect(loadConfig({ SEED_DEMO_DATA: value }).seedDemoData).toBe(expected);
  });

  it('REDIS_CLUSTER=true implies sharded pub/sub', () => {
    expect(loadConfig({ REDIS_CLUSTER: 'true' }).redis).toMatchObject({ cluster: true, shardedPubSub: true });
    expect(loadConfig({ REDIS_CLUSTER: 'true', REDIS_SHARDED_PUBSUB: 'false' }).redis.shardedPubSub).toBe(true);
  });

  it('accepts the inclusive bounds of numeric keys', () => {
    expect(loadConfig({ PORT: '65535' }).port).toBe(65_535);
    expect(loadConfig({ WS_HEARTBEAT_INTERVAL: '100' }).ws.heartbeatIntervalMs).toBe(100);
    expect(loadConfig({ WS_HEARTBEAT_INTERVAL: '600000' }).ws.heartbeatIntervalMs).toBe(600_000);
    expect(loadConfig({ WS_TICKET_TTL: '300' }).ws.ticketTtlSeconds).toBe(300);
  });
});

describe('ALLOWED_ORIGINS', () => {
  it('splits on commas, trims spaces and drops empty entries', () => {
    const { allowedOrigins } = loadConfig({ ALLOWED_ORIGINS: ' https://a.example , https://b.example:8443,, ' }).ws;
    expect(allowedOrigins).toEqual(new Set(['https://a.example', 'https://b.example:8443']));
  });

  it('`*` alone allows any origin', () => {
    expect(loadConfig({ ALLOWED_ORIGINS: '*' }).ws.allowedOrigins).toBe('*');
  });

  it('`*` anywhere in the list allows any origin', () => {
    expect(loadConfig({ ALLOWED_ORIGINS: 'https://a.example, *' }).ws.allowedOrigins).toBe('*');
  });
});

describe('wrong values', () => {
  it('a wrong value throws a ConfigError with one line naming the key and the value', () => {
    const error = configError({ PORT: 'abc' });
    expect(error.name).toBe('ConfigError');
    expect(error.message).toBe('invalid configuration: PORT="abc": must be a whole number');
  });

  it.each([
    ['PORT', '99999'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['WS_HEARTBEAT_INTERVAL', 'abc'],
    ['WS_HEARTBEAT_INTERVAL', '99'],
    ['WS_CONNECTION_TIMEOUT', '1e3'],
    ['WS_MAX_RECONNECT_ATTEMPTS', '1001'],
    ['WS_MAX_PAYLOAD', '100'],
    ['WS_MAX_BUFFERED_BYTES', '1'],
    ['ACCESS_TOKEN_TTL', '59'],
    ['WS_TICKET_TTL', '301'],
    ['WS_RESUME_TICKET_TTL', '3601'],
    ['LISTEN_BACKLOG', '0'],
    ['WS_RESUME_TICKET_TTL', '-1'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'verbose'],
    ['NOTIFICATION_PROVIDER', 'sms'],
    ['INSTANCE_ID', 'has spaces'],
    ['SEED_DEMO_DATA', 'yes'],
    ['DATABASE_URL', 'mysql://db/app'],
    ['DATABASE_SCHEMA', 'Tenant-A'],
    ['DATABASE_POOL_MAX', '0'],
    ['DATABASE_POOL_MAX', '1001'],
    ['DATABASE_BATCH_WINDOW_MS', '-1'],
    ['DATABASE_BATCH_WINDOW_MS', '1001'],
    ['REDIS_KEY_PREFIX', 'has space'],
    ['REDIS_CLUSTER', 'yes'],
    ['REDIS_ROUTE_LOOKUP_FROM', '0'],
    ['INSTANCE_TTL', '999'],
    ['WS_DRAIN_SPREAD', '600001'],
    ['RESUME_WINDOW', '0'],
    ['WS_POSITIONS_INTERVAL', '-1'],
    ['STATS_INTERVAL', '99'],
    ['SHUTDOWN_TIMEOUT', '10'],
    ['REDIS_URL', 'http://cache:6379'],
    ['PUSH_WEBHOOK_URL', 'ftp://push.example'],
    ['PUSH_CONCURRENCY', '0'],
    ['PUSH_POLL_INTERVAL', '9'],
    ['PUSH_MAX_AGE', '999'],
  ])('%s=%s is refused with exactly one line naming it', (key, value) => {
    const lines = configError({ [key]: value }).message.split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^invalid configuration: ${key}=${JSON.stringify(value)}: \\S`));
  });

  it('several wrong values give one line each, every key named once', () => {
    const error = configError({ PORT: 'abc', WS_HEARTBEAT_INTERVAL: '1', NODE_ENV: 'staging', ACCESS_TOKEN_TTL: 'x' });
    const lines = error.message.split('\n');
    expect(lines).toHaveLength(4);
    const keys = lines.map((l) => /^invalid configuration: ([A-Z_]+)=/.exec(l)?.[1]);
    expect(keys.sort()).toEqual(['ACCESS_TOKEN_TTL', 'NODE_ENV', 'PORT', 'WS_HEARTBEAT_INTERVAL']);
  });

  it('a value with a line break still yields a single line', () => {
    const lines = configError({ PORT: '80\n81' }).message.split('\n');
    expect(lines).toEqual(['invalid configuration: PORT="80\\n81": must be a whole number']);
  });
});

describe('secrets are never echoed', () => {
  it('a too-short JWT_SECRET is named but not shown', () => {
    const error = configError({ JWT_SECRET: 'my-short-secret' });
    expect(error.message).toBe('invalid configuration: JWT_SECRET="[redacted]": must be at least 32 characters');
    expect(error.message).not.toContain('my-short-secret');
  });

  it.each([
    ['DATABASE_URL', 'mysql://app:s3cretPW@db:5432/app', 's3cretPW'],
    ['DATABASE_URL', 'postgres://app:s3cretPW@db:notaport/app', 's3cretPW'],
    // Generated passwords often hold `/`, `+` or `@`; unencoded they break URL parsing, which is
    // exactly when the value ends up in the error message.
    ['DATABASE_URL', 'postgres://app:s3c/retPW@db:5432/app', 's3c/retPW'],
    ['DATABASE_URL', 'mysql://app:s3c@r/etPW@db:5432/app', 'etPW'],
    ['DATABASE_URL', 'app:s3cretPW@db:5432/app', 's3cretPW'],
    ['DATABASE_URL', 'mysql://db/app?user=app&password=s3cretPW', 's3cretPW'],
    ['REDIS_URL', 'http://:s3cretPW@cache:6379', 's3cretPW'],
  ])('a wrong %s (%s) does not reveal its password', (key, value, password) => {
    const error = configError({ [key]: value });
    expect(error.message.split('\n')).toHaveLength(1);
    expect(error.message).toMatch(new RegExp(`^invalid configuration: ${key}=`));
    expect(error.message).not.toContain(password);
    expect(error.message).toContain('[redacted]');
  });

  it('keeps the non-secret parts of a URL so the mistake can be seen', () => {
    expect(configError({ DATABASE_URL: 'mysql://app:s3cretPW@db:5432/app' }).message).toBe(
      'invalid configuration: DATABASE_URL="mysql://[redacted]@db:5432/app": Invalid URL',
    );
  });
});

describe('production safety', () => {
  it('refuses production with the built-in development JWT secret', () => {
    const error = configError({ NODE_ENV: 'production' });
    expect(error.message).toBe('invalid configuration: JWT_SECRET must be set to a secret of your own in production');
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('refuses production with the development secret given explicitly', () => {
    const devSecret = loadConfig({}).auth.jwtSecret;
    const error = configError({ NODE_ENV: 'production', JWT_SECRET: devSecret });
    expect(error.message).toMatch(/^invalid configuration: JWT_SECRET /);
    expect(error.message).not.toContain(devSecret);
  });

  it('refuses SEED_DEMO_DATA=true in production', () => {
    for (const value of ['true', '1']) {
      const error = configError({ NODE_ENV: 'production', JWT_SECRET: PROD_SECRET, SEED_DEMO_DATA: value });
      expect(error.message).toBe('invalid configuration: SEED_DEMO_DATA=true is not allowed when NODE_ENV=production');
    }
  });

  it('allows SEED_DEMO_DATA=false in production', () => {
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: PROD_SECRET, SEED_DEMO_DATA: 'false' });
    expect(config.seedDemoData).toBe(false);
  });
});

describe('where /metrics is served', () => {
  it('on PORT, open, by default outside production (npm start can be scraped without setup)', () => {
    expect(loadConfig({}).metrics).toEqual({ serve: 'api', port: 0, host: '0.0.0.0', token: undefined });
    expect(loadConfig({}).redis.probeIntervalMs).toBe(5_000);
  });

  it('in production: off without METRICS_TOKEN or METRICS_PORT, on PORT behind the token, or on a port of its own', () => {
    const prod = { NODE_ENV: 'production', JWT_SECRET: PROD_SECRET };
    expect(loadConfig(prod).metrics.serve).toBe('off');
    expect(loadConfig({ ...prod, METRICS_TOKEN: 'a-scrape-token-16+' }).metrics).toMatchObject({
      serve: 'api',
      token: 'a-scrape-token-16+',
    });
    expect(loadConfig({ ...prod, METRICS_PORT: '9464' }).metrics).toEqual({
      serve: 'separate',
      port: 9464,
      host: '0.0.0.0',
      token: undefined,
    });
  });

  it('refuses METRICS_PORT equal to PORT, and a METRICS_TOKEN shorter than 16 characters without echoing it', () => {
    expect(configError({ PORT: '8000', METRICS_PORT: '8000' }).message).toBe(
      'invalid configuration: METRICS_PORT=8000 is PORT too; give the metrics listener a port of its own, or 0 to serve /metrics on PORT',
    );
    const error = configError({ METRICS_TOKEN: 'short-secret' });
    expect(error.message).toBe('invalid configuration: METRICS_TOKEN="[redacted]": must be at least 16 characters');
  });
});

describe('attachments settings', () => {
  it('defaults the folder under DATA_DIR, to a temp folder for memory://, and honours ATTACHMENTS_DIR', () => {
    expect(loadConfig({ DATA_DIR: '/srv/anmei' }).attachments.dir).toBe('/srv/anmei/attachments');
    expect(loadConfig({ DATA_DIR: 'memory://' }).attachments.dir).toMatch(/anmei-attachments$/);
    expect(loadConfig({ ATTACHMENTS_DIR: '/mnt/shared' }).attachments).toEqual({
      dir: '/mnt/shared',
      maxBytes: 10 * 1024 * 1024,
    });
    expect(() => loadConfig({ ATTACHMENT_MAX_BYTES: '10' })).toThrow(
      'invalid configuration: ATTACHMENT_MAX_BYTES="10"',
    );
  });
});
