/**
 * What one round of `positions` frames costs an instance holding 10,000 users (issue #20): the
 * stream heads of every user read with `store.events.headsOf` in batches of 500 (as
 * resume/stream-positions.ts does), and one frame encoded per user. This is the work of a
 * recovery announce (all users at once) and of one periodic round (spread over
 * WS_POSITIONS_INTERVAL); docs/delivery.md, "Trailing gaps", derives the default period from it.
 *
 *   node --conditions=@anmei/source --import tsx bench/src/tools/positions-cost.ts [customers=10000] [consultants=100] [rounds=3]
 *
 * Data: `customers` customers with one conversation each, shared out over `consultants`
 * consultants (so a consultant is in customers ÷ consultants conversations), on the machine's
 * Postgres (a fresh schema, dropped at the end) and on PGlite in memory (the embedded default).
 */
import { openDatabase } from '../../../apps/api/src/db/open-database.ts';
import type { Store } from '../../../apps/api/src/db/store-types.ts';
import { positionsFrame } from '../../../apps/api/src/resume/stream-positions.ts';
import { openBenchDatabase } from '../harness/database.ts';

const customers = Number(process.argv[2] ?? 10_000);
const consultants = Number(process.argv[3] ?? 100);
const rounds = Number(process.argv[4] ?? 3);
const BATCH = 500;

async function seed(store: Store): Promise<string[]> {
  const staff: string[] = [];
  for (let i = 0; i < consultants; i++) {
    const u = await store.users.create({
      username: `pc_${i}`,
      displayName: `顾问${i}`,
      role: 'consultant',
      passwordHash: 'x',
    });
    staff.push(u.id);
  }
  const ids = [...staff];
  // 50 at a time: fast enough, and within the pool.
  for (let start = 0; start < customers; start += 50) {
    const made = await Promise.all(
      Array.from({ length: Math.min(50, customers - start) }, async (_, k) => {
        const i = start + k;
        const u = await store.users.create({
          username: `pu_${i}`,
          displayName: `客户${i}`,
          role: 'customer',
          passwordHash: 'x',
        });
        await store.conversations.create({
          title: `咨询 ${i}`,
          createdBy: u.id,
          participants: [
            { userId: u.id, role: 'customer' },
            { userId: staff[i % consultants] as string, role: 'consultant' },
          ],
        });
        return u.id;
      }),
    );
    ids.push(...made);
  }
  return ids;
}

/** One round: heads of every user in batches, one encoded frame per user; ms and bytes. */
async function round(store: Store, users: readonly string[]): Promise<{ ms: number; bytes: number; frames: number }> {
  const started = performance.now();
  let bytes = 0;
  let frames = 0;
  for (let start = 0; start < users.length; start += BATCH) {
    const heads = await store.events.headsOf(users.slice(start, start + BATCH));
    for (const user of heads.users.values()) {
      const text = positionsFrame('periodic', user, heads.globalSeq);
      bytes += Buffer.byteLength(text);
      frames++;
    }
  }
  return { ms: performance.now() - started, bytes, frames };
}

async function measure(kind: string, open: () => Promise<{ store: Store; close(): Promise<void> }>): Promise<void> {
  const db = await open();
  try {
    const seedStart = performance.now();
    const users = await seed(db.store);
    const seeded = Math.round(performance.now() - seedStart);
    const results = [];
    for (let r = 0; r < rounds; r++) results.push(await round(db.store, users));
    const sorted = [...results].sort((a, b) => a.ms - b.ms);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const cpu = process.cpuUsage();
    console.log(
      JSON.stringify({
        database: kind,
        users: users.length,
        seededInMs: seeded,
        roundMs: results.map((x) => Math.round(x.ms)),
        medianRoundMs: Math.round(median.ms),
        perUserMs: +(median.ms / users.length).toFixed(4),
        frames: median.frames,
        bytesPerRound: median.bytes,
        processCpuMsSoFar: Math.round((cpu.user + cpu.system) / 1000),
      }),
    );
  } finally {
    await db.close();
  }
}

const pg = await openBenchDatabase();
if (pg.kind === 'postgres') {
  try {
    await measure('postgres', () => openDatabase({ databaseUrl: pg.url!, schema: pg.schema! }));
  } finally {
    await pg.drop();
  }
} else {
  console.log(JSON.stringify({ database: 'postgres', skipped: 'not reachable at BENCH_DATABASE_URL' }));
}
await measure('pglite', () => openDatabase({}));
