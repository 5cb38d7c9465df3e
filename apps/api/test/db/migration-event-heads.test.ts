/**
 * Migration 0006 (conversation_event_heads) on a database that already has events: every
 * conversation's event stream continues where it was. The schema is first migrated up to 0005
 * with drizzle's own migrator and filled the way the code of that time stored events, then
 * opened as the server opens it. Real Postgres, a throwaway schema.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, MIGRATIONS_TABLE, openDatabase } from '../../src/db/open-database.ts';

const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `test_${randomBytes(6).toString('hex')}`;
const folders: string[] = [];

afterAll(async () => {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`drop schema if exists "${schema}" cascade`);
  await admin.end();
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

/** A copy of the migrations folder holding only the migrations before `tag`. */
async function migrationsBefore(tag: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'anmei-migrations-'));
  folders.push(folder);
  const journal = JSON.parse(await readFile(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as {
    entries: Array<{ tag: string }>;
  };
  const cut = journal.entries.findIndex((e) => e.tag === tag);
  expect(cut).toBeGreaterThan(0);
  const kept = journal.entries.slice(0, cut);
  await mkdir(join(folder, 'meta'));
  await writeFile(join(folder, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: kept }));
  const files = await readdir(MIGRATIONS_FOLDER);
  for (const { tag: keptTag } of kept) {
    const file = files.find((f) => f === `${keptTag}.sql`);
    if (!file) throw new Error(`no ${keptTag}.sql`);
    await cp(join(MIGRATIONS_FOLDER, file), join(folder, file));
  }
  return folder;
}

it('carries every conversation’s event head into conversation_event_heads, and the next event follows it', async () => {
  const client = new pg.Client({ connectionString: databaseUrl, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    await client.query(`create schema "${schema}"`);
    await migrate(drizzle({ client }), {
      migrationsFolder: await migrationsBefore('0006_event_heads'),
      migrationsTable: MIGRATIONS_TABLE,
      migrationsSchema: schema,
    });
    await client.query(
      `insert into users (id, username, display_name, role, password_hash) values ('u1', 'old_user', 'Old', 'customer', 'h')`,
    );
    await client.query(
      `insert into conversations (id, title, created_by, last_event_seq) values ('busy', 'Busy', 'u1', 3), ('quiet', 'Quiet', 'u1', 0)`,
    );
    await client.query(
      `insert into conversation_events (id, conversation_id, event_seq, kind, payload) values
         ('e1', 'busy', 1, 'read_status', '{}'), ('e2', 'busy', 2, 'read_status', '{}'), ('e3', 'busy', 3, 'read_status', '{}')`,
    );
  } finally {
    await client.end();
  }

  const opened = await openDatabase({ databaseUrl, schema });
  try {
    expect((await opened.store.conversations.findById('busy'))?.lastEventSeq).toBe(3);
    expect((await opened.store.conversations.findById('quiet'))?.lastEventSeq).toBe(0);
    const notice = { kind: 'system_notification', payload: () => ({}) };
    expect((await opened.store.events.appendToConversation('busy', notice)).position).toBe(4);
    expect((await opened.store.events.appendToConversation('quiet', notice)).position).toBe(1);
    expect((await opened.store.conversations.findById('busy'))?.lastEventSeq).toBe(4);
  } finally {
    await opened.close();
  }
});
