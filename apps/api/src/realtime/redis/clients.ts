/**
 * Redis connections for one instance: one for commands/publishes and one in subscriber mode
 * (a connection that SUBSCRIBEs can do nothing else). ioredis reconnects with backoff,
 * queues commands while offline and re-subscribes every channel after a reconnect
 * (`autoResubscribe`, verified by the Redis-restart test).
 */
import { Cluster, type Command, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../observability/logger.ts';

export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  url: string;
  password?: string | undefined;
  cluster: boolean;
  /** Name shown in logs, e.g. "command" or "subscriber". */
  role: string;
  /**
   * Fail commands at once while disconnected instead of queueing them (default false). The
   * command connection uses it: a send is already stored, so waiting for Redis would only hang
   * the sender; clients repair live delivery with `resume`.
   */
  failFast?: boolean;
  logger: Logger;
  /** Each command that fails (metrics: anmei_redis_command_errors_total); see `countCommandErrors`. */
  onCommandError?: () => void;
  /** The connection was lost and reconnects (once per outage, with the ERROR line). */
  onLost?: () => void;
}

/** Reconnect backoff: 100 ms doubling to 2 s, forever (an instance keeps serving local sockets meanwhile). */
function retryStrategy(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 5), 2_000);
}

export function createRedisClient(options: RedisConnectionOptions): RedisClient {
  const url = new URL(options.url);
  const base: RedisOptions = {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...((options.password ?? url.password) ? { password: options.password ?? decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    retryStrategy,
    maxRetriesPerRequest: options.failFast ? 1 : null,
    // Until the first connect the queue must stay on, or start-up commands would fail.
    enableOfflineQueue: true,
    autoResubscribe: true,
    connectionName: `anmei-${options.role}`,
    // Commands issued in the same event-loop turn leave in one write (one syscall here and one
    // read in Redis) instead of one each: a reconnect storm issues a ticket consume, a presence
    // script and a route update per client. Order on the connection is unchanged.
    enableAutoPipelining: true,
  };
  const client: RedisClient = options.cluster
    ? new Cluster([{ host: base.host ?? '127.0.0.1', port: base.port ?? 6379 }], {
        redisOptions: base,
        clusterRetryStrategy: retryStrategy,
        enableOfflineQueue: true,
        ...(options.failFast ? { maxRedirections: 4 } : {}),
        shardedSubscribers: options.role === 'subscriber',
        enableAutoPipelining: true,
      })
    : new Redis(base);
  watchHealth(client, options);
  if (options.onCommandError) countCommandErrors(client, options.onCommandError);
  if (options.failFast) {
    // After the first successful connect, stop queueing: an outage fails commands immediately.
    client.once('ready', () => {
      client.options.enableOfflineQueue = false;
    });
  }
  return client;
}

/**
 * ERROR once when the link breaks (not once per retry), INFO when it is back. A fast Redis
 * restart may produce no `error` at all, only `reconnecting`, so both count as "lost";
 * `reconnecting` is not emitted for our own quit() at shutdown.
 */
function watchHealth(client: RedisClient, options: RedisConnectionOptions): void {
  const where = `${new URL(options.url).host}`;
  let down = false;
  const lost = (error?: Error) => {
    if (down) return;
    down = true;
    options.onLost?.();
    options.logger.error(
      { ...(error ? { err: error } : {}), redis: where, connection: options.role },
      'redis connection lost; reconnecting',
    );
  };
  client.on('error', (error: Error) => lost(error));
  client.on('reconnecting', () => lost());
  client.on('ready', () => {
    if (!down) return;
    down = false;
    options.logger.info({ redis: where, connection: options.role }, 'redis connection restored');
  });
}

/**
 * Calls `onError` once for every command of `client` that fails: refused while disconnected (the
 * command connection fails fast), timed out, or answered with an error. ioredis has no event for
 * that, so its `sendCommand` (every command passes it, also from pipelines and scripts) is wrapped:
 * a command sent again (offline queue, cluster redirect) is watched once. NOSCRIPT is not counted:
 * ioredis answers it by sending the script itself.
 */
function countCommandErrors(client: RedisClient, onError: () => void): void {
  const send = client.sendCommand.bind(client) as (command: Command, ...rest: unknown[]) => unknown;
  const watched = new WeakSet<Command>();
  const failed = (error: unknown) => {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) onError();
  };
  (client as { sendCommand: unknown }).sendCommand = (command: Command, ...rest: unknown[]) => {
    if (!watched.has(command)) {
      watched.add(command);
      command.promise.catch(failed);
    }
    return send(command, ...rest);
  };
}

/** Resolves once the client is ready; rejects with a clear message after `timeoutMs`. */
export function waitUntilReady(client: RedisClient, url: string, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis at ${new URL(url).host} did not become ready within ${timeoutMs} ms; check REDIS_URL`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}

/** How ioredis fails a command while its connection is down (fail-fast after the first connect, or out of retries). */
const REDIS_DOWN_MESSAGES = [
  "Stream isn't writeable",
  'Connection is closed',
  'Reached the max retries per request limit',
];

/**
 * True when `err` means Redis could not be reached (not that a command was wrong): the caller
 * answers SERVICE_UNAVAILABLE, a "try later", instead of INTERNAL (issue #15).
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  return REDIS_DOWN_MESSAGES.some((start) => err.message.startsWith(start));
}
