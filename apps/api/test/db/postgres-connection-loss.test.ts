/**
 * The network to Postgres breaks in the middle of a transaction (a failover, a restart, a
 * dropped route): the write fails with an error, the process lives on, nothing half-written
 * stays, and the pool serves the next write on a fresh connection.
 *
 * The store reaches the machine's Postgres through a TCP relay owned by this test, so the test
 * can cut every connection at the moment it chooses, as a network failure would.
 */
import type pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type OpenedDatabase, openDatabase } from '../../src/db/open-database.ts';
import { LogCapture } from '../support/log-capture.ts';
import { createTestSchema, waitUntilOneBlockedBy } from '../support/postgres-schema.ts';
import { startTcpRelay, type TcpRelay, viaRelay } from '../support/tcp-relay.ts';
import { fixtures } from './fixtures.ts';

let testSchema: Awaited<ReturnType<typeof createTestSchema>>;
let opened: OpenedDatabase;
const logs = new LogCapture();
/** A direct connection, outside the code under test: it holds the row lock. */
let locker: pg.Client;
let relay: TcpRelay;

beforeAll(async () => {
  testSchema = await createTestSchema();
  relay = await startTcpRelay(testSchema.url);
  opened = await openDatabase({
    databaseUrl: viaRelay(testSchema.url, relay),
    schema: testSchema.schema,
    logger: pino({ level: 'debug' }, logs),
  });
  locker = await testSchema.connect();
});
afterAll(async () => {
  await locker?.end();
  await opened?.close();
  await relay?.close();
  await testSchema?.drop();
});

const make = fixtures(() => opened.store);

/** Holds the conversation's row from outside, so a write to it stops inside Postgres. */
async function holdRow(conversationId: string): Promise<void> {
  await locker.query('begin');
  await locker.query('select 1 from conversations where id = $1 for update', [conversationId]);
}

/** Waits until a statement of the store waits for the locker's row lock, then cuts the network. */
async function cutWhileBlocked(): Promise<void> {
  await waitUntilOneBlockedBy(locker, 'a statement of the store to wait for the row lock');
  relay.cut();
}

/** The driver's error under drizzle's wrapper ("Failed query: …", with the driver's error as cause). */
async function failureOf(work: Promise<unknown>): Promise<string> {
  const outcome: unknown = await work.then(
    () => 'it succeeded',
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(Error);
  return String((outcome as Error).cause ?? outcome);
}

it('fails a transaction whose connection breaks while it is checked out, logs it, and serves the next one', async () => {
  const customer = await make.user('customer');
  const conversation = await make.conversation(customer);
  await holdRow(conversation.id);
  // A conversation event is a transaction (bump the counter, insert the event) on one pooled client.
  const appended = opened.store.events.appendToConversation(conversation.id, {
    kind: 'read_status',
    payload: (position, id) => ({ event_seq: position, event_id: id }),
  });
  await cutWhileBlocked();

  // The driver's own words: the statement's "Connection terminated unexpectedly", or, when
  // drizzle's ROLLBACK ran into the dead client first, "…connection error and is not queryable".
  expect(await failureOf(appended)).toMatch(/Connection terminated unexpectedly|connection error/);
  const logged = await logs.waitFor((r) => r.msg === 'postgres connection lost while in use', 'the loss logged');
  expect(logged.err).toBe('Connection terminated unexpectedly');
  await locker.query('rollback');

  // The cut-off transaction never committed: the next event is number 1.
  const next = await opened.store.events.appendToConversation(conversation.id, {
    kind: 'read_status',
    payload: (position, id) => ({ event_seq: position, event_id: id }),
  });
  expect(next.position).toBe(1);
  expect((await opened.store.events.conversationAfter(conversation.id, 0, 10)).map((e) => e.id)).toEqual([next.id]);
});

it('stores a message exactly once when its append fails with the network but may have committed, and is retried', async () => {
  const customer = await make.user('customer');
  const conversation = await make.conversation(customer);
  await holdRow(conversation.id);
  const input = {
    conversationId: conversation.id,
    senderId: customer.id,
    clientMessageId: 'sent-across-a-cut',
    messageType: 'text' as const,
    content: 'did it land?',
  };
  // One statement: Postgres may still run and commit it after the client is gone, so the
  // sender cannot know; its retry with the same client_message_id settles it.
  const first = opened.store.messages.append(input);
  await cutWhileBlocked();
  expect(await failureOf(first)).toContain('Connection terminated unexpectedly');
  await locker.query('rollback');

  // 'created' if the cut-off statement was rolled back, 'duplicate' if it committed: either way one row.
  const retried = await opened.store.messages.append(input);
  if (retried.status === 'conflict') throw new Error('the retry conflicted with another conversation');
  const stored = await opened.store.messages.history(conversation.id);
  expect(stored.map((m) => [m.id, m.seq, m.content])).toEqual([[retried.message.id, 1, 'did it land?']]);
});
