/**
 * What one stored message costs Postgres and the API process, by group-commit batch size: the
 * real `Store.messages.append` (message-append.ts) on a fresh schema of the machine's Postgres
 * (dropped at the end), `batch` appends issued in one event-loop turn (so they share one
 * statement) to conversations of 2–5 customers, as in scenario 7. CPU, not wall time: Postgres's
 * from /proc/<backend pid>/stat of every pooled connection (found by application_name), ours
 * from process.cpuUsage(). Both are CPU seconds, so other load on the machine changes them far
 * less than it changes timings. Also counts the statements Postgres ran (pg_stat_database's
 * xact_commit is database-wide, so the count comes from the pool's own query log instead).
 *
 *   node --conditions=@anmei/source --import tsx bench/src/tools/append-cost.ts [messages=6000] [batches=1,2,5,10]
 *
 * `paced <rate=2000> <seconds=4> <rounds=3> <busyBatch values=1,8>`: appends arrive one per
 * event-loop turn at `rate` per second (a pacer on setImmediate, so the API process's own CPU is
 * not meaningful here), through one appender per `busyBatch` value (AppendBatcherOptions; 1 is
 * the policy before it existed), each on its own pool, taking turns round by round. Prints
 * Postgres CPU per message, statements per message and the latency of an append.
 */
import { readFileSync } from 'node:fs';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Db } from '../../../apps/api/src/db/db-common.ts';
import { createMessageAppender } from '../../../apps/api/src/db/message-append.ts';
import { openDatabase } from '../../../apps/api/src/db/open-database.ts';
import { openBenchDatabase } from '../harness/database.ts';

// BENCH_DROP_MESSAGE_FKS=1: drop messages' two foreign keys in the scratch schema first, to
// measure what their checks (an RI trigger with a FOR KEY SHARE look-up per row, each) cost.
const dropFks = process.env.BENCH_DROP_MESSAGE_FKS === '1';
const paced = process.argv[2] === 'paced';
const args = paced ? process.argv.slice(3) : process.argv.slice(2);
const messages = paced ? 0 : Number(args[0] ?? 6000);
const batches = paced ? [] : (args[0 + 1] ?? '1,2,5,10').split(',').map(Number);
const APP = `anmei_append_cost_${process.pid}`;
const TICK_US = 1e6 / 100; // /proc/<pid>/stat counts in clock ticks (USER_HZ = 100)

const bench = await openBenchDatabase();
if (bench.kind !== 'postgres' || !bench.url || !bench.schema)
  throw new Error('append-cost needs Postgres (BENCH_DATABASE_URL)');
const url = `${bench.url}${bench.url.includes('?') ? '&' : '?'}application_name=${APP}`;
const db = await openDatabase({ databaseUrl: url, schema: bench.schema, poolMax: 10 });
const { store } = db;
const admin = new pg.Client({ connectionString: bench.url });
await admin.connect();
if (dropFks) {
  await admin.query(
    `alter table ${bench.schema}.messages drop constraint messages_conversation_id_conversations_id_fk`,
  );
  await admin.query(`alter table ${bench.schema}.messages drop constraint messages_sender_id_users_id_fk`);
  console.log('(messages without its foreign keys)');
}

function backendTicks(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    } catch {
      // the backend ended
    }
  }
  return ticks;
}

async function backends(): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [
    APP,
  ]);
  return rows.map((r) => r.pid);
}

async function tableStats(): Promise<Record<string, { ins: number; upd: number }>> {
  const { rows } = await admin.query<{ relname: string; ins: string; upd: string }>(
    'select relname, n_tup_ins as ins, n_tup_upd as upd from pg_stat_user_tables where schemaname = $1',
    [bench.schema],
  );
  return Object.fromEntries(rows.map((r) => [r.relname, { ins: Number(r.ins), upd: Number(r.upd) }]));
}

try {
  // 572 conversations of 2–5 customers is scenario 7's full size; 100 are enough to spread the row locks.
  const users: string[] = [];
  for (let i = 0; i < 350; i++) {
    const u = await store.users.create({
      username: `ac_${i}`,
      displayName: `客户${i}`,
      role: 'customer',
      passwordHash: 'x',
    });
    users.push(u.id);
  }
  const conversations: Array<{ id: string; members: string[] }> = [];
  for (let next = 0, i = 0; next + 5 <= users.length; i++) {
    const members = users.slice(next, next + 2 + (i % 4));
    next += members.length;
    const c = await store.conversations.create({
      title: `c${i}`,
      createdBy: members[0]!,
      participants: members.map((userId) => ({ userId, role: 'customer' as const })),
    });
    conversations.push({ id: c.id, members });
  }
  const body = 'x'.repeat(200);
  let n = 0;
  const send = (k: number) => {
    const c = conversations[k % conversations.length]!;
    return store.messages.append({
      conversationId: c.id,
      senderId: c.members[k % c.members.length]!,
      clientMessageId: `m-${n++}`,
      messageType: 'text',
      content: body,
      metadata: null,
      push: null,
    });
  };
  // Warm-up: JIT, prepared statements on every pooled connection, Postgres's plan cache.
  for (let i = 0; i < 400; i++) await Promise.all(Array.from({ length: 1 + (i % 10) }, (_, k) => send(i * 10 + k)));

  if (paced) await runPaced(conversations, body);

  if (!paced)
    console.log(
      '| appends per statement | Postgres CPU µs / message | API process CPU µs / message | rows written / message |',
    );
  console.log('|---|---|---|---|');
  for (const batch of paced ? [] : batches) {
    const pids = await backends();
    const before = await tableStats();
    const t0 = backendTicks(pids);
    const c0 = process.cpuUsage();
    for (let i = 0; i < messages / batch; i++) {
      await Promise.all(Array.from({ length: batch }, (_, k) => send(i * batch + k)));
    }
    const c1 = process.cpuUsage(c0);
    const t1 = backendTicks(await backends());
    const after = await tableStats();
    const rows = Object.keys(after)
      .map((t) => {
        const ins = after[t]!.ins - (before[t]?.ins ?? 0);
        const upd = after[t]!.upd - (before[t]?.upd ?? 0);
        return ins + upd > 0 ? `${t} +${(ins / messages).toFixed(2)} ins ${(upd / messages).toFixed(2)} upd` : '';
      })
      .filter(Boolean)
      .join(', ');
    console.log(
      `| ${batch} | ${(((t1 - t0) * TICK_US) / messages).toFixed(1)} | ${((c1.user + c1.system) / messages).toFixed(1)} | ${rows} |`,
    );
  }
} finally {
  await admin.end();
  await db.close();
  await bench.drop();
}

async function runPaced(conversations: Array<{ id: string; members: string[] }>, body: string): Promise<void> {
  const [rate = 2000, seconds = 4, rounds = 3] = args.slice(0, 3).map(Number);
  const policies = (args[3] ?? '1,8').split(',').map(Number);
  let n = 0;
  const appenders = policies.map((busyBatch) => {
    const app = `${APP}_b${busyBatch}`;
    const pool = new pg.Pool({
      connectionString: `${bench.url}${bench.url!.includes('?') ? '&' : '?'}application_name=${app}`,
      options: `-c search_path=${bench.schema}`,
      max: 10,
    });
    const sizes: number[] = [];
    const append = createMessageAppender(drizzle(pool) as unknown as Db, {
      busyBatch,
      onBatch: (size) => sizes.push(size),
    });
    return { busyBatch, app, pool, sizes, append, pgUs: 0, msgs: 0, statements: 0, latencies: [] as number[] };
  });
  const pidsOf = async (app: string) =>
    (
      await admin.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [app])
    ).rows.map((r) => r.pid);
  for (let round = 0; round < rounds + 1; round++) {
    for (const a of appenders) {
      const total = rate * seconds;
      const pids = await pidsOf(a.app);
      const t0 = backendTicks(pids);
      a.sizes.length = 0;
      const started = performance.now();
      const pending: Promise<unknown>[] = [];
      const latencies: number[] = [];
      await new Promise<void>((done) => {
        let issued = 0;
        const tick = () => {
          const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
          if (issued < due) {
            // One append per turn, as a server reading one frame per turn.
            const k = issued++;
            const c = conversations[k % conversations.length]!;
            const at = performance.now();
            pending.push(
              a
                .append({
                  conversationId: c.id,
                  senderId: c.members[k % c.members.length]!,
                  clientMessageId: `p-${a.busyBatch}-${n++}`,
                  messageType: 'text',
                  content: body,
                  metadata: null,
                  push: null,
                })
                .then(() => latencies.push(performance.now() - at)),
            );
          }
          if (issued < total) setImmediate(tick);
          else done();
        };
        tick();
      });
      await Promise.all(pending);
      const t1 = backendTicks(await pidsOf(a.app));
      if (round === 0) continue; // warm-up: JIT, prepared statements, plan cache
      a.pgUs += (t1 - t0) * TICK_US;
      a.msgs += total;
      a.statements += a.sizes.length;
      a.latencies.push(...latencies);
    }
  }
  console.log(`paced: ${rate} appends/s, one per turn, ${seconds} s × ${rounds} rounds per policy, taking turns`);
  console.log('| busyBatch | Postgres CPU µs / message | messages per statement | append latency p50 / p99 ms |');
  console.log('|---|---|---|---|');
  for (const a of appenders) {
    const l = a.latencies.sort((x, y) => x - y);
    const q = (f: number) => (l[Math.min(l.length - 1, Math.floor(f * l.length))] ?? 0).toFixed(2);
    console.log(
      `| ${a.busyBatch} | ${(a.pgUs / a.msgs).toFixed(1)} | ${(a.msgs / a.statements).toFixed(2)} | ${q(0.5)} / ${q(0.99)} |`,
    );
    await a.pool.end();
  }
}
