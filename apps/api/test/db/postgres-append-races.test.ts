/**
 * The two races `messages.append` settles with the unique (sender_id, client_message_id)
 * constraint, made deterministic on a real Postgres: a second connection commits the twin
 * exactly while the append waits on it, i.e. after the append's snapshot was taken, so the
 * append's own duplicate check cannot have seen it. PGlite has one connection, so it has no such
 * interleaving; the parallel-append tests of the Store contract cover it there.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenedDatabase, openDatabase } from '../../src/db/open-database.ts';
import type { AppendMessageInput, ConversationRow, UserRow } from '../../src/db/store-types.ts';
import { createTestSchema, waitUntilOneBlockedBy } from '../support/postgres-schema.ts';
import { eventually } from '../support/wait.ts';
import { fixtures } from './fixtures.ts';

let testSchema: Awaited<ReturnType<typeof createTestSchema>>;
let opened: OpenedDatabase;
/** The twin's connection, outside the code under test. */
let twin: pg.Client;

beforeAll(async () => {
  testSchema = await createTestSchema();
  opened = await openDatabase({ databaseUrl: testSchema.url, schema: testSchema.schema });
  twin = await testSchema.connect();
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
    await waitUntilOneBlockedBy(twin, 'the append to wait for the twin transaction');
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

/** Distinct backends (other than the twin) holding a lock on this schema's conversations table. */
async function backendsOnConversations(): Promise<number> {
  const { rows } = await twin.query<{ n: number }>(
    `select count(distinct pid)::int as n from pg_locks
     where relation = 'conversations'::regclass and pid <> pg_backend_pid()`,
  );
  return rows[0]!.n;
}

describe('pool size (DATABASE_POOL_MAX)', () => {
  // 12 is above the default of 10, so reaching it shows the option is used; 3 of 6 shows the cap.
  // Conversation events, not messages: message appends of one turn share a statement (below).
  it.each([
    { poolMax: 3, writes: 6 },
    { poolMax: 12, writes: 12 },
  ])(
    'lets $poolMax of $writes event appends waiting on one conversation into Postgres; all get gap-free positions',
    async ({ poolMax, writes }) => {
      const small = await openDatabase({ databaseUrl: testSchema.url, schema: testSchema.schema, poolMax });
      try {
        const customer = await make.user('customer');
        const conversation = await make.conversation(customer);
        await twin.query('begin');
        let appended: Promise<{ position: number }>[] = [];
        try {
          await twin.query('select 1 from conversations where id = $1 for update', [conversation.id]);
          appended = Array.from({ length: writes }, (_, i) =>
            small.store.events.appendToConversation(conversation.id, { kind: 'notice', payload: () => ({ i }) }),
          );
          // Every write that reached Postgres holds a lock on the conversations table while it
          // waits for the row; the others wait for a connection in the pool.
          const inside = await eventually(
            backendsOnConversations,
            (n) => n >= poolMax,
            `${poolMax} writes (the pool size) to be inside Postgres`,
          );
          expect(inside).toBe(poolMax);
        } finally {
          await twin.query('commit');
        }
        const positions = (await Promise.all(appended)).map((e) => e.position);
        expect(positions.sort((a, b) => a - b)).toEqual(Array.from({ length: writes }, (_, i) => i + 1));
      } finally {
        await small.close();
      }
    },
  );
});

describe('group commit of message appends', () => {
  it('stores the appends of one event-loop turn with one statement, with consecutive seqs in call order', async () => {
    const customer = await make.user('customer');
    const consultant = await make.user('consultant');
    const conversation = await make.conversation(customer, consultant);
    const other = await make.conversation(customer);
    await twin.query('begin');
    let appended: ReturnType<typeof opened.store.messages.append>[] = [];
    try {
      await twin.query('select 1 from conversations where id = $1 for update', [conversation.id]);
      appended = Array.from({ length: 8 }, (_, i) =>
        opened.store.messages.append({
          conversationId: i === 3 ? other.id : conversation.id,
          senderId: i % 2 === 0 ? customer.id : consultant.id,
          clientMessageId: `group-${i}`,
          messageType: 'text',
          content: `m${i}`,
        }),
      );
      // One statement waits for the locked row: one backend, whatever the pool size (10).
      await eventually(backendsOnConversations, (n) => n === 1, 'the batch to wait for the locked conversation');
      // The statement has not finished, so nothing of the batch is visible, not even the message
      // to the unlocked conversation.
      const visible = await twin.query<{ n: number }>(
        'select count(*)::int as n from messages where conversation_id in ($1, $2)',
        [conversation.id, other.id],
      );
      expect(visible.rows[0]!.n).toBe(0);
    } finally {
      await twin.query('commit');
    }
    const results = await Promise.all(appended);
    expect(results.every((r) => r.status === 'created')).toBe(true);
    const stored = results.map((r) => (r.status === 'created' ? r.message : null)!);
    expect(stored.filter((m) => m.conversationId === conversation.id).map((m) => [m.content, m.seq])).toEqual([
      ['m0', 1],
      ['m1', 2],
      ['m2', 3],
      ['m4', 4],
      ['m5', 5],
      ['m6', 6],
      ['m7', 7],
    ]);
    expect(stored[3]).toMatchObject({ conversationId: other.id, seq: 1 });
    expect((await opened.store.conversations.findById(conversation.id))!.lastSeq).toBe(7);
  });
});
