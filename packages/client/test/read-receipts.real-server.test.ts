/**
 * Against the real API: `markRead` as an open chat calls it, once per message shown. The other
 * member sees the first read at once and the rest of the interval's reads as one `read_status`;
 * a waiting read survives a dropped connection and is written before the client's own close.
 */
import type { ServerDataOf } from '@anmei/protocol';
import { expect, it } from 'vitest';
import type { TestSocket } from '../../../apps/api/test/support/test-socket.ts';
import type { ChatMessage, WebSocketClient } from '../src/index.ts';
import { clientFor, FACIAL, useTestApp } from './support/real-api.ts';
import { until } from './support/wait.ts';

// Resume tickets off: one test holds the reconnect in getToken, which a resume ticket would skip.
const app = useTestApp({ WS_RESUME_TICKET_TTL: '0' });

/** Opens the customer's client and collects the chat messages it receives. */
async function openCustomer(overrides: Parameters<typeof clientFor>[2] = {}) {
  const { client } = clientFor(app, 'customer_456', overrides);
  const received: ChatMessage[] = [];
  // A consultant's message reaches the customer as a consultation_reply carrying it.
  client.on('consultation_reply', (frame) => {
    if (frame.data.message) received.push(frame.data.message as ChatMessage);
  });
  client.connect();
  await until(() => client.state.status === 'open', 'the customer’s client open');
  return { client, received };
}

/** The consultant sends `count` messages over its socket; resolves once the customer's client has them all. */
async function consultantSends(consultant: TestSocket, received: ChatMessage[], count: number, tag: string) {
  const conversationId = app.conversationId(FACIAL);
  for (let i = 0; i < count; i++) {
    const key = `${tag}-${i}`;
    consultant.send({
      action: 'send_message',
      request_id: key,
      data: { conversation_id: conversationId, client_message_id: key, content: `第 ${i + 1} 条` },
    });
  }
  await until(() => received.filter((m) => m.clientMessageId?.startsWith(`${tag}-`)).length === count, 'messages');
  return received.filter((m) => m.clientMessageId?.startsWith(`${tag}-`));
}

/** The customer's read position in the conversation, from the store. */
async function readPosition(): Promise<number> {
  const participants = await app.built.ctx.store.conversations.participants(app.conversationId(FACIAL));
  const me = participants.find((p) => p.userId === app.userId('customer_456'));
  if (!me) throw new Error('customer_456 is not a participant');
  return me.lastReadSeq;
}

const receipts = (consultant: TestSocket): Array<ServerDataOf<'read_status'>> =>
  consultant.all('read_status').map((frame) => frame.data);

function markEach(client: WebSocketClient, messages: ChatMessage[]): void {
  for (const message of messages) expect(client.markRead(message.conversationId, [message.id])).toBe(true);
}

it('announces the first read at once and the reads of the next interval as one read_status with their ids', async () => {
  const consultant = await app.connect('consultant_001');
  const { client, received } = await openCustomer({ readReceiptInterval: 300 });
  const messages = await consultantSends(consultant, received, 4, 'burst');

  markEach(client, messages);
  const [first] = await consultant.waitFor('read_status');
  expect(first!.data.message_ids).toEqual([messages[0]!.id]);
  await consultant.waitFor('read_status', { count: 2 });

  expect(receipts(consultant).map((r) => r.message_ids)).toEqual([
    [messages[0]!.id],
    messages.slice(1).map((m) => m.id),
  ]);
  expect(await readPosition()).toBe(messages[3]!.seq);
});

it('writes a waiting read before disconnect() closes the socket', async () => {
  const consultant = await app.connect('consultant_001');
  const { client, received } = await openCustomer({ readReceiptInterval: 60_000 });
  const messages = await consultantSends(consultant, received, 2, 'leave');

  markEach(client, messages);
  client.disconnect();

  await consultant.waitFor('read_status', { count: 2 });
  expect(receipts(consultant).map((r) => r.message_ids)).toEqual([[messages[0]!.id], [messages[1]!.id]]);
  expect(await readPosition()).toBe(messages[1]!.seq);
});

it('sends a read that was waiting when the connection dropped once the client is back', async () => {
  const consultant = await app.connect('consultant_001');
  let gate: Promise<void> = Promise.resolve();
  const { client, received } = await openCustomer({
    readReceiptInterval: 300,
    reconnectInterval: 1,
    getToken: async () => {
      await gate; // the test holds the reconnect here
      return (await app.login('customer_456')).token;
    },
  });
  const [first, second] = await consultantSends(consultant, received, 2, 'drop');
  markEach(client, [first!]);
  await consultant.waitFor('read_status');

  // The second read waits for the interval; the connection drops meanwhile. Whether the interval
  // ends before the client is back (the read is kept and goes when the next connection opens) or
  // after (it goes then), the other member gets it.
  let release!: () => void;
  gate = new Promise((resolve) => {
    release = resolve;
  });
  markEach(client, [second!]);
  for (const connection of app.built.ctx.local.ofUser(app.userId('customer_456'))) connection.socket.terminate();
  await until(() => client.state.status !== 'open', 'the drop to be noticed');
  expect(client.markRead(second!.conversationId, [second!.id])).toBe(false);
  release();

  await consultant.waitFor('read_status', { count: 2 });
  expect(receipts(consultant).map((r) => r.message_ids)).toEqual([[first!.id], [second!.id]]);
  expect(await readPosition()).toBe(second!.seq);
});
