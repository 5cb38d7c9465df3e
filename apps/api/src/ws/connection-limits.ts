/**
 * The WebSocket limits decided before a socket exists (issue #15; docs/operations.md "Limits"):
 *
 * - upgrades per client address per window (WS_UPGRADES_PER_IP per RATE_LIMIT_WINDOW s), with
 *   rate-limiter-flexible: in Redis when REDIS_URL is set (across instances; while Redis fails,
 *   each instance counts on its own), in memory otherwise. Counted first, before the ticket is
 *   read, so a refused upgrade costs one counter increment and leaves its ticket unused;
 * - open connections per client address on this instance (WS_MAX_CONNECTIONS_PER_IP): every TCP
 *   connection from the upgrade request until it closes, refused or not;
 * - open connections per user (WS_MAX_CONNECTIONS_PER_USER), counted in presence, so across
 *   instances when presence is in Redis. Read while the ticket is consumed (one Redis round trip
 *   for both), applied after it was. Soft: upgrades of one user that pass the check at the same
 *   moment may all open.
 *
 * The rate of frames on an open connection is the session's (WS_FRAME_RATE, connection-session.ts).
 */
import type { Duplex } from 'node:stream';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { RetryLaterError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { AppMetrics } from '../observability/metrics.ts';
import type { Presence } from '../realtime/presence/presence.ts';
import type { RedisClient } from '../realtime/redis/clients.ts';

/**
 * `Retry-After` of a cap refusal, ms. A slot frees only when another connection closes, which
 * nobody can predict; this keeps clients that honour the header from retrying in a tight loop.
 */
export const CONNECTION_CAP_RETRY_MS = 30_000;

export interface ConnectionLimitsOptions {
  windowSeconds: number;
  upgradesPerIp: number;
  maxPerIp: number;
  maxPerUser: number;
}

export interface ConnectionLimitsDeps {
  presence: Presence;
  /** The command connection and the key prefix (`<REDIS_KEY_PREFIX>ratelimit:`) when REDIS_URL is set. */
  redis: { client: RedisClient; prefix: string } | undefined;
  logger: Logger;
  /** Refusals by limit (anmei_rate_limited_total). */
  metrics: AppMetrics;
}

/** Where the address of a claimed TCP connection is kept, for the shared 'close' listener. */
const CLAIMED = Symbol('connection-limits.address');
type ClaimedSocket = Duplex & { [CLAIMED]?: string };

export class ConnectionLimits {
  readonly #o: ConnectionLimitsOptions;
  readonly #deps: ConnectionLimitsDeps;
  readonly #upgrades: RateLimiterMemory | RateLimiterRedis;
  /** Open TCP connections per address on this instance (only addresses with at least one). */
  readonly #open = new Map<string, number>();
  /** One listener for every claimed socket (`this` is the socket), not a closure each. */
  readonly #release: (this: ClaimedSocket) => void;

  constructor(options: ConnectionLimitsOptions, deps: ConnectionLimitsDeps) {
    this.#o = options;
    this.#deps = deps;
    const rate = { points: options.upgradesPerIp, duration: options.windowSeconds };
    this.#upgrades = deps.redis
      ? new RateLimiterRedis({
          ...rate,
          storeClient: deps.redis.client,
          keyPrefix: `${deps.redis.prefix}ws-upgrade`,
          // While Redis fails, count per instance instead of refusing everyone or no one.
          insuranceLimiter: new RateLimiterMemory({ ...rate, keyPrefix: 'ws-upgrade' }),
        })
      : new RateLimiterMemory({ ...rate, keyPrefix: 'ws-upgrade' });
    const open = this.#open;
    this.#release = function release() {
      const address = this[CLAIMED];
      if (address === undefined) return;
      this[CLAIMED] = undefined;
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    };
  }

  /** Open connections of `address` on this instance (including upgrades under way). */
  openFrom(address: string): number {
    return this.#open.get(address) ?? 0;
  }

  /**
   * Counts `socket` against its address until it closes; throws TOO_MANY_CONNECTIONS (and
   * counts nothing) when the address already holds WS_MAX_CONNECTIONS_PER_IP. Once per socket.
   */
  claimAddress(socket: Duplex, address: string): void {
    if (socket.destroyed) return;
    const open = this.#open.get(address) ?? 0;
    if (open >= this.#o.maxPerIp) {
      this.#deps.metrics.rateLimited('ws-connections-ip');
      throw new RetryLaterError(
        'TOO_MANY_CONNECTIONS',
        `This address has ${open} open WebSocket connections on this server, the most allowed (WS_MAX_CONNECTIONS_PER_IP=${this.#o.maxPerIp}).`,
        CONNECTION_CAP_RETRY_MS,
      );
    }
    this.#open.set(address, open + 1);
    (socket as ClaimedSocket)[CLAIMED] = address;
    // `on`, not `once`: a socket closes once and #release is idempotent anyway, and `once` would
    // wrap it in a state object and a bound function kept by every open socket (~150 B each).
    socket.on('close', this.#release);
  }

  /** Counts one upgrade of `address`; throws RATE_LIMITED over WS_UPGRADES_PER_IP in the current window. */
  async countUpgrade(address: string): Promise<void> {
    try {
      await this.#upgrades.consume(address);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      this.#deps.metrics.rateLimited('ws-upgrade-ip');
      throw new RetryLaterError(
        'RATE_LIMITED',
        `Too many WebSocket upgrades from this address: at most ${this.#o.upgradesPerIp} per ${this.#o.windowSeconds} s (WS_UPGRADES_PER_IP). Try again in ${Math.ceil(rejection.msBeforeNext / 1000)} s.`,
        rejection.msBeforeNext,
      );
    }
  }

  /**
   * How many connections `userId` has in presence, or the error presence failed with (this never
   * rejects). Read while the ticket is spent, in the same Redis round trip; `checkUser` decides.
   */
  readUserConnections(userId: string): Promise<number | Error> {
    return this.#deps.presence.devicesOf(userId).then(
      (devices) => devices.length,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
  }

  /**
   * Throws TOO_MANY_CONNECTIONS when `open` (readUserConnections) is already
   * WS_MAX_CONNECTIONS_PER_USER. A presence failure lets the upgrade through (registration will report it).
   */
  checkUser(userId: string, open: number | Error): void {
    if (open instanceof Error) {
      this.#deps.logger.warn({ err: open, userId }, 'connection cap not checked: presence failed');
      return;
    }
    if (open >= this.#o.maxPerUser) {
      this.#deps.metrics.rateLimited('ws-connections-user');
      throw new RetryLaterError(
        'TOO_MANY_CONNECTIONS',
        `This user has ${open} open WebSocket connections, the most allowed (WS_MAX_CONNECTIONS_PER_USER=${this.#o.maxPerUser}); close one first.`,
        CONNECTION_CAP_RETRY_MS,
      );
    }
  }
}
