/**
 * The typed event emitter of the API's in-process events (apps/api/src/events.ts) and of the
 * client's lifecycle events and handler registry (@anmei/client): one implementation, so both
 * sides isolate failing listeners the same way. Dispatch is eventemitter3's (browsers and Node,
 * no `node:events`); this wrapper adds the event map's types and three guarantees it lacks:
 * - a listener that throws, or returns a promise that rejects, is reported through
 *   `onListenerError` and every other listener still runs; `emit` never throws;
 * - listeners added during an emit wait for the next one; listeners removed during it are skipped;
 * - registering the same function twice gives two independent subscriptions, each with its own
 *   unsubscribe function (idempotent).
 */
import { EventEmitter } from 'eventemitter3';

/**
 * Return values are ignored (`void` accepts any, async functions included), except that a
 * rejected promise is reported like a throw. Listeners are never awaited: a slow one cannot
 * stall the emitter (the API's hot path).
 */
export type Listener<P> = (payload: P) => void;

/** Event names of a map: only its string keys. */
export type EventName<M> = keyof M & string;

export interface TypedEmitterOptions<M> {
  /**
   * Receives whatever a listener threw (or its promise rejected with). Required so that a failing
   * listener is always reported somewhere (the API's logger, the client's console or error event).
   */
  onListenerError: (error: unknown, event: EventName<M>) => void;
  /**
   * Called when `onListenerError` itself throws. Default: rethrown from a microtask, outside the
   * emitter's stack, so `emit` still never throws but the fault is not silent (an uncaught error).
   */
  onReporterError?: (reporterError: unknown, listenerError: unknown, event: EventName<M>) => void;
}

/**
 * `M` is constrained by `Record<keyof M, unknown>` rather than `Record<string, unknown>`:
 * interfaces (like the API's AppEventMap) have no implicit index signature and would not satisfy the latter.
 */
export class TypedEmitter<M extends Record<keyof M, unknown>> {
  readonly #emitter = new EventEmitter();
  readonly #options: TypedEmitterOptions<M>;

  constructor(options: TypedEmitterOptions<M>) {
    this.#options = options;
  }

  /** Returns an unsubscribe function (idempotent). */
  on<K extends EventName<M>>(event: K, listener: Listener<M[K]>): () => void {
    return this.#add(event, listener, false);
  }

  /** Like `on`, but removed before its first call (so a re-entrant emit cannot call it twice). */
  once<K extends EventName<M>>(event: K, listener: Listener<M[K]>): () => void {
    return this.#add(event, listener, true);
  }

  /** Calls the listeners registered when emit starts, in registration order, synchronously. Never throws. */
  emit<K extends EventName<M>>(event: K, payload: M[K]): void {
    this.#emitter.emit(event, payload);
  }

  /** Listeners of `event`, or of every event when none is given. */
  listenerCount(event?: EventName<M>): number {
    if (event !== undefined) return this.#emitter.listenerCount(event);
    let total = 0;
    for (const name of this.#emitter.eventNames()) total += this.#emitter.listenerCount(name);
    return total;
  }

  /** Removes every listener of every event (shutdown, dispose). */
  removeAll(): void {
    this.#emitter.removeAllListeners();
  }

  #add<K extends EventName<M>>(event: K, listener: Listener<M[K]>, once: boolean): () => void {
    let active = true;
    const call = (payload: M[K]) => {
      // eventemitter3 calls the listeners it held when emit started, removed ones included.
      if (!active) return;
      if (once) unsubscribe();
      try {
        const result: unknown = listener(payload);
        if (result instanceof Promise) result.catch((error: unknown) => this.#report(error, event));
      } catch (error) {
        this.#report(error, event);
      }
    };
    const unsubscribe = () => {
      if (!active) return;
      active = false;
      this.#emitter.off(event, call);
    };
    this.#emitter.on(event, call);
    return unsubscribe;
  }

  #report(error: unknown, event: EventName<M>): void {
    try {
      this.#options.onListenerError(error, event);
    } catch (reporterError) {
      const onReporterError = this.#options.onReporterError;
      if (onReporterError) onReporterError(reporterError, error, event);
      else
        queueMicrotask(() => {
          throw reporterError;
        });
    }
  }
}
