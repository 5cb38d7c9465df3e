/**
 * In-process typed events (the seed's core/events.py): lets observability, stats and
 * notifications react to what the gateway and broadcasting do without those modules
 * importing each other. Event names and payloads come from one map, so a misspelt event or
 * a wrong payload is a type error, not a silent no-op.
 */
import type { MessageRow } from './db/store-types.ts';
import type { ConnectionInfo } from './realtime/types.ts';

export interface AppEventMap {
  'connection.opened': { connection: ConnectionInfo };
  /** `code` is the WebSocket close code, `reason` its close reason text. */
  'connection.closed': { connection: ConnectionInfo; code: number; reason: string };
  /** Fired on a user's first connection (`online: true`) and after their last one closes. */
  'presence.changed': { userId: string; online: boolean };
  'message.created': { message: MessageRow };
  /** `recipients` = users targeted; `durationMs` = wall time of the broadcast in milliseconds. */
  'broadcast.completed': { kind: string; recipients: number; durationMs: number };
  /** A broadcast failed (logged as `broadcast failed`); the caller got `{ok: false}`. */
  'broadcast.failed': { kind: string };
}

/**
 * Return values are ignored (`void` accepts any), except that an async listener's rejected
 * promise is reported like a throw. The emitter never awaits listeners: emit is
 * fire-and-forget so a slow listener cannot stall the hot path.
 */
export type Listener<P> = (payload: P) => void;

/** Event names of a map: only its string keys. */
export type EventName<M> = keyof M & string;

export interface TypedEventsOptions<M> {
  /**
   * Receives whatever a listener threw (or its promise rejected with). Required so that a
   * failing listener is always reported somewhere; typically `logger.error`.
   */
  onListenerError: (error: unknown, event: EventName<M>) => void;
}

interface Entry<P> {
  listener: Listener<P>;
  /** Cleared on unsubscribe so a snapshot taken by an ongoing emit skips it. */
  active: boolean;
}

/**
 * `M` is constrained by `Record<keyof M, unknown>` rather than `Record<string, unknown>`:
 * interfaces (like AppEventMap) have no implicit index signature and would not satisfy the latter.
 */
export class TypedEvents<M extends Record<keyof M, unknown>> {
  readonly #listeners = new Map<EventName<M>, Array<Entry<never>>>();
  readonly #onListenerError: (error: unknown, event: EventName<M>) => void;

  constructor(options: TypedEventsOptions<M>) {
    this.#onListenerError = options.onListenerError;
  }

  /** Returns an unsubscribe function (idempotent). Registering the same function twice calls it twice. */
  on<K extends EventName<M>>(event: K, listener: Listener<M[K]>): () => void {
    const entry: Entry<M[K]> = { listener, active: true };
    const entries = this.#entries(event);
    entries.push(entry);
    return () => {
      if (!entry.active) return;
      entry.active = false;
      const index = entries.indexOf(entry);
      if (index !== -1) entries.splice(index, 1);
    };
  }

  /** Like `on`, but the listener is removed before its first call (so a re-entrant emit cannot call it twice). */
  once<K extends EventName<M>>(event: K, listener: Listener<M[K]>): () => void {
    const unsubscribe = this.on(event, (payload) => {
      unsubscribe();
      return listener(payload);
    });
    return unsubscribe;
  }

  /**
   * Calls the listeners registered when emit starts, in registration order, synchronously.
   * Listeners added during the emit wait for the next one; listeners removed during it are
   * skipped. Never throws: listener failures go to `onListenerError`.
   */
  emit<K extends EventName<M>>(event: K, payload: M[K]): void {
    const entries = this.#listeners.get(event) as Array<Entry<M[K]>> | undefined;
    if (entries === undefined || entries.length === 0) return;
    for (const entry of [...entries]) {
      if (!entry.active) continue;
      try {
        const result: unknown = entry.listener(payload);
        if (result instanceof Promise) result.catch((error: unknown) => this.#report(error, event));
      } catch (error) {
        this.#report(error, event);
      }
    }
  }

  listenerCount(event: EventName<M>): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** Removes every listener of every event (shutdown). */
  removeAll(): void {
    for (const entries of this.#listeners.values()) {
      for (const entry of entries) entry.active = false;
    }
    this.#listeners.clear();
  }

  #entries<K extends EventName<M>>(event: K): Array<Entry<M[K]>> {
    let entries = this.#listeners.get(event) as Array<Entry<M[K]>> | undefined;
    if (entries === undefined) {
      entries = [];
      this.#listeners.set(event, entries as Array<Entry<never>>);
    }
    return entries;
  }

  #report(error: unknown, event: EventName<M>): void {
    try {
      this.#onListenerError(error, event);
    } catch (reporterError) {
      // The reporter itself failed: surface it outside the emitter's stack rather than
      // swallow it, so emit still never throws but the fault is not silent.
      queueMicrotask(() => {
        throw reporterError;
      });
    }
  }
}

export type AppEvents = TypedEvents<AppEventMap>;
