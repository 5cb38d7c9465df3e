/**
 * The reconnect schedule of the whole client under Vitest fake timers and a seeded random
 * source: which attempt runs when, when the budget resets, and how network and page events
 * change it. The transport is the scripted FakeNetwork (see fake-socket.ts for why).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff, type ClientOptions, type ConnectionState, seededRandom, WebSocketClient } from '../src/index.ts';
import { FakeNetwork, fakeBrowser } from './support/fake-socket.ts';
import { frameText } from './support/sockets.ts';

const SEED = 7;
let client: WebSocketClient | undefined;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  client?.dispose();
  client = undefined;
  vi.useRealTimers();
});

function make(network: FakeNetwork, overrides: Partial<ClientOptions> = {}) {
  const states: ConnectionState[] = [];
  client = new WebSocketClient({
    url: 'ws://api.test',
    getTicket: async () => 'ticket',
    WebSocket: network.WebSocket,
    environment: null,
    random: seededRandom(SEED),
    ...overrides,
  });
  client.onEvent('state', ({ state }) => {
    states.push(state);
  });
  return { client, states };
}

/** Lets the 0 ms socket timers and the ticket promises of the attempts already due run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(0);
}

/** The delays the client must use: the same seeded source, drawn in the same order. */
function expectedDelays(count: number): number[] {
  const backoff = new Backoff({ baseMs: 2_000, maxMs: 30_000, maxAttempts: 15, random: seededRandom(SEED) });
  return Array.from({ length: count }, () => backoff.next()!.delayMs);
}

describe('backoff schedule', () => {
  it('makes 1 + 15 attempts at the seeded full-jitter delays, then stops in failed with no timer left', async () => {
    const network = new FakeNetwork('fail');
    const { client, states } = make(network);
    client.connect();
    await settle();
    const delays = expectedDelays(15);

    for (let attempt = 1; attempt <= 15; attempt++) {
      const state = client.state;
      expect(state).toMatchObject({ status: 'reconnecting', attempt, maxAttempts: 15, delayMs: delays[attempt - 1] });
      if (state.status !== 'reconnecting') throw new Error('unreachable');
      expect(state.nextRetryAt).toBe(Date.now() + state.delayMs);
      expect(state.delayMs).toBeLessThanOrEqual(Math.min(30_000, 2_000 * 2 ** (attempt - 1)));
      const before = network.sockets.length;
      if (state.delayMs > 0) {
        await vi.advanceTimersByTimeAsync(state.delayMs - 1);
        expect(network.sockets.length).toBe(before);
      }
      await vi.advanceTimersByTimeAsync(state.delayMs === 0 ? 0 : 1);
      await settle();
      expect(network.sockets.length).toBe(before + 1);
    }

    expect(client.state).toEqual({ status: 'failed', code: 1006, reason: '', attempts: 15 });
    expect(network.sockets).toHaveLength(16);
    expect(states.filter((s) => s.status === 'connecting').map((s) => s.status === 'connecting' && s.attempt)).toEqual(
      Array.from({ length: 16 }, (_, i) => i),
    );
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(network.sockets).toHaveLength(16);
  });

  it('resets the attempt counter only after the connection stayed up for stableConnectionTime', async () => {
    const network = new FakeNetwork('accept').script('fail', 'fail', 'accept');
    const { client } = make(network, { stableConnectionTime: 10_000 });
    const delays = expectedDelays(3);
    client.connect();
    await settle();
    await vi.advanceTimersByTimeAsync(delays[0]!);
    await settle();
    await vi.advanceTimersByTimeAsync(delays[1]!);
    await settle();
    expect(client.state.status).toBe('open');

    // Up for 9.999 s only, then dropped: the count goes on (3rd retry).
    await vi.advanceTimersByTimeAsync(9_999);
    network.last.serverClose(1006, '');
    expect(client.state).toMatchObject({ status: 'reconnecting', attempt: 3, delayMs: delays[2] });
    await vi.advanceTimersByTimeAsync(delays[2]!);
    await settle();
    expect(client.state.status).toBe('open');

    // Up for 10 s: stable, so the next drop starts again at 1.
    await vi.advanceTimersByTimeAsync(10_000);
    network.last.serverClose(1011, 'internal');
    expect(client.state).toMatchObject({
      status: 'reconnecting',
      attempt: 1,
      cause: { code: 1011, reason: 'internal' },
    });
  });

  it('does not count server reconnect notices: with maxReconnectAttempts 0 it still moves 20 times', async () => {
    const network = new FakeNetwork('accept');
    const { client } = make(network, { maxReconnectAttempts: 0 });
    client.connect();
    await settle();
    for (let i = 0; i < 20; i++) {
      expect(client.state.status).toBe('open');
      network.last.serverSend(frameText('reconnect', { reason: 'server_draining', retry_after_ms: 500 }));
      network.last.serverClose(1001, 'server draining');
      expect(client.state).toMatchObject({ status: 'reconnecting', attempt: 0 });
      await vi.advanceTimersByTimeAsync(500 + 1_000);
    }
    expect(client.state.status).toBe('open');
    expect(network.sockets).toHaveLength(21);
  });
});

describe('network and page events', () => {
  it('offline goes to offline without burning attempts; online retries at once with a fresh budget', async () => {
    const browser = fakeBrowser();
    const network = new FakeNetwork('accept');
    const { client } = make(network, { environment: browser });
    client.connect();
    await settle();
    expect(client.state.status).toBe('open');

    browser.goOffline();
    expect(client.state.status).toBe('offline');
    expect(network.last.closedByClient).toEqual({ code: 1000, reason: 'offline' });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(network.sockets).toHaveLength(1);

    browser.goOnline();
    expect(client.state).toEqual({ status: 'connecting', attempt: 0 });
    await settle();
    expect(client.state.status).toBe('open');
    expect(network.sockets).toHaveLength(2);
  });

  it('connect() while the browser is offline waits in offline and makes no attempt', async () => {
    const browser = fakeBrowser();
    browser.window.navigator.onLine = false;
    const network = new FakeNetwork('accept');
    const { client } = make(network, { environment: browser });
    client.connect();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(client.state.status).toBe('offline');
    expect(network.sockets).toHaveLength(0);
    browser.goOnline();
    await settle();
    expect(client.state.status).toBe('open');
  });

  it('a retry that falls due while the page is hidden waits until it is visible', async () => {
    const browser = fakeBrowser();
    const network = new FakeNetwork('accept').script('accept', 'fail');
    const { client } = make(network, { environment: browser });
    client.connect();
    await settle();
    browser.hide();
    network.last.serverClose(1006, '');
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(network.sockets).toHaveLength(1);
    expect(client.state.status).toBe('reconnecting');

    browser.show();
    expect(network.sockets).toHaveLength(1);
    await settle();
    expect(network.sockets).toHaveLength(2);
  });

  it('visible again probes an open connection with a ping', async () => {
    const browser = fakeBrowser();
    const network = new FakeNetwork('accept');
    const { client } = make(network, { environment: browser });
    client.connect();
    await settle();
    browser.hide();
    browser.show();
    // `resume` was sent when the connection opened; the probe is the ping after it.
    expect(network.last.sent.map((t) => JSON.parse(t).action)).toEqual(['resume', 'ping']);
  });

  it('pagehide closes the socket; pageshow reconnects', async () => {
    const browser = fakeBrowser();
    const network = new FakeNetwork('accept');
    const { client } = make(network, { environment: browser });
    client.connect();
    await settle();
    browser.pageHide();
    expect(client.state).toEqual({ status: 'closed', code: 1000, reason: 'page hidden' });
    expect(network.last.closedByClient).toEqual({ code: 1000, reason: 'page hidden' });
    browser.pageShow();
    await settle();
    expect(client.state.status).toBe('open');
    expect(network.sockets).toHaveLength(2);
  });

  it('after disconnect() nothing resumes it: online, visible and pageshow are ignored', async () => {
    const browser = fakeBrowser();
    const network = new FakeNetwork('accept');
    const { client } = make(network, { environment: browser });
    client.connect();
    await settle();
    client.disconnect();
    expect(browser.window.listeners + browser.document.listeners).toBe(0);
    browser.goOffline();
    browser.goOnline();
    browser.hide();
    browser.show();
    browser.pageShow();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(client.state).toEqual({ status: 'closed', code: 1000, reason: 'client disconnect' });
    expect(network.sockets).toHaveLength(1);
  });
});

describe('lifecycle', () => {
  it('creating a client has no side effects: no socket, timer or global listener', () => {
    const browser = fakeBrowser();
    const network = new FakeNetwork('accept');
    make(network, { environment: browser });
    expect(network.sockets).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(browser.window.listeners + browser.document.listeners).toBe(0);
  });

  it('dispose() removes every global listener, socket listener and timer, and rejects pending sends', async () => {
    const browser = fakeBrowser();
    const network = new FakeNetwork('accept');
    const { client } = make(network, { environment: browser, heartbeatInterval: 1_000 });
    client.connect();
    await settle();
    expect(browser.window.listeners + browser.document.listeners).toBeGreaterThan(0);
    const pending = client.send('c1', 'never acked');

    client.dispose();

    await expect(pending).rejects.toMatchObject({ code: 'DISPOSED' });
    expect(browser.window.listeners + browser.document.listeners).toBe(0);
    expect(network.last.listenerCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(() => client.connect()).toThrow('connect() called on a disposed client');
  });
});
