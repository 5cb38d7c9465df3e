/**
 * The two races `messages.append` settles with the unique (sender_id, client_message_id)
 * constraint, made deterministic on a real Postgres: a second connection commits the twin
 * exactly while the append waits on it, i.e. after the append's snapshot was taken, so the
 * append's own duplicate check cannot have seen it. PGlite has one connection, so it has no such
 * interleaving; the parallel-append tests of the Store contract cover it there.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenedDatabase, openDatabase } from '../../src/db/open-database.ts';
import type { AppendMessageInput, ConversationRow, UserRow } from '../../src/db/store-types.ts';
import { createTestSchema } from '../support/postgres-schema.ts';
import { eventually } from '../support/wait.ts';
import { fixtures } from './fixtures.ts';

let testSchema: Awaited<ReturnType<typeof createTestSchema>>;
let opened: OpenedDatabase;
/** The twin's connection, outside the code under test. */
let twin: pg.Client;

beforeAll(async () => {
  testSchema = await createTestSchema();
  opened = await openDatabase({ databaseUrl: testSchema.url, schema: testSchema.schema });
  twin = new pg.Client({ connectionString: testSchema.url, options: `-c search_path=${testSchema.schema}` });
  await twin.connect();
});
afterAll(async () => {
  await twin?.end();
  await opened?.close();
  await testSchema?.drop();
});

const make = fixtures(() => opened.store);

/**
 * Runs `append` while `twin` holds an open transaction prepared by `hold`, waits until the append
 * is blocked by that transaction, lets `commitTwin` write the twin and commits it.
 */
async function appendAgainstTwin(
  input: AppendMessageInput,
  hold: () => Promise<void>,
  commitTwin: () => Promise<void>,
) {
  await twin.query('begin');
  try {
    await hold();
    const appended = opened.store.messages.append(input);
    const twinPid = (await twin.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    await eventually(
      async () =>
        (
          await twin.query<{ n: number }>(
            'select count(*)::int as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))',
            [twinPid],
          )
        ).rows[0]!.n,
      (n) => n === 1,
      'the append to wait for the twin transaction',
    );
    await commitTwin();
    await twin.query('commit');
    return await appended;
  } catch (err) {
    await twin.query('rollback');
    throw err;
  }
}

/** Stores a message as a concurrent instance would: bump last_seq, insert with it. */
async function insertTwin(conversation: ConversationRow, sender: UserRow, key: string): Promise<string> {
  const { rows } = await twin.query<{ id: string }>(
    `with bumped as (update conversations set last_seq = last_seq + 1 where id = $1 returning last_seq)
     insert into messages (id, conversation_id, seq, sender_id, client_message_id, message_type, content)
     select gen_random_uuid()::text, $1, last_seq, $2, $3, 'text', 'twin' from bumped returning id`,
    [conversation.id, sender.id, key],
  );
  return rows[0]!.id;
}

describe('messages.append races on Postgres', () => {
  it('returns the twin as the duplicate when it commits in the same conversation while the append waits for the row lock', async () => {
    const customer = await make.user('customer');
    const conversation = await make.conversation(customer);
    let twinId = '';
    const result = await appendAgainstTwin(
      {
        conversationId: conversation.id,
        senderId: customer.id,
        clientMessageId: 'same-conversation',
        messageType: 'text',
        content: 'mine',
      },
      async () => {
        await twin.query('select 1 from conversations where id = $1 for update', [conversation.id]);
      },
      async () => {
        twinId = await insertTwin(conversation, customer, 'same-conversation');
      },
    );
    expect(result).toMatchObject({ status: 'duplicate', message: { id: twinId, seq: 1, content: 'twin' } });
    // The append's own bump rolled back with its failed insert: no seq burned, no second row.
    expect((await opened.store.conversations.findById(conversation.id))!.lastSeq).toBe(1);
    expect((await make.send(conversation, customer, 'next')).seq).toBe(2);
    expect(await opened.store.messages.history(conversation.id)).toHaveLength(2);
  });

  it('reports a conflict when the twin commits in another conversation while the append waits on the key', async () => {
    const customer = await make.user('customer');
    const mine = await make.conversation(customer);
    const other = await make.conversation(customer);
    const result = await appendAgainstTwin(
      {
        conversationId: mine.id,
        senderId: customer.id,
        clientMessageId: 'cross-conversation',
        messageType: 'text',
        content: 'mine',
      },
      // The twin's uncommitted row holds the key in the unique index; the append blocks on it.
      async () => {
        await insertTwin(other, customer, 'cross-conversation');
      },
      async () => {},
    );
    expect(result).toEqual({ status: 'conflict', existingConversationId: other.id });
    expect((await opened.store.conversations.findById(mine.id))!.lastSeq).toBe(0);
    expect((await make.send(mine, customer, 'first')).seq).toBe(1);
  });
});

describe('pool size (DATABASE_POOL_MAX)', () => {
  // 12 is above the default of 10, so reaching it shows the option is used; 3 of 6 shows the cap.
  it.each([
    { poolMax: 3, appends: 6 },
    { poolMax: 12, appends: 12 },
  ])(
    'lets $poolMax of $appends appends waiting on one conversation into Postgres; all get gap-free seqs',
    async ({ poolMax, appends }) => {
      const small = await openDatabase({ databaseUrl: testSchema.url, schema: testSchema.schema, poolMax });
      try {
        const customer = await make.user('customer');
        const conversation = await make.conversation(customer);
        await twin.query('begin');
        let appended: ReturnType<typeof small.store.messages.append>[] = [];
        try {
          await twin.query('select 1 from conversations where id = $1 for update', [conversation.id]);
          appended = Array.from({ length: appends }, (_, i) =>
            small.store.messages.append({
              conversationId: conversation.id,
              senderId: customer.id,
              clientMessageId: null,
              messageType: 'text',
              content: `m${i}`,
            }),
          );
          // Every append that reached Postgres holds a lock on this schema's conversations table
          // while it waits for the row; the others wait for a connection in the pool.
          const inside = await eventually(
            async () =>
              (
                await twin.query<{ n: number }>(
                  `select count(distinct pid)::int as n from pg_locks
                 where relation = 'conversations'::regclass and pid <> pg_backend_pid()`,
                )
              ).rows[0]!.n,
            (n) => n >= poolMax,
            `${poolMax} appends (the pool size) to be inside Postgres`,
          );
          expect(inside).toBe(poolMax);
        } finally {
          await twin.query('commit');
        }
        const results = await Promise.all(appended);
        const seqs = results.map((r) => (r.status === 'created' ? r.message.seq : 0));
        expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: appends }, (_, i) => i + 1));
      } finally {
        await small.close();
      }
    },
  );
});
