/**
 * Runs the Store contract against a real Postgres (default postgres://postgres@127.0.0.1:5432/test,
 * override with TEST_DATABASE_URL) inside a throwaway schema, so `public`/`drizzle` stay untouched.
 * Deliberately fails, never skips, when Postgres is unreachable.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDatabaseUrl, MIGRATIONS_TABLE, openDatabase } from '../../src/db/open-database.ts';
import { migrationCount } from './fixtures.ts';
import { describeStoreContract } from './store-contract.ts';

const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `test_${randomBytes(6).toString('hex')}`;

function openTestDatabase() {
  return openDatabase({ databaseUrl, schema }).catch((err: Error) => {
    throw new Error(
      `These tests need a reachable Postgres (${describeDatabaseUrl(databaseUrl)}) where the role may create ` +
        `schemas; start Postgres or set TEST_DATABASE_URL. ${err.message}`,
      { cause: err },
    );
  });
}

/** A plain client for assertions and teardown, outside the code under test. */
let admin: pg.Client | undefined;
beforeAll(async () => {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect().catch((err: Error) => {
    throw new Error(
      `Postgres is required at ${describeDatabaseUrl(databaseUrl)} (or set TEST_DATABASE_URL): ${err.message}`,
    );
  });
  admin = client;
});
afterAll(async () => {
  await admin?.query(`drop schema if exists "${schema}" cascade`);
  await admin?.end();
});

describeStoreContract(`Postgres (schema ${schema})`, openTestDatabase);

describe('Postgres opening', () => {
  it('keeps the tables and the migration journal inside the chosen schema', async () => {
    const opened = await openTestDatabase();
    await opened.close();
    const { rows } = await admin!.query<{ table_name: string }>(
      'select table_name from information_schema.tables where table_schema = $1',
      [schema],
    );
    expect(rows.map((r) => r.table_name).sort()).toEqual([
      MIGRATIONS_TABLE,
      'attachments',
      'conversation_event_heads',
      'conversation_events',
      'conversations',
      'global_events',
      'messages',
      'participants',
      'push_devices',
      'push_jobs',
      'user_events',
      'users',
    ]);
  });

  it('applies no migration twice when the same schema is opened again, and keeps its data', async () => {
    const first = await openTestDatabase();
    const user = await first.store.users.create({
      username: 'again',
      displayName: 'A',
      role: 'doctor',
      passwordHash: 'h',
    });
    await first.close();
    const second = await openTestDatabase();
    expect(second.kind).toBe('postgres');
    expect(await second.store.users.findByUsername('again')).toEqual(user);
    await second.close();
    const { rows } = await admin!.query(`select hash from "${schema}".${MIGRATIONS_TABLE}`);
    expect(rows).toHaveLength(await migrationCount());
  });

  it('rejects an invalid schema name before connecting', async () => {
    await expect(openDatabase({ databaseUrl, schema: 'Robert"; drop table x' })).rejects.toThrow(/invalid schema name/);
  });

  it('names host and database but never the password when it cannot connect', async () => {
    const failure = openDatabase({ databaseUrl: 'postgres://someone:s3cret-pw@127.0.0.1:1/nowhere' });
    await expect(failure).rejects.toThrow(/cannot connect to Postgres at 127\.0\.0\.1:1\/nowhere as someone/);
    await expect(failure).rejects.not.toThrow(/s3cret-pw/);
  });
});
