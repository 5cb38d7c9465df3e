/**
 * Issue #17 against the real API: messages written while the server was unreachable outlive the
 * page (a new client on the same storage is the reloaded page) and are stored exactly once, in
 * order, with their client message ids; two tabs that both restore them still store each once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SendResult, type StoredMessage, WebSocketClient } from '../src/index.ts';
import { MemoryOutboxStorage } from './support/memory-outbox-storage.ts';
import { clientFor, disposeClients, FACIAL, startTestApp, type TestApp, wsOrigin } from './support/real-api.ts';
import { until, waitForState } from './support/wait.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  disposeClients();
  await app?.close();
});

/**
 * The page before the reload: it never reaches the server (every ticket request fails, as with
 * the API down), writes `contents` into the outbox, and is gone (disposed) with them unsent.
 */
async function pageThatWroteOffline(storage: MemoryOutboxStorage, conversationId: string, contents: string[]) {
  const page = new WebSocketClient({
    url: wsOrigin(app),
    getTicket: () => Promise.reject(new Error('the API is unreachable')),
    environment: null,
  });
  await page.setOutboxStorage(storage);
  const sends = contents.map((content) => page.send(conversationId, content));
  await until(() => storage.ids.length === contents.length, 'the offline page to store its messages');
  page.dispose();
  await Promise.allSettled(sends);
  expect(storage.ids).toHaveLength(contents.length);
  return storage.messages;
}

/** Resolves with the `sent` results of `ids` (any order of arrival), keyed by client message id. */
function sentResults(client: WebSocketClient, ids: string[]): Promise<Map<string, SendResult>> {
  const results = new Map<string, SendResult>();
  return new Promise((resolve, reject) => {
    const off = client.onEvent('sent', ({ message, result }) => {
      if (!ids.includes(message.clientMessageId)) return;
      if (results.has(message.clientMessageId)) reject(new Error(`a second "sent" for ${message.clientMessageId}`));
      results.set(message.clientMessageId, result);
      if (results.size === ids.length) {
        off();
        resolve(results);
      }
    });
    client.onEvent('sendFailed', ({ message, error }) => {
      if (ids.includes(message.clientMessageId)) reject(error);
    });
  });
}

async function storedCopies(conversationId: string, stored: StoredMessage[]) {
  const history = await app.built.ctx.store.messages.history(conversationId, { limit: 200 });
  const ids = stored.map((m) => m.clientMessageId);
  return {
    count: (id: string) => history.filter((m) => m.clientMessageId === id).length,
    order: history.filter((m) => m.clientMessageId && ids.includes(m.clientMessageId)).map((m) => m.content),
  };
}

describe('outbox storage with the real server', () => {
  it('messages written offline survive a reload and are stored once, in order, with their client message ids', async () => {
    const conversationId = app.conversationId(FACIAL);
    const storage = new MemoryOutboxStorage();
    const contents = [`离线第一条 ${Date.now()}`, `离线第二条 ${Date.now()}`];
    const stored = await pageThatWroteOffline(storage, conversationId, contents);

    const { client } = clientFor(app, 'customer_456');
    const restored: string[] = [];
    client.onEvent('restored', ({ messages }) => {
      restored.push(...messages.map((m) => m.clientMessageId));
    });
    await client.setOutboxStorage(storage);
    expect(restored).toEqual(stored.map((m) => m.clientMessageId));
    const delivered = sentResults(
      client,
      stored.map((m) => m.clientMessageId),
    );
    client.connect();
    await waitForState(client, 'open');
    const results = await delivered;

    expect([...results.values()].map((r) => r.duplicate)).toEqual([false, false]);
    const seqs = stored.map((m) => results.get(m.clientMessageId)!.seq);
    expect(seqs[1]).toBeGreaterThan(seqs[0]!);
    await until(() => storage.ids.length === 0, 'acked messages to be deleted from the storage');
    expect(client.pendingMessages).toBe(0);
    const copies = await storedCopies(conversationId, stored);
    expect(stored.map((m) => copies.count(m.clientMessageId))).toEqual([1, 1]);
    expect(copies.order).toEqual(contents);
  });

  it('two tabs restoring the same messages both send them; the server stores each once and both tabs get the same message', async () => {
    const conversationId = app.conversationId(FACIAL);
    const storage = new MemoryOutboxStorage();
    const contents = [`两个标签页 A ${Date.now()}`, `两个标签页 B ${Date.now()}`];
    const stored = await pageThatWroteOffline(storage, conversationId, contents);
    const ids = stored.map((m) => m.clientMessageId);

    const tabs = [clientFor(app, 'customer_456').client, clientFor(app, 'customer_456').client];
    for (const tab of tabs) await tab.setOutboxStorage(storage);
    expect(tabs.map((tab) => tab.pendingMessages)).toEqual([2, 2]);
    const delivered = tabs.map((tab) => sentResults(tab, ids));
    for (const tab of tabs) tab.connect();
    const [first, second] = await Promise.all(delivered);

    for (const id of ids) {
      const a = first!.get(id)!;
      const b = second!.get(id)!;
      expect(b.messageId).toBe(a.messageId);
      expect(b.seq).toBe(a.seq);
      // One of the two writes stored it; the other was answered as a duplicate of it.
      expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
    }
    const copies = await storedCopies(conversationId, stored);
    expect(ids.map((id) => copies.count(id))).toEqual([1, 1]);
    expect(copies.order).toEqual(contents);
    await until(() => storage.ids.length === 0, 'both tabs to delete the acked messages');
  });
});
