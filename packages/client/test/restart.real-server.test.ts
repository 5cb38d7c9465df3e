/**
 * Server restart: the API goes down (graceful shutdown), messages are sent while it is gone,
 * a new API process comes up on the same port with the same database. The client reconnects
 * by itself and flushes its outbox, and the server stores every client message id exactly
 * once — including a message whose ack was lost when the connection dropped.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type SendResult, WebSocketClient } from '../src/index.ts';
import { FACIAL, startTestApp, type TestApp, wsOrigin } from './support/real-api.ts';
import { recordStatuses, until, waitForState } from './support/wait.ts';

let dataDir: string;
let first: TestApp;
let second: TestApp | undefined;

beforeAll(async () => {
  // A file-backed database, so the second server sees what the first stored.
  dataDir = await mkdtemp(join(tmpdir(), 'anmei-client-restart-'));
  first = await startTestApp({ DATA_DIR: dataDir, WS_DRAIN_SPREAD: '200' });
});
afterAll(async () => {
  await second?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/**
 * `ws` with a switch that drops inbound `ack` frames: the network losing the ack of a message
 * the server did store, just before the connection dies.
 */
function lossyWebSocket() {
  const state = { dropAcks: false, dropped: 0, created: 0 };
  class LossyWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      state.created += 1;
    }
    override addEventListener(type: string, listener: (event: any) => void): void {
      if (type !== 'message') {
        super.addEventListener(type as 'close', listener);
        return;
      }
      super.addEventListener('message', (event) => {
        if (state.dropAcks && String(event.data).startsWith('{"action":"ack"')) {
          state.dropped += 1;
          return;
        }
        listener(event);
      });
    }
  }
  return { WebSocket: LossyWebSocket, state };
}

describe('server restart', () => {
  it('reconnects, resumes sending and flushes the outbox without duplicates', async () => {
    const { token } = await first.login('customer_456');
    const port = new URL(first.baseUrl).port;
    const conversationId = first.conversationId(FACIAL);
    const lossy = lossyWebSocket();
    const client = new WebSocketClient({
      url: wsOrigin(first),
      getToken: async () => token,
      WebSocket: lossy.WebSocket,
      environment: null,
      reconnectInterval: 50,
      maxReconnectDelay: 200,
      maxReconnectAttempts: 100,
    });
    const statuses = recordStatuses(client);
    client.connect();
    await waitForState(client, 'open');

    // 1. Normal send: acked.
    const before = await client.send(conversationId, 'before the restart');
    expect(before.duplicate).toBe(false);

    // 2. Stored by the server, but its ack never reaches the client.
    lossy.state.dropAcks = true;
    const lostAckId = randomUUID();
    const lostAck = client.send(conversationId, 'ack lost in transit', { clientMessageId: lostAckId });
    await until(() => lossy.state.dropped === 1, 'the server to store the message and its ack to be dropped', 5_000);
    lossy.state.dropAcks = false;

    // 3. The server goes away; the client keeps trying.
    await first.close();
    await waitForState(client, 'reconnecting', { where: (s) => s.attempt >= 1, timeoutMs: 10_000 });

    // 4. Sent while no server exists: queued.
    const whileDown = ['while down 1', 'while down 2', 'while down 3'];
    const queued: Promise<SendResult>[] = whileDown.map((text) => client.send(conversationId, text));
    expect(client.pendingMessages).toBe(1 + whileDown.length);

    // 5. A new server on the same port and database.
    second = await startTestApp({ DATA_DIR: dataDir, PORT: port });
    await waitForState(client, 'open', { timeoutMs: 15_000 });

    const results = await Promise.all([lostAck, ...queued]);
    expect(results[0]).toMatchObject({ clientMessageId: lostAckId, duplicate: true });
    expect(results.slice(1).map((r) => r.duplicate)).toEqual([false, false, false]);
    expect(client.pendingMessages).toBe(0);

    // 6. Resumed: a new message after the restart is acked normally.
    expect((await client.send(conversationId, 'after the restart')).duplicate).toBe(false);

    const stored = await second.built.ctx.store.messages.history(conversationId, { limit: 200 });
    const counts = new Map<string, number>();
    for (const m of stored)
      if (m.clientMessageId) counts.set(m.clientMessageId, (counts.get(m.clientMessageId) ?? 0) + 1);
    const ours = [before.clientMessageId, lostAckId, ...results.slice(1).map((r) => r.clientMessageId)];
    expect(ours.map((id) => counts.get(id))).toEqual([1, 1, 1, 1, 1]);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const contents = stored.map((m) => m.content);
    expect(contents.filter((c) => whileDown.includes(c))).toEqual(whileDown);
    expect(statuses).toContain('reconnecting');
    expect(lossy.state.created).toBeGreaterThanOrEqual(2);
    client.dispose();
  });
});
