/**
 * Where "ours" keeps its users, conversations and messages: a fresh schema on the machine's
 * Postgres (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test), dropped at
 * the end; PGlite in memory when Postgres cannot be reached (reported in the output).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface BenchDatabase {
  kind: 'postgres' | 'pglite';
  url?: string;
  schema?: string;
  drop(): Promise<void>;
}

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

export async function openBenchDatabase(): Promise<BenchDatabase> {
  const url = process.env.BENCH_DATABASE_URL ?? DEFAULT_URL;
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
  } catch (error) {
    await client.end().catch(() => undefined);
    if (process.env.BENCH_DATABASE_URL) throw error;
    return { kind: 'pglite', drop: async () => undefined };
  }
  await client.end();
  return {
    kind: 'postgres',
    url,
    schema,
    async drop() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}
