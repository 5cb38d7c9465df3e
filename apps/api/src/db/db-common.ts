/** Pieces shared by the repositories: the driver-neutral drizzle handle and Postgres error helpers. */
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';

/**
 * Both `drizzle-orm/pglite` and `drizzle-orm/node-postgres` databases (and their transactions)
 * extend this type, so every query is written once. Only the query builder is used, never
 * `execute()` result shapes, because those differ between the two drivers.
 */
export type Db = PgDatabase<PgQueryResultHKT, Record<string, never>>;

/** Postgres SQLSTATE for unique_violation. */
export const UNIQUE_VIOLATION = '23505';

/**
 * The SQLSTATE of a database error, or undefined. drizzle 0.45 wraps driver errors in
 * DrizzleQueryError (message "Failed query: ..."), so the code sits on `.cause`; walk the chain.
 */
export function pgErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Object; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * What node-postgres and pg-pool say when the server did not answer or the connection broke
 * (exact texts of pg 8 / pg-pool 3): a client-side `query_timeout`, a pool that could not hand out
 * a connection within `connectionTimeoutMillis`, a connect that timed out, a connection lost or
 * given up on (also the ROLLBACK drizzle sends on a connection that was given up on).
 */
const UNAVAILABLE_MESSAGES: ReadonlySet<string> = new Set([
  'Query read timeout',
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
  'timeout expired',
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
]);

/** Network errors of the socket to the server (Node's `code`). */
const UNAVAILABLE_ERRNO: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs that mean "not now" rather than "this request is wrong": query_canceled (what
 * `statement_timeout` raises), lock_not_available, idle_in_transaction_session_timeout, too many
 * connections, the server shutting down or starting, and class 08 (connection exceptions).
 */
const UNAVAILABLE_SQLSTATES: ReadonlySet<string> = new Set([
  '57014',
  '55P03',
  '25P03',
  '53300',
  '57P01',
  '57P02',
  '57P03',
]);

/**
 * True when `err` (or a cause of it, as drizzle wraps driver errors) says the database did not
 * answer in time or could not be reached: the request may succeed later, so it is answered
 * DATABASE_UNAVAILABLE ("try later"), not INTERNAL. PGlite runs in-process and raises none of these.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Object; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.has(message)) return true;
    if (typeof code === 'string' && (UNAVAILABLE_ERRNO.has(code) || UNAVAILABLE_SQLSTATES.has(code))) return true;
    if (typeof code === 'string' && /^08[0-9A-Z]{3}$/.test(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Thrown by `users.create` when the username is already taken (unique constraint). */
export class UsernameTakenError extends Error {
  readonly code = 'USERNAME_TAKEN';
  constructor(readonly username: string) {
    super(`username "${username}" is already taken`);
    this.name = 'UsernameTakenError';
  }
}
