/**
 * Redis buses on a real Redis for the routing tests: every client and bus a test makes, kept in
 * the order made (a test that cuts a connection picks it by index), closed by `cleanup()`.
 */
import { pino } from 'pino';
import type { Logger } from '../../src/observability/logger.ts';
import { RedisBus } from '../../src/realtime/bus/redis.ts';
import { createRedisClient, type RedisClient, waitUntilReady } from '../../src/realtime/redis/clients.ts';
import type { RedisNames } from '../../src/realtime/redis/keys.ts';
import { EnvelopeRecorder } from '../contract/envelope-recorder.ts';
import { SHARED_REDIS_URL } from '../contract/redis-fixtures.ts';

const silent = pino({ level: 'silent' });

export interface BusOptions {
  names: RedisNames;
  id: string;
  /** Redis for both connections (default: the shared one). */
  url?: string;
  /** Redis for the command connection only, e.g. through a proxy (default: `url`). */
  publisherUrl?: string;
  routeLookupFrom?: number;
  logger?: Logger;
}

export class RedisBuses {
  /** Every client made, in order: a bus's command connection, then its subscriber. */
  readonly clients: RedisClient[] = [];
  readonly buses: RedisBus[] = [];

  async client(role: string, url = SHARED_REDIS_URL): Promise<RedisClient> {
    const c = createRedisClient({ url, cluster: false, role, logger: silent });
    this.clients.push(c);
    await waitUntilReady(c, url, 5_000);
    return c;
  }

  async start(options: BusOptions): Promise<{ bus: RedisBus; recorder: EnvelopeRecorder }> {
    const url = options.url ?? SHARED_REDIS_URL;
    const bus = new RedisBus({
      publisher: await this.client('command', options.publisherUrl ?? url),
      subscriber: await this.client('subscriber', url),
      names: options.names,
      busId: options.id,
      sharded: false,
      logger: options.logger ?? silent,
      ...(options.routeLookupFrom === undefined ? {} : { routeLookupFrom: options.routeLookupFrom }),
    });
    await bus.start();
    this.buses.push(bus);
    return { bus, recorder: new EnvelopeRecorder(options.id).attach(bus) };
  }

  /** Closes the buses still listed, then disconnects every client. */
  async cleanup(): Promise<void> {
    await Promise.allSettled(this.buses.splice(0).map((b) => b.close()));
    for (const c of this.clients.splice(0)) c.disconnect();
  }
}
