/**
 * Liveness (`GET /health`, always 200) and readiness (`GET /ready`, 200 or 503), as
 * docs/operations.md "Health and readiness" describes them.
 */
import { z } from 'zod';
import { Problem } from './common.ts';

export const HealthResponse = z.object({
  /** `degraded`: the database or Redis is unreachable; `draining`: shutting down. */
  status: z.enum(['ok', 'degraded', 'draining']),
  instance: z.string(),
  database: z.object({ kind: z.string(), status: z.enum(['ok', 'unavailable']) }),
  /** Plus the bus's own figures (counters by name), which differ between memory and Redis. */
  bus: z.looseObject({ kind: z.string(), status: z.enum(['ok', 'unavailable']) }),
  /** Sockets and distinct users on this instance. */
  connections: z.number(),
  users: z.number(),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

export const ReadinessChecks = z.object({
  database: z.enum(['ok', 'unavailable']),
  /** `unknown` while the database does not answer. */
  migrations: z.enum(['ok', 'behind', 'unknown']),
  redis: z.enum(['ok', 'unavailable', 'not_configured']),
  draining: z.boolean(),
});
export type ReadinessChecks = z.infer<typeof ReadinessChecks>;

export const ReadyResponse = z.object({ status: z.literal('ready'), instance: z.string(), checks: ReadinessChecks });
/** 503 NOT_READY: the problem, which instance answered, and the checks that name the failure. */
export const NotReadyProblem = Problem.extend({ instance_id: z.string(), checks: ReadinessChecks });

export const HealthSchemas = {
  health: { response: { 200: HealthResponse } },
  ready: { response: { 200: ReadyResponse, 503: NotReadyProblem } },
} as const;
