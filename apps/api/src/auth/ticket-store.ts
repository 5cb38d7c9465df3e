/**
 * Remembers which WebSocket tickets were used so each works once.
 *
 * Contract: `consume(jti, expiresAtMs)` resolves true the first time for a jti and false
 * every later time until `expiresAtMs` has passed (after which the JWT itself is expired,
 * so forgetting it is safe). Shared-store implementations (Redis) must make this atomic
 * across instances (SET NX PX).
 */
export interface TicketStore {
  consume(jti: string, expiresAtMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** One-process store; expired entries are swept every `sweepIntervalMs` (default 30 000 ms). */
export class MemoryTicketStore implements TicketStore {
  readonly #used = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(sweepIntervalMs = 30_000) {
    this.#timer = setInterval(() => this.#sweep(Date.now()), sweepIntervalMs);
    this.#timer.unref();
  }

  async consume(jti: string, expiresAtMs: number): Promise<boolean> {
    if (this.#used.has(jti)) return false;
    this.#used.set(jti, expiresAtMs);
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#used.clear();
  }

  #sweep(now: number): void {
    for (const [jti, expiresAt] of this.#used) if (expiresAt < now) this.#used.delete(jti);
  }
}
