/**
 * Handlers typed by server action (seed: handlers/index.ts): `on('new_message', h)` gives `h`
 * exactly the UI model of a `new_message` frame, and returns an unsubscribe function. Every
 * frame reaches every handler of its action, in arrival order — a burst is never collapsed to
 * "the last message". A handler that throws is isolated and reported (the seed's page-level
 * error isolation); the other handlers, and the other pages' handlers, keep working.
 */
import { type Listener, type ServerAction, TypedEmitter } from '@anmei/protocol';
import type { UiFrame, UiFrameOf } from './message-adapter.ts';

/** Action -> the frame its handlers receive; `*` receives every frame. */
export type HandlerMap = { [A in ServerAction]: UiFrameOf<A> } & { '*': UiFrame };
export type HandlerKey = keyof HandlerMap;
export type Handler<K extends HandlerKey> = Listener<HandlerMap[K]>;

export class HandlerRegistry {
  readonly #emitter: TypedEmitter<HandlerMap>;

  /** `onHandlerError(error, action)` is called for each handler that throws or rejects. */
  constructor(onHandlerError: (error: unknown, action: HandlerKey) => void) {
    this.#emitter = new TypedEmitter<HandlerMap>({
      onListenerError: onHandlerError,
      onReporterError: reportedTwice,
    });
  }

  on<K extends HandlerKey>(action: K, handler: Handler<K>): () => void {
    return this.#emitter.on(action, handler);
  }

  /** Runs the handlers of `frame.action`, then the `*` handlers. */
  dispatch(frame: UiFrame): void {
    this.#emitter.emit(frame.action, frame as HandlerMap[typeof frame.action]);
    this.#emitter.emit('*', frame);
  }

  count(action?: HandlerKey): number {
    return this.#emitter.listenerCount(action);
  }

  clear(): void {
    this.#emitter.removeAll();
  }
}

/** The client's reporter failed too: the console, never a throw into the socket's message handler. */
export function reportedTwice(reporterError: unknown, listenerError: unknown): void {
  console.error('@anmei/client: the error reporter itself threw', reporterError, 'while reporting', listenerError);
}
