/**
 * An attempt that ends leaves nothing running: a ticket request still in flight is aborted, and no
 * timer of the attempt stays behind. (Connection clears these directly rather than through one
 * AbortController's `abort` event; see connection.ts for why.)
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocketClient } from '../src/index.ts';
import { FakeNetwork } from './support/fake-socket.ts';

let client: WebSocketClient | undefined;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  client?.dispose();
  client = undefined;
  vi.useRealTimers();
});

/** A ticket source that never answers on its own, and the signals it was given. */
function hangingTicketSource() {
  const signals: AbortSignal[] = [];
  const getTicket = ({ signal }: { signal: AbortSignal }) =>
    new Promise<string>((_, reject) => {
      signals.push(signal);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  return { signals, getTicket };
}

describe('an ended attempt', () => {
  it('aborts its ticket request when the app disconnects, and leaves no timer', async () => {
    const { signals, getTicket } = hangingTicketSource();
    client = new WebSocketClient({
      url: 'ws://api.test',
      getTicket,
      WebSocket: new FakeNetwork('fail').WebSocket,
      environment: null,
    });
    client.connect();
    await vi.advanceTimersByTimeAsync(0);
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(false);
    client.disconnect();
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBeInstanceOf(Error);
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(client.state.status).toBe('closed');
  });

  it('aborts its ticket request at the connection timeout and retries with a fresh one', async () => {
    const { signals, getTicket } = hangingTicketSource();
    const network = new FakeNetwork('fail');
    client = new WebSocketClient({
      url: 'ws://api.test',
      getTicket,
      WebSocket: network.WebSocket,
      environment: null,
      connectionTimeout: 5_000,
      reconnectInterval: 0,
    });
    client.connect();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(signals[0]?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(signals[0]?.aborted).toBe(true);
    expect(client.state.status).toBe('reconnecting');
    for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(1);
    // The next attempt asked for a ticket of its own, on a signal not aborted.
    expect(signals).toHaveLength(2);
    expect(signals[1]?.aborted).toBe(false);
    expect(network.sockets).toHaveLength(0);
  });

  it('does not abort a ticket request that already answered when its connection ends later', async () => {
    const signals: AbortSignal[] = [];
    const network = new FakeNetwork('fail');
    client = new WebSocketClient({
      url: 'ws://api.test',
      getTicket: async ({ signal }) => {
        signals.push(signal);
        return 'ticket';
      },
      WebSocket: network.WebSocket,
      environment: null,
    });
    client.connect();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(network.sockets.length).toBeGreaterThanOrEqual(1);
    // The socket failed and the attempt ended; the answered request's signal was left alone.
    expect(signals[0]?.aborted).toBe(false);
  });
});
