/**
 * HTTP rate limits (issue #15), with @fastify/rate-limit: fixed windows of RATE_LIMIT_WINDOW
 * seconds, counted in Redis when REDIS_URL is set (so they hold across instances) and in this
 * process's memory otherwise. A refusal is 429 `RATE_LIMITED` problem+json with `Retry-After`.
 *
 * Every limited route is in one table below (`limitedRoutes`), attached to its route when the
 * route is registered; `assertAttached()` fails start-up if a table entry matches no route.
 * Address limits run in `onRequest`, before the body is read; username limits in `preHandler`,
 * after validation and before the handler's Argon2 hash; user limits after `requireAuth`.
 * Every attempt counts, successful or not: counting only failures would have to read before
 * hashing and count after, and parallel attempts would all pass the read.
 */
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler, RouteOptions } from 'fastify';
import type { Config } from '../config.ts';
import { RetryLaterError } from '../errors.ts';
import type { AppMetrics, RateLimitName } from '../observability/metrics.ts';
import type { RedisClient } from '../realtime/redis/clients.ts';
import { signedIn } from './auth-guard.ts';
import { addressKey } from './client-address.ts';

interface Rule {
  /** Names the counter (`login-ip:<address>`) and the `limit` label of anmei_rate_limited_total. */
  name: RateLimitName;
  /** The config key that sets `max`, named in the refusal so an operator knows what to change. */
  configKey: string;
  max: number;
  /** Before the body is read (`onRequest`, after the route's own auth hook) or after validation (`preHandler`). */
  hook: 'onRequest' | 'preHandler';
  /** What is counted for this request: its client address, the username in its body, its user. */
  key(request: FastifyRequest): string;
  /** Start of the refusal's detail, e.g. `Too many login attempts from this address`. */
  what: string;
}

interface LimitedRoute {
  method: 'POST';
  url: string;
  rules: Rule[];
}

const byAddress = (request: FastifyRequest): string => addressKey(request.ip);
const byUsername = (request: FastifyRequest): string =>
  String((request.body as { username?: unknown } | undefined)?.username ?? '').toLowerCase();
const byUser = (request: FastifyRequest): string => signedIn(request).userId;

export function limitedRoutes(limits: Config['limits']): LimitedRoute[] {
  return [
    {
      method: 'POST',
      url: '/api/v1/auth/login',
      rules: [
        {
          name: 'login-ip',
          configKey: 'RATE_LIMIT_LOGIN_PER_IP',
          max: limits.loginPerIp,
          hook: 'onRequest',
          key: byAddress,
          what: 'Too many login attempts from this address',
        },
        {
          name: 'login-username',
          configKey: 'RATE_LIMIT_LOGIN_PER_USERNAME',
          max: limits.loginPerUsername,
          hook: 'preHandler',
          key: byUsername,
          what: 'Too many login attempts for this username',
        },
      ],
    },
    {
      method: 'POST',
      url: '/api/v1/auth/register',
      rules: [
        {
          name: 'register-ip',
          configKey: 'RATE_LIMIT_REGISTER_PER_IP',
          max: limits.registerPerIp,
          hook: 'onRequest',
          key: byAddress,
          what: 'Too many sign-ups from this address',
        },
        {
          name: 'register-username',
          configKey: 'RATE_LIMIT_REGISTER_PER_USERNAME',
          max: limits.registerPerUsername,
          hook: 'preHandler',
          key: byUsername,
          what: 'Too many sign-up attempts for this username',
        },
      ],
    },
    {
      method: 'POST',
      url: '/api/v1/ws/ticket',
      rules: [
        {
          name: 'ticket-user',
          configKey: 'RATE_LIMIT_TICKETS_PER_USER',
          max: limits.ticketsPerUser,
          hook: 'onRequest',
          key: byUser,
          what: 'Too many WebSocket tickets for this user',
        },
      ],
    },
    {
      method: 'POST',
      url: '/api/v1/chat/:conversation_id/attachments',
      rules: [
        {
          name: 'upload-user',
          configKey: 'RATE_LIMIT_UPLOADS_PER_USER',
          max: limits.uploadsPerUser,
          hook: 'onRequest',
          key: byUser,
          what: 'Too many uploads by this user',
        },
      ],
    },
    {
      // A session left open must not become a password-guessing oracle: the login budget per username.
      method: 'POST',
      url: '/api/v1/auth/password',
      rules: [
        {
          name: 'password-user',
          configKey: 'RATE_LIMIT_LOGIN_PER_USERNAME',
          max: limits.loginPerUsername,
          hook: 'onRequest',
          key: byUser,
          what: 'Too many password changes by this user',
        },
      ],
    },
  ];
}

export interface HttpRateLimitOptions {
  limits: Config['limits'];
  /** The command connection and the key prefix (`<REDIS_KEY_PREFIX>ratelimit:`) when REDIS_URL is set. */
  redis: { client: RedisClient; prefix: string } | undefined;
  /** Refusals by rule (anmei_rate_limited_total). */
  metrics: AppMetrics;
}

/**
 * Registers the plugin and attaches every rule of `limitedRoutes` to its route. Call before the
 * routes are registered; call `assertAttached()` after `app.ready()`.
 */
export async function registerHttpRateLimits(
  app: FastifyInstance,
  options: HttpRateLimitOptions,
): Promise<{ assertAttached(): void }> {
  const windowMs = options.limits.windowSeconds * 1000;
  await app.register(fastifyRateLimit, {
    // Only the routes below are limited, each by its own rules.
    global: false,
    ...(options.redis ? { redis: options.redis.client, nameSpace: `${options.redis.prefix}http:` } : {}),
  });
  const table = limitedRoutes(options.limits);
  const attached = new Set<LimitedRoute>();
  const hooks = new Map<LimitedRoute, Record<Rule['hook'], onRequestAsyncHookHandler[]>>();
  for (const route of table) {
    const byHook: Record<Rule['hook'], onRequestAsyncHookHandler[]> = { onRequest: [], preHandler: [] };
    for (const rule of route.rules) {
      byHook[rule.hook].push(enforce(app, rule, windowMs, options.limits.windowSeconds, options.metrics));
    }
    hooks.set(route, byHook);
  }
  app.addHook('onRoute', (routeOptions: RouteOptions) => {
    const route = table.find((r) => r.url === routeOptions.url && methodsOf(routeOptions).includes(r.method));
    if (!route) return;
    attached.add(route);
    const byHook = hooks.get(route)!;
    // After the route's own hooks of the same kind (its `requireAuth` runs first).
    routeOptions.onRequest = [...asArray(routeOptions.onRequest), ...byHook.onRequest];
    routeOptions.preHandler = [...asArray(routeOptions.preHandler), ...byHook.preHandler];
  });
  return {
    assertAttached() {
      const missing = table.filter((route) => !attached.has(route));
      if (missing.length > 0) {
        const names = missing.map((r) => `${r.method} ${r.url}`).join(', ');
        throw new Error(`rate limits name routes that do not exist: ${names}; update http/rate-limits.ts`);
      }
    },
  };
}

/** The hook of one rule: count this request, refuse it over `max` in the current window. */
function enforce(
  app: FastifyInstance,
  rule: Rule,
  windowMs: number,
  windowSeconds: number,
  metrics: AppMetrics,
): onRequestAsyncHookHandler {
  const check = app.createRateLimit({
    max: rule.max,
    timeWindow: windowMs,
    keyGenerator: (request) => `${rule.name}:${rule.key(request)}`,
  });
  return async (request) => {
    let result: Awaited<ReturnType<typeof check>>;
    try {
      result = await check(request);
    } catch (error) {
      // The store (Redis) failed: serve rather than lock everyone out; the outage is logged elsewhere too.
      request.log.warn({ err: error, limit: rule.name }, 'rate limit not checked: its store failed');
      return;
    }
    if (result.isAllowed || !result.isExceeded) return;
    request.log.debug({ limit: rule.name, key: result.key }, 'rate limited');
    metrics.rateLimited(rule.name);
    throw new RetryLaterError(
      'RATE_LIMITED',
      `${rule.what}: at most ${rule.max} per ${windowSeconds} s (${rule.configKey}). Try again in ${result.ttlInSeconds} s.`,
      result.ttl,
    );
  };
}

function methodsOf(route: RouteOptions): string[] {
  return Array.isArray(route.method) ? route.method : [route.method];
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
