/**
 * Behaviour against peers the real API cannot play on demand: a server that stops answering
 * (heartbeat timeout), and one that asks clients to move (`reconnect` frame). Real sockets on
 * 127.0.0.1:0, raw `ws` server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { type ClientError, WebSocketClient } from '../src/index.ts';
import { connectedFrameText, countingWebSocket, frameText, type RawServer, startRawServer } from './support/sockets.ts';
import { until, waitForState } from './support/wait.ts';

let server: RawServer | undefined;
let client: WebSocketClient | undefined;

afterEach(async () => {
  client?.dispose();
  await server?.close();
  client = undefined;
  server = undefined;
});

function clientOf(raw: RawServer, overrides: Partial<ConstructorParameters<typeof WebSocketClient>[0]> = {}) {
  const sockets = countingWebSocket();
  const made = new WebSocketClient({
    url: raw.url,
    getTicket: async () => 'raw-ticket',
    WebSocket: sockets.WebSocket,
    environment: null,
    ...overrides,
  });
  client = made;
  return { client: made, sockets };
}

/** Answers `ping` frames with `pong` (like the real server) unless `silent()` says otherwise. */
function answerPings(socket: WebSocket, silent: () => boolean): void {
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { action: string; data?: { ts?: number } };
    if (frame.action === 'ping' && !silent()) {
      socket.send(frameText('pong', { ts: frame.data?.ts, server_time: new Date().toISOString() }));
    }
  });
}

describe('heartbeat', () => {
  it('keeps a connection whose server answers pings, and reports the RTT', async () => {
    server = await startRawServer((socket, i) => {
      socket.send(connectedFrameText(i));
      answerPings(socket, () => false);
    });
    const { client } = clientOf(server, { heartbeatInterval: 50, heartbeatTimeout: 200 });
    client.connect();
    await waitForState(client, 'open');
    const rtts: number[] = [];
    client.onEvent('rtt', ({ rttMs }) => {
      rtts.push(rttMs);
    });
    await until(() => rtts.length >= 5, 'five answered heartbeat pings');
    expect(client.state.status).toBe('open');
    expect(server.connections).toHaveLength(1);
  });

  it('declares a server that stops answering dead after interval + timeout, and reconnects', async () => {
    let silent = false;
    server = await startRawServer((socket, i) => {
      socket.send(connectedFrameText(i));
      answerPings(socket, () => silent && i === 0);
    });
    const { client, sockets } = clientOf(server, {
      heartbeatInterval: 100,
      heartbeatTimeout: 150,
      reconnectInterval: 10,
      maxReconnectDelay: 10,
    });
    const errors: ClientError[] = [];
    client.onEvent('error', (e) => {
      errors.push(e);
    });
    client.connect();
    await waitForState(client, 'open');
    const rttBefore = new Promise<void>((resolve) => client.onEvent('rtt', () => resolve()));
    await rttBefore;

    silent = true;
    const stoppedAt = Date.now();
    const reconnecting = await waitForState(client, 'reconnecting', { timeoutMs: 3_000 });
    const detectedAfter = Date.now() - stoppedAt;

    expect(reconnecting.cause).toEqual({ code: 4000, reason: 'no frame within 150 ms of a ping' });
    expect(errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']);
    // At most one idle interval, then the timeout (plus scheduling slack).
    expect(detectedAfter).toBeLessThan(100 + 150 + 1_000);
    await waitForState(client, 'open', { where: (s) => s.connectionId === 'raw-1' });
    expect(sockets.created).toHaveLength(2);
    // The dead socket was closed by the client with 4000.
    await until(() => server!.connections[0]!.readyState === 3, 'the first server socket to close');
  });
});

describe('server reconnect notice', () => {
  it('waits retry_after_ms (plus jitter), does not count it as an attempt, and keeps reading late acks', async () => {
    const RETRY_AFTER = 300;
    server = await startRawServer((socket, i) => {
      socket.send(connectedFrameText(i));
      if (i > 0) return;
      socket.on('message', (data) => {
        const frame = JSON.parse(String(data)) as { action: string; request_id: string; data: Record<string, string> };
        if (frame.action !== 'send_message') return;
        // Drain notice first, the ack of the frame it already received after it, then 1001.
        socket.send(frameText('reconnect', { reason: 'server_draining', retry_after_ms: RETRY_AFTER }));
        socket.send(
          frameText('ack', {
            request_id: frame.request_id,
            message_id: 'm1',
            conversation_id: frame.data.conversation_id,
            seq: 1,
            client_message_id: frame.data.client_message_id,
            duplicate: false,
            created_at: new Date().toISOString(),
          }),
        );
        socket.close(1001, 'server draining');
      });
    });
    const { client } = clientOf(server, { reconnectInterval: 100, maxReconnectAttempts: 0 });
    client.connect();
    await waitForState(client, 'open');
    const moving = waitForState(client, 'reconnecting');
    const ack = client.send('c1', 'sent just before the drain');
    const noticeAt = Date.now();

    const state = await moving;
    expect(state.attempt).toBe(0);
    expect(state.cause).toEqual({ code: 1001, reason: 'server draining' });
    expect(state.delayMs).toBeGreaterThanOrEqual(RETRY_AFTER);
    expect(state.delayMs).toBeLessThanOrEqual(RETRY_AFTER + 50);
    expect((await ack).messageId).toBe('m1');

    // maxReconnectAttempts is 0: had the move counted as an attempt, the client would have failed.
    await waitForState(client, 'open', { where: (s) => s.connectionId === 'raw-1' });
    expect(Date.now() - noticeAt).toBeGreaterThanOrEqual(RETRY_AFTER - 20);
  });
});

describe('connection timeout', () => {
  it('gives up an attempt whose server never sends connected, and retries', async () => {
    server = await startRawServer(() => undefined);
    const { client, sockets } = clientOf(server, {
      connectionTimeout: 200,
      reconnectInterval: 10,
      maxReconnectDelay: 10,
    });
    const error = new Promise<ClientError>((resolve) => client.onEvent('error', resolve));
    client.connect();
    expect(await error).toMatchObject({ code: 'CONNECT_TIMEOUT', reason: 'no connected frame within 200 ms' });
    await until(() => sockets.created.length >= 2, 'a second attempt');
  });
});
