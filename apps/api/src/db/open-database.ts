/**
 * Opens the database the API runs on: embedded PGlite by default, or Postgres when a URL is
 * given. Either way the bundled migrations (apps/api/drizzle) are applied before returning.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { createStore, type StoreOptions } from './store.ts';
import type { Store } from './store-types.ts';

/** Also the store's options (StoreOptions: `onAppendBatch` for metrics, `batchWindowMs`, default 0). */
export interface OpenDatabaseOptions extends StoreOptions {
  /** postgres://user:pass@host:port/db — selects node-postgres. Absent → PGlite. */
  databaseUrl?: string;
  /** PGlite data directory (created if missing). Absent or 'memory://' → in-memory, lost on close. */
  dataDir?: string;
  /** Postgres only: schema holding the tables AND drizzle's migration journal; created if missing. */
  schema?: string;
  /** Postgres only: most connections this process keeps open (default 10, DATABASE_POOL_MAX). */
  poolMax?: number;
  /**
   * Postgres only, ms: the most a new connection may take to be ready, and the most a query
   * waits for a free pooled connection (default 5000, DATABASE_CONNECT_TIMEOUT).
   */
  connectTimeoutMs?: number;
  /**
   * Postgres only, ms: the server cancels a statement running longer (`statement_timeout`) and
   * ends a session idle inside a transaction for longer; the client gives up on an answer
   * QUERY_TIMEOUT_GRACE_MS later and discards the connection (default 5000, DATABASE_STATEMENT_TIMEOUT).
   */
  statementTimeoutMs?: number;
  logger?: {
    info(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
    error(obj: object, msg?: string): void;
  };
}

export interface OpenedDatabase {
  kind: 'pglite' | 'postgres';
  store: Store;
  /** The Postgres pool now (connections open, idle, and queries waiting for one); null on PGlite, which has no pool. */
  pool(): { total: number; idle: number; waiting: number } | null;
  /**
   * Whether the database's migration journal has the newest migration this build ships
   * (LATEST_MIGRATION_MS). One statement, so it also proves the database answers; rejects when it
   * does not (the caller bounds the wait: /ready).
   */
  migrationsApplied(): Promise<boolean>;
  close(): Promise<void>;
}

/** Resolved from this file, not process.cwd(), so it works from any working directory. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle/', import.meta.url));

/** Name of drizzle's journal table (its default), in schema `drizzle` or in the chosen schema. */
export const MIGRATIONS_TABLE = '__drizzle_migrations';

/**
 * `when` (ms) of the newest migration in the bundled journal: drizzle stores it as `created_at`
 * of the journal row it writes after applying that migration.
 */
export const LATEST_MIGRATION_MS: number = Math.max(
  ...(
    JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
      entries: Array<{ when: number }>;
    }
  ).entries.map((e) => e.when),
);

/** `select` of the newest applied migration from the journal in `schema`. */
function latestMigrationQuery(schema: string): string {
  return `select max(created_at) as at from "${schema}"."${MIGRATIONS_TABLE}"`;
}

/** Pool size per process (connections) when `poolMax` is not given. */
export const DEFAULT_POOL_MAX = 10;

/** ms, when `connectTimeoutMs` is not given. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** ms, when `statementTimeoutMs` is not given. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5_000;

/**
 * ms the client waits for an answer beyond `statement_timeout` (pg's `query_timeout`): while the
 * network works, the server's own cancel (SQLSTATE 57014) arrives first and leaves the connection
 * clean; only when nothing comes back (a frozen network, a hung server) does the client give up.
 */
export const QUERY_TIMEOUT_GRACE_MS = 1_000;

/** ms of silence before the OS probes an open connection (TCP keepalive), so a vanished server is noticed while idle. */
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/** pg's error for a query that got no answer within `query_timeout`. */
const QUERY_READ_TIMEOUT = 'Query read timeout';

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

async function openPglite(settings: OpenDatabaseOptions): Promise<OpenedDatabase> {
  const { dataDir, schema, logger } = settings;
  if (schema !== undefined) throw new Error('openDatabase: `schema` is only supported with a databaseUrl (Postgres)');
  const inMemory = dataDir === undefined || dataDir === 'memory://';
  const location = inMemory ? 'memory://' : resolve(dataDir);
  if (!inMemory) await mkdir(location, { recursive: true });
  const client = await PGlite.create(location);
  try {
    const db = drizzlePglite({ client });
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    logger?.info({ kind: 'pglite', dataDir: location }, 'database opened');
    const store = createStore(db, () => client.close(), settings);
    return {
      kind: 'pglite',
      store,
      pool: () => null,
      migrationsApplied: async () => {
        const result = await client.query<{ at: unknown }>(latestMigrationQuery('drizzle'));
        return Number(result.rows[0]?.at ?? 0) >= LATEST_MIGRATION_MS;
      },
      close: () => store.close(),
    };
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

async function openPostgres(databaseUrl: string, settings: OpenDatabaseOptions): Promise<OpenedDatabase> {
  const {
    schema,
    poolMax = DEFAULT_POOL_MAX,
    connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS,
    statementTimeoutMs = DEFAULT_STATEMENT_TIMEOUT_MS,
    logger,
  } = settings;
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

  // Applied by the server at connection start, so every pooled connection sees only this schema
  // (system catalogs such as pg_catalog are always searched implicitly). Options given in the
  // URL (?options=…) replace these, as pg lets the connection string win.
  const options = schema ? `-c search_path=${schema} ${SESSION_OPTIONS}` : SESSION_OPTIONS;
  // A database that stops answering (packets dropped, not refused) must not hold a request
  // forever (issue #15, docs/operations.md "Database stalls"): connecting and waiting for a pooled
  // connection end after connectTimeoutMs, a statement after statementTimeoutMs on the server,
  // and waiting for its answer QUERY_TIMEOUT_GRACE_MS later on the client.
  const connection = {
    connectionString: databaseUrl,
    options,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
  } satisfies pg.ClientConfig;
  const pool = new pg.Pool({
    ...connection,
    max: poolMax,
    statement_timeout: statementTimeoutMs,
    // A session whose client vanished inside a transaction would keep its row locks (a
    // conversation's, blocking every append to it) until the server's keepalive notices.
    idle_in_transaction_session_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + QUERY_TIMEOUT_GRACE_MS,
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
    discardOnReadTimeout(client, () =>
      logger?.warn({ database: where }, 'postgres connection discarded: a query got no answer in time'),
    );
  });
  releaseEndedClients(pool);

  try {
    // Its own connection, without the statement timeouts: an index build may run longer, and an
    // instance starting while another migrates waits for the lock. Only connecting is bounded.
    const client = new pg.Client(connection);
    client.on('error', (err) =>
      logger?.warn({ err: err.message, database: where }, 'postgres connection lost while in use'),
    );
    try {
      await client.connect();
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
      await client.end().catch(() => {});
    }
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }

  logger?.info({ kind: 'postgres', database: where, schema: schema ?? null }, 'database opened');
  const store = createStore(drizzlePg({ client: pool }), () => pool.end(), settings);
  return {
    kind: 'postgres',
    store,
    pool: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    migrationsApplied: async () => {
      const result = await pool.query<{ at: unknown }>(latestMigrationQuery(schema ?? 'drizzle'));
      return Number(result.rows[0]?.at ?? 0) >= LATEST_MIGRATION_MS;
    },
    close: () => store.close(),
  };
}

/**
 * pg answers a query that got nothing back within `query_timeout` with "Query read timeout" but
 * keeps its connection, which is then in an unknown state: the statement is still on the wire,
 * may yet run and answer, and everything sent next waits behind it. A pool query gives such a
 * connection back with the error and pg-pool discards it, but a transaction's client is given
 * back by drizzle without one and would be reused. So the first read timeout ends the
 * connection at once: `_ending` is set (the pool drops the client when it comes back), the socket
 * is destroyed, and statements queued on it (drizzle's ROLLBACK) fail at once instead of waiting
 * out their own timeout. `releaseEndedClients` frees its pool slot.
 */
function discardOnReadTimeout(client: pg.PoolClient, onDiscard: () => void): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  let discarded = false;
  const check = (err: unknown) => {
    if (discarded || !(err instanceof Error) || err.message !== QUERY_READ_TIMEOUT) return;
    discarded = true;
    onDiscard();
    client.end().catch(() => {});
    client.connection.stream.destroy();
  };
  // Both of pg's forms: a callback as the last argument (pg-pool's own pool.query), or a promise.
  client.query = ((...args: unknown[]) => {
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, result: unknown) => {
        if (err) check(err);
        return (last as (err: unknown, result: unknown) => unknown)(err, result);
      };
      return query(...args);
    }
    const result = query(...args);
    // Registered before the caller's own handlers, so the connection is gone before they run.
    if (result instanceof Promise) result.then(undefined, check);
    return result;
  }) as typeof client.query;
}

/**
 * A checked-out client whose connection ended (lost, or discarded above) is given back to the
 * pool with an error as soon as it ends, which frees its slot; a later `release()` by its holder
 * does nothing. Without this the slot could be lost for good: drizzle 0.45 runs BEGIN before its
 * try/finally, so a transaction whose BEGIN fails never releases its client, and after
 * DATABASE_POOL_MAX such failures (a stall, a failover) every query would wait for a connection
 * until the process restarts.
 */
function releaseEndedClients(pool: pg.Pool): void {
  const checkedOut = new WeakSet<pg.PoolClient>();
  pool.on('acquire', (client) => {
    checkedOut.add(client);
  });
  pool.on('release', (_err, client) => {
    checkedOut.delete(client);
  });
  pool.on('connect', (client) => {
    client.on('end', () => {
      if (!checkedOut.has(client)) return;
      const release = client.release;
      client.release = () => {};
      release(new Error('the connection ended while checked out'));
    });
  });
}
