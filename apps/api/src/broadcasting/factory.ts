/**
 * The seed's broadcasting_factory: heavy, shared parts (bus, presence, participant cache,
 * push queue) are built once per process by the composition root, and `createBroadcastingService`
 * wires them into the one service every route and the gateway share (nothing is built per request).
 */
import { type BroadcastingDeps, BroadcastingService } from './broadcasting-service.ts';

export function createBroadcastingService(deps: BroadcastingDeps): BroadcastingService {
  return new BroadcastingService(deps);
}
