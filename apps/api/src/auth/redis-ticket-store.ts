/**
 * Single-use tickets across instances: the first `SET <key> 1 NX PXAT <expiry>` wins, so a
 * ticket issued by one instance and presented (twice) to two others is accepted once.
 */
import type { TicketStore } from './ticket-store.ts';

/**
 * The one Redis command the store needs (ioredis's signature), so auth depends on no Redis
 * module of ours: the composition root hands in the shared command connection.
 */
export interface TicketRedis {
  set(key: string, value: string, expiry: 'PXAT', at: number, mode: 'NX'): Promise<'OK' | null>;
}

export class RedisTicketStore implements TicketStore {
  readonly #client: TicketRedis;
  /** The Redis key of a ticket's jti (under REDIS_KEY_PREFIX). */
  readonly #keyOf: (jti: string) => string;

  constructor(client: TicketRedis, keyOf: (jti: string) => string) {
    this.#client = client;
    this.#keyOf = keyOf;
  }

  async consume(jti: string, expiresAtMs: number): Promise<boolean> {
    // An already-expired ticket is refused by JWT verification before it gets here.
    const at = Math.max(expiresAtMs, Date.now() + 1_000);
    const result = await this.#client.set(this.#keyOf(jti), '1', 'PXAT', at, 'NX');
    return result === 'OK';
  }

  async close(): Promise<void> {}
}
