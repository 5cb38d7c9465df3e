/**
 * Opens the database the API runs on: embedded PGlite by default, or Postgres when a URL is
 * given. Either way the bundled migrations (apps/api/drizzle) are applied before returning.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { createStore } from './store.ts';
import type { Store } from './store-types.ts';

export interface OpenDatabaseOptions {
  /** postgres://user:pass@host:port/db — selects node-postgres. Absent → PGlite. */
  databaseUrl?: string;
  /** PGlite data directory (created if missing). Absent or 'memory://' → in-memory, lost on close. */
  dataDir?: string;
  /** Postgres only: schema holding the tables AND drizzle's migration journal; created if missing. */
  schema?: string;
  /** Postgres only: most connections this process keeps open (default 10, DATABASE_POOL_MAX). */
  poolMax?: number;
  logger?: {
    info(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
    error(obj: object, msg?: string): void;
  };
}

export interface OpenedDatabase {
  kind: 'pglite' | 'postgres';
  store: Store;
  close(): Promise<void>;
}

/** Resolved from this file, not process.cwd(), so it works from any working directory. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle/', import.meta.url));

/** Name of drizzle's journal table (its default), in schema `drizzle` or in the chosen schema. */
export const MIGRATIONS_TABLE = '__drizzle_migrations';

/** Pool size per process (connections) when `poolMax` is not given. */
export const DEFAULT_POOL_MAX = 10;

/**
 * Pinned for every pooled connection because `messages.append` is one autocommit statement that
 * relies on READ COMMITTED: a concurrent append to the same conversation makes it wait for the
 * row lock and re-read the row, where REPEATABLE READ or SERIALIZABLE (if a server or role
 * defaulted to them) would fail it with a serialization error. The backslash escapes the space
 * in the startup `options` string.
 */
const SESSION_OPTIONS = String.raw`-c default_transaction_isolation=read\ committed`;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<OpenedDatabase> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openPglite(options);
}

async function openPglite({ dataDir, schema, logger }: OpenDatabaseOptions): Promise<OpenedDatabase> {
  if (schema !== undefined) throw new Error('openDatabase: `schema` is only supported with a databaseUrl (Postgres)');
  const inMemory = dataDir === undefined || dataDir === 'memory://';
  const location = inMemory ? 'memory://' : resolve(dataDir);
  if (!inMemory) await mkdir(location, { recursive: true });
  const client = await PGlite.create(location);
  try {
    const db = drizzlePglite({ client });
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    logger?.info({ kind: 'pglite', dataDir: location }, 'database opened');
    const store = createStore(db, () => client.close());
    return { kind: 'pglite', store, close: () => store.close() };
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
}

/** "host:port/db as user" — everything useful for diagnosis, never the password. */
export function describeDatabaseUrl(databaseUrl: string): string {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return '<unparseable database URL>';
  }
  const db = decodeURIComponent(url.pathname.replace(/^\//, '')) || '<default db>';
  const user = url.username ? ` as ${decodeURIComponent(url.username)}` : '';
  // An empty hostname means a Unix socket, given as ?host=/path or libpq's default.
  const host = url.hostname || url.searchParams.get('host') || 'localhost';
  return `${host}:${url.port || '5432'}/${db}${user}`;
}

async function openPostgres(
  databaseUrl: string,
  { schema, poolMax = DEFAULT_POOL_MAX, logger }: OpenDatabaseOptions,
): Promise<OpenedDatabase> {
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(
      `openDatabase: invalid schema name ${JSON.stringify(schema)}; expected lowercase letters, digits and _ ` +
        '(not starting with a digit), at most 63 characters',
    );
  }
  const where = describeDatabaseUrl(databaseUrl);
  try {
    new URL(databaseUrl);
  } catch {
    throw new Error('openDatabase: databaseUrl is not a valid URL (expected postgres://user:pass@host:port/db)');
  }

  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolMax,
    // Applied by the server at connection start, so every pooled connection sees only this schema
    // (system catalogs such as pg_catalog are always searched implicitly). Options given in the
    // URL (?options=…) replace these, as pg lets the connection string win.
    options: schema ? `-c search_path=${schema} ${SESSION_OPTIONS}` : SESSION_OPTIONS,
  });
  // Without a listener an idle client's network error would crash the process; the next query
  // on a fresh connection reports the problem instead.
  pool.on('error', (err) => logger?.error({ err: err.message, database: where }, 'postgres idle client error'));
  // The pool's listener covers idle clients only: it is taken off a client while it is checked
  // out (a transaction), and a connection lost then (a Postgres restart, failover, a terminated
  // backend) is an 'error' event on the client itself, which without this would end the process.
  // The running query rejects on its own, so this only has to log.
  pool.on('connect', (client) => {
    client.on('error', (err) =>
      logger?.warn({ err: err.message, database: where }, 'postgres connection lost while in use'),
    );
  });

  try {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      // pg's messages name the user at most, never the password; `where` omits it too.
      throw new Error(`openDatabase: cannot connect to Postgres at ${where}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    try {
      // One connection holds an advisory lock so instances starting together migrate one at a time.
      const lockKey = `anmei:migrate:${schema ?? 'public'}`;
      await client.query('select pg_advisory_lock(hashtext($1))', [lockKey]);
      try {
        if (schema) await client.query(`create schema if not exists "${schema}"`);
        await migratePg(drizzlePg({ client }), {
          migrationsFolder: MIGRATIONS_FOLDER,
          // Keeps the journal next to the tables, so a test schema never touches the `drizzle` schema.
          ...(schema ? { migrationsSchema: schema } : {}),
        });
      } finally {
        await client.query('select pg_advisory_unlock(hashtext($1))', [lockKey]);
      }
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }

  logger?.info({ kind: 'postgres', database: where, schema: schema ?? null }, 'database opened');
  const store = createStore(drizzlePg({ client: pool }), () => pool.end());
  return { kind: 'postgres', store, close: () => store.close() };
}
