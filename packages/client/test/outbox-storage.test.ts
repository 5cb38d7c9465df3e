/**
 * The outbox kept in a storage (issue #17): what is put and deleted when, what a new client (a
 * reload) restores, TTL across the reload, changing owner, and storage failures. Fake timers, no
 * socket: a client that is never connected keeps everything queued. Sending restored messages
 * to the real server is in outbox-storage.real-server.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ClientError,
  OUTBOX_DEFAULTS,
  Outbox,
  type OutboxOptions,
  type PendingMessage,
  SendError,
  type StoredMessage,
  WebSocketClient,
} from '../src/index.ts';
import { MemoryOutboxStorage } from './support/memory-outbox-storage.ts';

const T0 = Date.parse('2030-01-01T08:00:00Z');
const TTL = OUTBOX_DEFAULTS.ttlMs;

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

const clients: WebSocketClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.dispose();
});

/** A client that is never connected in these tests: its sends stay in the outbox. */
function offlineClient(outbox: Partial<OutboxOptions> = {}): WebSocketClient {
  const client = new WebSocketClient({
    url: 'ws://127.0.0.1:9',
    getTicket: () => new Promise<string>(() => undefined),
    environment: null,
    outbox,
  });
  clients.push(client);
  return client;
}

/** Every `sent`/`sendFailed`/`restored`/`error` event of a client, in order. */
function record(client: WebSocketClient) {
  const log = {
    restored: [] as PendingMessage[][],
    failed: [] as { message: PendingMessage; error: SendError }[],
    errors: [] as ClientError[],
  };
  client.onEvent('restored', ({ messages }) => {
    log.restored.push(messages);
  });
  client.onEvent('sendFailed', (event) => {
    log.failed.push(event);
  });
  client.onEvent('error', (error) => {
    log.errors.push(error);
  });
  return log;
}

const stored = (id: string, at = T0, ttl = TTL): StoredMessage => ({
  conversationId: 'c1',
  clientMessageId: id,
  content: `text ${id}`,
  createdAt: at,
  expiresAt: at + ttl,
});

/** Lets promise callbacks (storage calls, events after a settle) run. */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('Outbox.restore', () => {
  function outbox(options: Partial<OutboxOptions> = {}) {
    return new Outbox({ ...OUTBOX_DEFAULTS, ...options }, { timers: { setTimeout, clearTimeout }, clock: Date });
  }
  const written: string[] = [];
  const writer = (message: { clientMessageId: string }) => {
    written.push(message.clientMessageId);
    return true;
  };
  beforeEach(() => {
    written.length = 0;
  });

  it('puts restored messages before those sent while the storage loaded, and writes nothing while held', () => {
    const box = outbox();
    box.hold();
    void box.enqueue({ conversationId: 'c1', clientMessageId: 'new', content: 'typed during the load' });
    box.attach(writer);
    expect(written).toEqual([]);
    const sends = box.restore([stored('r1', T0 - 2000), stored('r2', T0 - 1000)]);
    expect(sends.map((s) => s?.message.restored)).toEqual([true, true]);
    box.release();
    expect(written).toEqual(['r1', 'r2', 'new']);
    expect(box.pending().map((m) => [m.clientMessageId, m.createdAt])).toEqual([
      ['r1', T0 - 2000],
      ['r2', T0 - 1000],
      ['new', T0],
    ]);
  });

  it('a restored message expires at its own expiresAt, not a fresh TTL; one already past it is EXPIRED at once', async () => {
    const box = outbox();
    const [late, gone] = box.restore([stored('late', T0 - TTL + 5000), stored('gone', T0 - TTL - 1)]);
    await expect(gone!.ack).rejects.toMatchObject({ code: 'EXPIRED', clientMessageId: 'gone' });
    expect(box.pending().map((m) => m.clientMessageId)).toEqual(['late']);
    const lateOutcome = late!.ack.catch((error: SendError) => error);
    await vi.advanceTimersByTimeAsync(4999);
    expect(box.size).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await lateOutcome).toMatchObject({
      code: 'EXPIRED',
      message: expect.stringContaining(`No ack within ${TTL} ms`),
    });
  });

  it('restoring stays within the bounds (OUTBOX_FULL, never evicting) and skips an id already queued', async () => {
    const box = outbox({ maxMessages: 2, overflow: 'drop-oldest' });
    const queued = box.enqueue({ conversationId: 'c1', clientMessageId: 'a', content: 'queued' });
    const [dup, b, c] = box.restore([stored('a'), stored('b'), stored('c')]);
    expect(dup).toBeNull();
    expect(b!.message.clientMessageId).toBe('b');
    await expect(c!.ack).rejects.toMatchObject({ code: 'OUTBOX_FULL', clientMessageId: 'c' });
    expect(box.pending().map((m) => m.clientMessageId)).toEqual(['b', 'a']);
    const ended = Promise.allSettled([queued, b!.ack]);
    box.clear((id) => new SendError('DISPOSED', 'end of test', id));
    expect((await ended).map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('outbox storage', () => {
  it('send() puts the message in the storage; a new client on it (a reload) restores it as pending, with its time', async () => {
    const storage = new MemoryOutboxStorage();
    const first = offlineClient();
    await first.setOutboxStorage(storage);
    const sends = [
      first.send('c1', '第一条', { clientMessageId: 'm1' }),
      first.send('c1', '第二条', { clientMessageId: 'm2' }),
    ];
    for (const send of sends) send.catch(() => undefined);
    await settle();
    expect(storage.messages).toEqual([
      { conversationId: 'c1', clientMessageId: 'm1', content: '第一条', createdAt: T0, expiresAt: T0 + TTL },
      { conversationId: 'c1', clientMessageId: 'm2', content: '第二条', createdAt: T0, expiresAt: T0 + TTL },
    ]);

    // The page goes away (dispose, or just closed): what was stored stays stored.
    first.dispose();
    await settle();
    expect(storage.ids).toEqual(['m1', 'm2']);

    vi.setSystemTime(T0 + 60_000);
    const second = offlineClient();
    const log = record(second);
    await second.setOutboxStorage(storage);
    expect(log.restored).toHaveLength(1);
    expect(log.restored[0]!.map((m) => [m.clientMessageId, m.content, m.createdAt.getTime(), m.restored])).toEqual([
      ['m1', '第一条', T0, true],
      ['m2', '第二条', T0, true],
    ]);
    expect(second.pending('c1').map((m) => m.clientMessageId)).toEqual(['m1', 'm2']);
    expect(second.pending('other')).toEqual([]);
    expect(second.pendingMessages).toBe(2);
    // Restoring does not write them again.
    expect(storage.calls.filter((c) => c.startsWith('put'))).toEqual(['put m1', 'put m2']);
  });

  it('a message whose TTL ran out while the page was closed is reported as failed (EXPIRED) and deleted, not silently dropped', async () => {
    const storage = new MemoryOutboxStorage([stored('old', T0 - TTL - 1000), stored('fresh', T0 - 1000)]);
    const client = offlineClient();
    const log = record(client);
    await client.setOutboxStorage(storage);
    await settle();
    expect(log.restored[0]!.map((m) => m.clientMessageId)).toEqual(['old', 'fresh']);
    expect(log.failed.map(({ message, error }) => [message.clientMessageId, error.code])).toEqual([['old', 'EXPIRED']]);
    expect(storage.ids).toEqual(['fresh']);
    expect(client.pending().map((m) => m.clientMessageId)).toEqual(['fresh']);

    // The rest of its TTL (it was created 1 s ago), then it is reported and deleted too.
    await vi.advanceTimersByTimeAsync(TTL - 1000);
    expect(log.failed.map(({ message, error }) => [message.clientMessageId, error.code])).toEqual([
      ['old', 'EXPIRED'],
      ['fresh', 'EXPIRED'],
    ]);
    expect(storage.ids).toEqual([]);
  });

  it('another storage is another user: pending sends are DISCARDED (kept in their storage, never sent as the new user)', async () => {
    const alice = new MemoryOutboxStorage();
    const bob = new MemoryOutboxStorage([stored('bob-1')]);
    const client = offlineClient();
    const log = record(client);
    await client.setOutboxStorage(alice);
    const aliceSend = client.send('c1', 'from alice', { clientMessageId: 'alice-1' });
    await settle();

    await client.setOutboxStorage(bob);
    await expect(aliceSend).rejects.toMatchObject({ code: 'DISCARDED', clientMessageId: 'alice-1' });
    expect(alice.ids).toEqual(['alice-1']);
    expect(client.pending().map((m) => m.clientMessageId)).toEqual(['bob-1']);

    // Attaching the same storage again changes nothing (no discard, no second load).
    await client.setOutboxStorage(bob);
    expect(bob.calls.filter((c) => c === 'load')).toHaveLength(1);
    expect(client.pending().map((m) => m.clientMessageId)).toEqual(['bob-1']);

    // Signed out: memory only, nothing of Bob's left in it.
    await client.setOutboxStorage(null);
    expect(client.pendingMessages).toBe(0);
    expect(bob.ids).toEqual(['bob-1']);
    await settle();
    expect(log.failed.map(({ message, error }) => [message.clientMessageId, error.code])).toEqual([
      ['alice-1', 'DISCARDED'],
      ['bob-1', 'DISCARDED'],
    ]);
  });

  it('discardPending() empties the outbox without touching the storage; clearOutbox() (sign-out) empties both', async () => {
    const storage = new MemoryOutboxStorage([stored('other-tab')]);
    const client = offlineClient();
    await client.setOutboxStorage(storage);
    client.send('c1', 'mine', { clientMessageId: 'mine' }).catch(() => undefined);
    await settle();
    expect(storage.ids).toEqual(['other-tab', 'mine']);

    client.discardPending();
    expect(client.pendingMessages).toBe(0);
    expect(storage.ids).toEqual(['other-tab', 'mine']);

    client.send('c1', 'again', { clientMessageId: 'again' }).catch(() => undefined);
    await client.clearOutbox();
    expect(client.pendingMessages).toBe(0);
    expect(storage.ids).toEqual([]);
  });

  it('restored messages wait for the load: a send during a slow load goes after them', async () => {
    const storage = new MemoryOutboxStorage([stored('before-reload', T0 - 5000)]);
    const open = storage.holdLoads();
    const client = offlineClient();
    const attached = client.setOutboxStorage(storage);
    client.send('c1', 'typed while loading', { clientMessageId: 'during' }).catch(() => undefined);
    open();
    await attached;
    expect(client.pending().map((m) => m.clientMessageId)).toEqual(['before-reload', 'during']);
    expect(storage.ids).toEqual(['before-reload', 'during']);
  });

  it('a load that ends after another storage was attached is ignored', async () => {
    const slow = new MemoryOutboxStorage([stored('slow-1')]);
    const open = slow.holdLoads();
    const client = offlineClient();
    const log = record(client);
    const first = client.setOutboxStorage(slow);
    const second = client.setOutboxStorage(new MemoryOutboxStorage([stored('fast-1')]));
    await second;
    open();
    await first;
    expect(client.pending().map((m) => m.clientMessageId)).toEqual(['fast-1']);
    expect(log.restored.map((list) => list.map((m) => m.clientMessageId))).toEqual([['fast-1']]);
  });

  it('a failing storage is reported as STORAGE_FAILED and the outbox carries on in memory', async () => {
    const storage = new MemoryOutboxStorage();
    storage.failing.add('load');
    storage.failing.add('put');
    const client = offlineClient();
    const log = record(client);
    await client.setOutboxStorage(storage);
    client.send('c1', 'still queued', { clientMessageId: 'q' }).catch(() => undefined);
    await settle();
    expect(log.errors.map((e) => [e.code, e.reason])).toEqual([
      ['STORAGE_FAILED', 'the outbox storage failed to load: load failed'],
      ['STORAGE_FAILED', 'the outbox storage failed to put: put failed'],
    ]);
    expect(client.pending().map((m) => m.clientMessageId)).toEqual(['q']);
    expect(client.getSnapshot().lastError?.code).toBe('STORAGE_FAILED');
  });

  it('without a storage (the default, e.g. in Node) nothing outlives the client', async () => {
    const first = offlineClient();
    first.send('c1', 'memory only', { clientMessageId: 'm' }).catch(() => undefined);
    expect(first.pending().map((m) => m.clientMessageId)).toEqual(['m']);
    first.dispose();
    const second = offlineClient();
    expect(second.pending()).toEqual([]);
  });

  it('every send ends in one sendFailed event, also one refused at once (OUTBOX_FULL)', async () => {
    const client = offlineClient({ maxMessages: 1 });
    const log = record(client);
    client.send('c1', 'fits', { clientMessageId: 'a' }).catch(() => undefined);
    await expect(client.send('c1', 'does not fit', { clientMessageId: 'b' })).rejects.toMatchObject({
      code: 'OUTBOX_FULL',
    });
    expect(log.failed.map(({ message, error }) => [message.clientMessageId, message.content, error.code])).toEqual([
      ['b', 'does not fit', 'OUTBOX_FULL'],
    ]);
  });
});
