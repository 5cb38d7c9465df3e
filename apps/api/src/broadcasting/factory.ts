/**
 * The seed's broadcasting_factory: heavy, shared parts (bus, presence, participant cache,
 * push provider) are built once per process by the composition root; `createBroadcastingService`
 * wires them, and the per-request dependency only binds the request's logger (no allocation
 * beyond one small object), so handlers never build a service of their own.
 */
import type { FastifyRequest } from 'fastify';
import type { Logger } from '../observability/logger.ts';
import { type BroadcastingDeps, BroadcastingService } from './broadcasting-service.ts';

export function createBroadcastingService(deps: BroadcastingDeps): BroadcastingService {
  return new BroadcastingService(deps);
}

/** Per-request dependency for HTTP handlers: the shared service, logging with the request id. */
export function broadcastingFor(service: BroadcastingService, request: FastifyRequest): BroadcastingService {
  // Fastify was given our pino instance, so request.log is a pino child logger.
  return service.withLogger(request.log as Logger);
}
