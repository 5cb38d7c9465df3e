import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, openDatabase } from '../../src/db/open-database.ts';
import { migrationCount } from './fixtures.ts';
import { describeStoreContract } from './store-contract.ts';

describeStoreContract('PGlite (in-memory)', () => openDatabase({ dataDir: 'memory://' }));

describe('PGlite with a data directory', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('keeps data across close and reopen, creating the directory and migrating only once', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'anmei-pglite-')), 'nested', 'data');
    dirs.push(dir);

    const first = await openDatabase({ dataDir: dir });
    expect(first.kind).toBe('pglite');
    const user = await first.store.users.create({
      username: 'kept',
      displayName: 'K',
      role: 'admin',
      passwordHash: 'h',
    });
    await first.close();

    const second = await openDatabase({ dataDir: dir });
    expect(await second.store.users.findByUsername('kept')).toEqual(user);
    await second.close();

    // Inspect the journal directly: one row per migration file even after two opens.
    const raw = await PGlite.create(dir);
    try {
      const { rows } = await raw.query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations');
      expect(rows[0]!.n).toBe(await migrationCount());
    } finally {
      await raw.close();
    }
  });

  it('refuses a schema option, which only Postgres supports', async () => {
    await expect(openDatabase({ schema: 'x' })).rejects.toThrow(/only supported with a databaseUrl/);
  });
});

describe('migration files', () => {
  it('create tables unqualified so they land in the search_path schema', async () => {
    const files = (await readdir(MIGRATIONS_FOLDER)).filter((f) => f.endsWith('.sql'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const text = await readFile(join(MIGRATIONS_FOLDER, file), 'utf8');
      // drizzle-kit writes REFERENCES "public"."x"; strip it after every `npm run db:generate`.
      expect(text, file).not.toMatch(/"public"\.|"drizzle"\./);
    }
  });
});
