/**
 * RedisBus's "envelopes may have been lost" signal (Bus.onRecovered), coalesced: a request waits
 * until the bus's routes and subscriptions are live again (`untilLive`), then calls `recovered`.
 * Requests made while one waits run as one more after it, so a Redis restart that brings back
 * both connections and a route re-sync at once triggers at most two checks, not one per event.
 */
import type { Logger } from '../../observability/logger.ts';

export class RecoveryCheck {
  readonly #untilLive: () => Promise<void>;
  readonly #recovered: () => void;
  readonly #log: Logger;
  #running = false;
  #again = false;

  constructor(deps: { untilLive: () => Promise<void>; recovered: () => void; logger: Logger }) {
    this.#untilLive = deps.untilLive;
    this.#recovered = deps.recovered;
    this.#log = deps.logger;
  }

  request(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    void this.#untilLive()
      .then(() => {
        this.#log.info({}, 'bus link recovered; checking the positions of connected sockets');
        this.#recovered();
      })
      .catch((error: unknown) => {
        this.#log.warn({ err: error }, 'bus recovery check failed; the periodic position check will catch up');
      })
      .finally(() => {
        this.#running = false;
        if (this.#again) {
          this.#again = false;
          this.request();
        }
      });
  }
}
