/**
 * The server's database is unreachable when a message is sent: the server answers the send
 * with a DATABASE_UNAVAILABLE error frame. The client does not give up on the message: it writes it again
 * (same client message id) with a growing delay, and once the database is back the message is
 * acked and stored exactly once.
 *
 * The API runs in-process on the machine's Postgres, reached through a TCP relay owned by the
 * test, which takes the database away and brings it back.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestSchema } from '../../../apps/api/test/support/postgres-schema.ts';
import { startTcpRelay, type TcpRelay, viaRelay } from '../../../apps/api/test/support/tcp-relay.ts';
import { clientFor, FACIAL, startTestApp, type TestApp } from './support/real-api.ts';
import { waitForState } from './support/wait.ts';

let schema: Awaited<ReturnType<typeof createTestSchema>>;
let relay: TcpRelay;
let app: TestApp;

beforeAll(async () => {
  schema = await createTestSchema();
  relay = await startTcpRelay(schema.url);
  app = await startTestApp({ DATABASE_URL: viaRelay(schema.url, relay), DATABASE_SCHEMA: schema.schema });
});
afterAll(async () => {
  await app?.close();
  await relay?.close();
  await schema?.drop();
});

it('retries a send the server answered with DATABASE_UNAVAILABLE while its database was away, and stores it once', async () => {
  const { client } = clientFor(app, 'customer_456');
  client.connect();
  await waitForState(client, 'open');
  const conversationId = app.conversationId(FACIAL);

  await relay.pause();
  const sent = client.send(conversationId, '数据库离线时发送');
  // The server's answer to the first attempt: DATABASE_UNAVAILABLE ("try later"), logged with its cause.
  await app.logs.waitFor(
    (r) => r.msg === 'database unavailable: answered DATABASE_UNAVAILABLE' && r.action === 'send_message',
    'the failed send',
  );
  expect(client.pendingMessages).toBe(1);
  await relay.resume();

  const result = await sent;
  expect(result.duplicate).toBe(false);
  expect(client.pendingMessages).toBe(0);
  expect(client.state.status).toBe('open');
  const stored = await app.built.ctx.store.messages.history(conversationId, { limit: 200 });
  expect(stored.filter((m) => m.clientMessageId === result.clientMessageId).map((m) => m.content)).toEqual([
    '数据库离线时发送',
  ]);
});
