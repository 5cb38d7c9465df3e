/**
 * A `read` that waits for the database does not hold up the frames after it on its socket
 * (docs/protocol.md, "the frames of one connection"): its reader is checked in turn, then it is stored and announced
 * while the next `send_message` is stored and acked; a refused reader is still answered in
 * turn. Real Postgres (a fresh schema); the test holds the read back with a transaction of its
 * own on the conversation's event head row (conversation_event_heads).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestSchema, type TestSchema } from './support/postgres-schema.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';
import type { TestSocket } from './support/test-socket.ts';

let schema: TestSchema;
let app: TestApp;

beforeAll(async () => {
  schema = await createTestSchema();
  app = await startTestApp({ DATABASE_URL: schema.url, DATABASE_SCHEMA: schema.schema });
});
afterAll(async () => {
  await app?.close();
  await schema?.drop();
});

/** `from` sends a message to the conversation; resolves with the `new_message` as `to` receives it. */
async function sendAndReceive(from: TestSocket, to: TestSocket, conversationId: string, key: string) {
  from.send({
    action: 'send_message',
    request_id: key,
    data: { conversation_id: conversationId, client_message_id: key, content: '术后注意事项' },
  });
  const [received] = await to.waitFor('new_message', { where: (f) => f.data.client_message_id === key });
  return received!.data;
}

/**
 * Runs `work` while a transaction of the test's own holds the conversation's event head row, so
 * a read of the conversation waits; the row is let go afterwards, also when `work` fails.
 */
async function whileEventHeadHeld(conversationId: string, work: () => Promise<void>): Promise<void> {
  const holder = await schema.connect();
  try {
    await holder.query('begin');
    await holder.query(
      `insert into conversation_event_heads (conversation_id, last_event_seq) values ($1, 0)
       on conflict (conversation_id) do update set last_event_seq = conversation_event_heads.last_event_seq`,
      [conversationId],
    );
    await work();
  } finally {
    await holder.query('rollback');
    await holder.end();
  }
}

it('acks a send_message sent after a read while the read still waits for its row, then announces the read', async () => {
  const conversationId = app.conversationId(FACIAL);
  const customer = await app.connect('customer_456');
  const consultant = await app.connect('consultant_001');
  const toRead = await sendAndReceive(customer, consultant, conversationId, 'read-order-1');
  await whileEventHeadHeld(conversationId, async () => {
    consultant.send({ action: 'read', data: { conversation_id: conversationId, message_ids: [toRead.id] } });
    consultant.send({
      action: 'send_message',
      request_id: 'after-read',
      data: { conversation_id: conversationId, client_message_id: 'read-order-2', content: '您好，请讲' },
    });
    // Before, the ack waited for the read (until the statement timeout, 5 s).
    await consultant.waitFor('ack', { where: (f) => f.data.request_id === 'after-read', timeoutMs: 3_000 });
    expect(customer.all('read_status')).toEqual([]);
  });
  const [receipt] = await customer.waitFor('read_status');
  expect(receipt!.data).toMatchObject({
    conversation_id: conversationId,
    user_id: app.userId('consultant_001'),
    message_ids: [toRead.id],
    last_read_seq: toRead.seq,
  });
  expect(consultant.all('error')).toEqual([]);
});

it('answers a read of a conversation the reader is not in before the frames sent after it', async () => {
  const outsider = await app.connect('customer_789');
  outsider.send({
    action: 'read',
    request_id: 'not-mine',
    data: { conversation_id: app.conversationId(FACIAL), message_ids: ['m1'] },
  });
  outsider.send({ action: 'ping', request_id: 'after' });
  await outsider.waitFor('pong');
  const answers = outsider.frames.filter((f) => f.action === 'error' || f.action === 'pong').map((f) => f.action);
  expect(answers).toEqual(['error', 'pong']);
  expect(outsider.all('error')[0]!.data).toMatchObject({ code: 'NOT_PARTICIPANT', request_id: 'not-mine' });
});

it('lets a graceful drain wait for a read still being stored: its receipt goes out before the sockets close', async () => {
  const draining = await startTestApp({ DATABASE_URL: schema.url, DATABASE_SCHEMA: schema.schema });
  const conversationId = draining.conversationId(FACIAL);
  const customer = await draining.connect('customer_456');
  const consultant = await draining.connect('consultant_001');
  const toRead = await sendAndReceive(customer, consultant, conversationId, 'read-order-drain');
  let closed: Promise<void> | undefined;
  await whileEventHeadHeld(conversationId, async () => {
    consultant.send({ action: 'read', data: { conversation_id: conversationId, message_ids: [toRead.id] } });
    consultant.send({ action: 'ping', request_id: 'read-sent' });
    await consultant.waitFor('pong');
    closed = draining.built.close();
    await customer.waitFor('reconnect');
  });
  await closed;
  expect(customer.all('read_status').map((f) => f.data.message_ids)).toEqual([[toRead.id]]);
  expect(customer.closed?.code).toBe(1001);
});
