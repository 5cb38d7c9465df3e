/**
 * What the client does when the real server closes an open connection, by close code
 * (docs/protocol.md "Close codes"). The server-side socket is closed through the app's own
 * connection registry, so each code arrives exactly as the server would send it.
 */
import { CloseCode } from '@anmei/protocol';
import { describe, expect, it } from 'vitest';
import { type Codec, jsonCodec } from '../src/index.ts';
import { clientFor, FACIAL, useTestApp } from './support/real-api.ts';
import { nextEvent, waitForState } from './support/wait.ts';

const app = useTestApp();

/** Fast retries so each case finishes quickly; the real schedule is covered by the backoff tests. */
const FAST = { reconnectInterval: 20, maxReconnectDelay: 100 };

function closeOnServer(connectionId: string, code: number, reason: string): void {
  const connection = app.built.ctx.local.get(connectionId);
  if (!connection) throw new Error(`no server connection ${connectionId}`);
  connection.socket.close(code, reason);
}

describe('server close codes', () => {
  it.each([
    [CloseCode.normal, 'normal'],
    [CloseCode.goingAway, 'goingAway'],
    [CloseCode.policyViolation, 'policyViolation'],
    [CloseCode.internalError, 'internalError'],
    [CloseCode.heartbeatTimeout, 'heartbeatTimeout'],
    [CloseCode.slowConsumer, 'slowConsumer'],
  ])('reconnects with its resume ticket after %i (%s): a new ticket, no token request', async (code, name) => {
    const { client, sockets, tokenRequests } = clientFor(app, 'customer_456', FAST);
    client.connect();
    const first = await waitForState(client, 'open');
    const reconnecting = waitForState(client, 'reconnecting');
    closeOnServer(first.connectionId, code, name);

    expect((await reconnecting).cause).toEqual({ code, reason: name });
    const second = await waitForState(client, 'open', { where: (s) => s.connectionId !== first.connectionId });
    expect(second.userId).toBe(first.userId);
    expect(sockets.created).toHaveLength(2);
    expect(new Set(sockets.urls.map((u) => u.searchParams.get('ticket'))).size).toBe(2);
    // The second ticket is the one the first `connected` frame carried: no HTTP round trip.
    expect(tokenRequests).toEqual([{ refresh: false }]);
  });

  it.each([
    [CloseCode.forbidden, 'forbidden'],
    [CloseCode.tooManyInvalidFrames, 'too many invalid frames'],
  ])('stops cleanly after %i (%s): closed, an error event, no new socket', async (code, reason) => {
    const { client, sockets } = clientFor(app, 'customer_456', FAST);
    client.connect();
    const { connectionId } = await waitForState(client, 'open');
    const error = nextEvent(client, 'error');
    const closeEvent = nextEvent(client, 'close');
    closeOnServer(connectionId, code, reason);

    expect(await waitForState(client, 'closed')).toEqual({ status: 'closed', code, reason });
    expect(await closeEvent).toEqual({ code, reason, willRetry: false });
    expect(await error).toMatchObject({ code: 'CLOSED_BY_SERVER', closeCode: code });
    expect(sockets.created).toHaveLength(1);
    // A stopped client holds no retry timer: only an explicit connect() starts again.
    client.connect();
    await waitForState(client, 'open');
    expect(sockets.created).toHaveLength(2);
  });

  it('after 4001 asks for a refreshed token, then reconnects', async () => {
    const { client, tokenRequests } = clientFor(app, 'customer_456', FAST);
    client.connect();
    const first = await waitForState(client, 'open');
    closeOnServer(first.connectionId, CloseCode.unauthorized, 'token revoked');
    await waitForState(client, 'open', { where: (s) => s.connectionId !== first.connectionId });
    expect(tokenRequests).toEqual([{ refresh: false }, { refresh: true }]);
  });

  it('is closed with 4008 by the real server when its codec sends garbage, and does not retry', async () => {
    // The serializer seam: a codec whose frames the server cannot parse.
    const broken: Codec = { ...jsonCodec, encode: () => '{"this is": not json' };
    const { client, sockets } = clientFor(app, 'customer_456', { ...FAST, codec: broken });
    client.connect();
    await waitForState(client, 'open');
    const serverErrors: string[] = [];
    client.on('error', (frame) => {
      serverErrors.push(frame.data.code);
    });
    for (let i = 0; i < 12; i++) void client.send(app.conversationId(FACIAL), `garbage ${i}`).catch(() => undefined);

    expect(await waitForState(client, 'closed')).toMatchObject({ code: CloseCode.tooManyInvalidFrames });
    expect(serverErrors.length).toBeGreaterThan(0);
    expect(new Set(serverErrors)).toEqual(new Set(['MALFORMED_JSON']));
    expect(sockets.created).toHaveLength(1);
  });
});
