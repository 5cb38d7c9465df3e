/** A fresh Postgres schema per test run on the machine's database, dropped afterwards. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { eventually } from './wait.ts';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  schema: string;
  url: string;
  /** A connected client of its own on this schema (search_path set), outside the code under test. */
  connect(): Promise<pg.Client>;
  drop(): Promise<void>;
}

export async function createTestSchema(): Promise<TestSchema> {
  const schema = `test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `Postgres is required at ${new URL(TEST_DATABASE_URL).host} (set TEST_DATABASE_URL): ${(error as Error).message}`,
    );
  }
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  return {
    schema,
    url: TEST_DATABASE_URL,
    async connect() {
      const own = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}` });
      await own.connect();
      return own;
    },
    async drop() {
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

/** Resolves once exactly one other backend waits for a lock that `holder`'s transaction holds. */
export async function waitUntilOneBlockedBy(holder: pg.Client, what: string): Promise<void> {
  const holderPid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  await eventually(
    async () =>
      (
        await holder.query<{ n: number }>(
          'select count(*)::int as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))',
          [holderPid],
        )
      ).rows[0]!.n,
    (n) => n === 1,
    what,
  );
}
