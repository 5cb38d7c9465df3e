/**
 * Chooses the cross-instance parts: in-memory (one instance, the embedded default) or Redis
 * (REDIS_URL set: any number of instances). Everything above this file sees only the
 * Bus, Presence and TicketStore interfaces.
 */

import { RedisTicketStore } from '../auth/redis-ticket-store.ts';
import type { TicketStore } from '../auth/ticket-store.ts';
import { MemoryTicketStore } from '../auth/ticket-store.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/logger.ts';
import type { AppMetrics } from '../observability/metrics.ts';
import type { Bus } from './bus/bus.ts';
import { MemoryBusHub } from './bus/memory.ts';
import { RedisBus } from './bus/redis.ts';
import { MemoryPresenceStore } from './presence/memory.ts';
import type { Presence } from './presence/presence.ts';
import { RedisPresence } from './presence/redis.ts';
import { createRedisClient, type RedisClient, waitUntilReady } from './redis/clients.ts';
import { type RedisNames, redisNames } from './redis/keys.ts';

export interface RealtimeInfrastructure {
  kind: 'memory' | 'redis';
  bus: Bus;
  presence: Presence;
  tickets: TicketStore;
  /** The command connection and key names when REDIS_URL is set (rate-limit counters live there). */
  redis: { client: RedisClient; names: RedisNames } | undefined;
  /** Counters for /health (published/received messages, subscriptions). */
  busStats(): Record<string, number | string>;
  /** false while the Redis connections are down (always true for memory). */
  healthy(): boolean;
  /** Resolves once Redis answered a PING on the command connection (at once for memory). */
  ping(): Promise<void>;
  /** The Redis connections by role and whether each is ready (metrics); empty for memory. */
  connections(): Array<{ connection: string; up: boolean }>;
  /** Redis pub/sub publish-to-receive seconds through the bus (RedisBus.probe), null when lost; absent for memory. */
  probe: ((timeoutMs: number) => Promise<number | null>) | undefined;
  /** Deregister presence, then close the bus and the Redis connections. */
  close(): Promise<void>;
}

export async function createRealtimeInfrastructure(
  config: Config,
  logger: Logger,
  metrics?: AppMetrics,
): Promise<RealtimeInfrastructure> {
  if (!config.redisUrl) {
    const bus = new MemoryBusHub({
      onHandlerError: (error, instanceId) => logger.error({ err: error, instanceId }, 'envelope handler failed'),
    }).createBus(config.instanceId);
    const presence = new MemoryPresenceStore().createPresence();
    const tickets = new MemoryTicketStore();
    return {
      kind: 'memory',
      bus,
      presence,
      tickets,
      redis: undefined,
      busStats: () => ({ ...bus.stats() }),
      healthy: () => true,
      ping: () => Promise.resolve(),
      connections: () => [],
      probe: undefined,
      async close() {
        await Promise.allSettled([presence.close(), bus.close(), tickets.close()]);
      },
    };
  }

  const url = config.redisUrl;
  const common = { url, password: config.redisPassword, cluster: config.redis.cluster, logger };
  const counted = (role: string) =>
    metrics
      ? { onCommandError: () => metrics.redisCommandError(role), onLost: () => metrics.redisReconnect(role) }
      : {};
  const command: RedisClient = createRedisClient({ ...common, role: 'command', failFast: true, ...counted('command') });
  const subscriber: RedisClient = createRedisClient({ ...common, role: 'subscriber', ...counted('subscriber') });
  try {
    await Promise.all([waitUntilReady(command, url), waitUntilReady(subscriber, url)]);
  } catch (error) {
    command.disconnect();
    subscriber.disconnect();
    throw error;
  }
  const names = redisNames(config.redis.keyPrefix, config.redis.cluster);
  const bus = new RedisBus({
    publisher: command,
    subscriber,
    names,
    busId: config.instanceId,
    sharded: config.redis.shardedPubSub,
    logger,
    routeLookupFrom: config.redis.routeLookupFrom,
  });
  const presence = new RedisPresence({
    client: command,
    subscriber,
    names,
    instanceId: config.instanceId,
    instanceTtlMs: config.redis.instanceTtlMs,
    logger,
    // Routes of a dead instance would only cost publishes to nobody, but they must not pile up.
    onInstanceReaped: (dead) => {
      void bus.forgetInstance(dead).catch((error: unknown) => {
        logger.warn({ err: error, deadInstance: dead }, 'could not forget the bus routes of a dead instance');
      });
    },
    onResync: () => {
      void bus.resync().catch((error: unknown) => {
        logger.warn({ err: error }, 'could not re-register bus routes after presence re-sync');
      });
    },
  });
  // Presence first: it refuses a second live process with our INSTANCE_ID before the bus
  // clears the routes "a previous process with our id" left behind.
  await presence.start();
  await bus.start();
  return {
    kind: 'redis',
    bus,
    presence,
    tickets: new RedisTicketStore(command, names.ticket),
    redis: { client: command, names },
    busStats: () => ({ routing: bus.routing, ...bus.stats() }),
    healthy: () => command.status === 'ready' && subscriber.status === 'ready',
    ping: async () => {
      await command.ping();
    },
    connections: () => [
      { connection: 'command', up: command.status === 'ready' },
      { connection: 'subscriber', up: subscriber.status === 'ready' },
    ],
    probe: (timeoutMs) => bus.probe(timeoutMs),
    async close() {
      await presence.close();
      await bus.close();
      await Promise.allSettled([command.quit(), subscriber.quit()]);
    },
  };
}
