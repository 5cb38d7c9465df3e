/**
 * Request and connection ids on every log line (issue #16). The HTTP request (`reqId`) or the
 * WebSocket frame (`connectionId`, `userId`) being handled is kept in an AsyncLocalStorage for as
 * long as its work runs, and the logger's mixin (logger.ts) adds those ids to each line written
 * meanwhile, whichever module writes it: BroadcastingService's `broadcast done`, the chat service,
 * a provider's failure. Work that only starts from a request but belongs to no one (the push
 * worker's claims, batched statements) leaves the context (`outsideLogContext`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Ids of what is being handled, as they appear on log lines. */
export type LogBindings = Readonly<Record<string, string>>;

const context = new AsyncLocalStorage<LogBindings>();

/** Runs `work` (and everything it starts) with `bindings` on every log line. */
export function withLogContext<T>(bindings: LogBindings, work: () => T): T {
  return context.run(bindings, work);
}

/** Runs `work` with no request or connection ids: work shared by many requests. */
export function outsideLogContext<T>(work: () => T): T {
  return context.exit(work);
}

/**
 * pino's `mixin`: the current ids, in a new object each time (pino merges the line's own fields
 * into what the mixin returns, and those win: a line that names its own `connectionId` keeps it).
 */
export function logContextMixin(): Record<string, string> {
  const bindings = context.getStore();
  return bindings === undefined ? {} : { ...bindings };
}
