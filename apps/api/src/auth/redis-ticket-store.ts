/**
 * Single-use tickets across instances: the first `SET <key> 1 NX PXAT <expiry>` wins, so a
 * ticket issued by one instance and presented (twice) to two others is accepted once.
 */
import type { RedisClient } from '../realtime/redis/clients.ts';
import type { RedisNames } from '../realtime/redis/keys.ts';
import type { TicketStore } from './ticket-store.ts';

export class RedisTicketStore implements TicketStore {
  readonly #client: RedisClient;
  readonly #names: RedisNames;

  constructor(client: RedisClient, names: RedisNames) {
    this.#client = client;
    this.#names = names;
  }

  async consume(jti: string, expiresAtMs: number): Promise<boolean> {
    // An already-expired ticket is refused by JWT verification before it gets here.
    const at = Math.max(expiresAtMs, Date.now() + 1_000);
    const result = await this.#client.set(this.#names.ticket(jti), '1', 'PXAT', at, 'NX');
    return result === 'OK';
  }

  async close(): Promise<void> {}
}
