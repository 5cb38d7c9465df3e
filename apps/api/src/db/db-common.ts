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

/** Thrown by `users.create` when the username is already taken (unique constraint). */
export class UsernameTakenError extends Error {
  readonly code = 'USERNAME_TAKEN';
  constructor(readonly username: string) {
    super(`username "${username}" is already taken`);
    this.name = 'UsernameTakenError';
  }
}
