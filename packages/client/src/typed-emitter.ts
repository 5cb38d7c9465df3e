/**
 * A typed event emitter whose listeners cannot hurt each other: a listener that throws (or
 * returns a promise that rejects) is reported through `onListenerError`, and every other
 * listener still runs. The client's lifecycle events and the per-action handler registry
 * are both built on it.
 */

/** Listeners may be async; a rejected promise is reported like a throw. */
export type Listener<P> = (payload: P) => void | Promise<void>;

export class TypedEmitter<M extends Record<keyof M, unknown>> {
  readonly #listeners = new Map<keyof M, Set<Listener<never>>>();
  readonly #onListenerError: (error: unknown, event: keyof M) => void;

  /** `onListenerError` must not throw; if it does, the error goes to `console.error`. */
  constructor(onListenerError: (error: unknown, event: keyof M) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Returns an idempotent unsubscribe function. */
  on<K extends keyof M>(event: K, listener: Listener<M[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    // Wrapped so that registering the same function twice gives two independent subscriptions.
    const entry: Listener<M[K]> = (payload) => listener(payload);
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.#listeners.get(event) === set) this.#listeners.delete(event);
    };
  }

  /** Calls the listeners registered when emit starts, in registration order. */
  emit<K extends keyof M>(event: K, payload: M[K]): void {
    const set = this.#listeners.get(event) as Set<Listener<M[K]>> | undefined;
    if (!set) return;
    for (const listener of [...set]) {
      try {
        const result = listener(payload);
        if (result instanceof Promise) result.catch((error: unknown) => this.#report(error, event));
      } catch (error) {
        this.#report(error, event);
      }
    }
  }

  listenerCount(event?: keyof M): number {
    if (event !== undefined) return this.#listeners.get(event)?.size ?? 0;
    let total = 0;
    for (const set of this.#listeners.values()) total += set.size;
    return total;
  }

  clear(): void {
    this.#listeners.clear();
  }

  #report(error: unknown, event: keyof M): void {
    try {
      this.#onListenerError(error, event);
    } catch (secondary) {
      console.error('@anmei/client: the error reporter itself threw', secondary, 'while reporting', error);
    }
  }
}
