/**
 * Credentials against the real ticket endpoint: a refused token is refreshed ONCE, then the
 * client lands in `unauthorized` and stops instead of looping.
 */
import { describe, expect, it } from 'vitest';
import { type ClientError, UnauthorizedError, WebSocketClient } from '../src/index.ts';
import { clientFor, useTestApp, wsOrigin } from './support/real-api.ts';
import { countingWebSocket } from './support/sockets.ts';
import { recordStatuses, waitForState } from './support/wait.ts';

const app = useTestApp();

describe('unauthorized', () => {
  it('refreshes a token the ticket endpoint refuses once, then stops in unauthorized with no socket', async () => {
    const sockets = countingWebSocket();
    const requests: boolean[] = [];
    const client = new WebSocketClient({
      url: wsOrigin(app),
      getToken: async ({ refresh }) => {
        requests.push(refresh);
        return 'expired.or.forged.token';
      },
      WebSocket: sockets.WebSocket,
      environment: null,
      reconnectInterval: 10,
      maxReconnectDelay: 20,
    });
    const errors: ClientError[] = [];
    client.onEvent('error', (e) => {
      errors.push(e);
    });
    const statuses = recordStatuses(client);
    client.connect();

    const state = await waitForState(client, 'unauthorized');
    expect(state.reason).toMatch(/answered 401: TOKEN_INVALID/);
    expect(requests).toEqual([false, true]);
    expect(statuses).toEqual(['idle', 'connecting', 'unauthorized']);
    expect(sockets.created).toHaveLength(0);
    expect(errors.map((e) => e.code)).toEqual(['UNAUTHORIZED']);
    expect(client.listeningToEnvironment).toBe(false);
    client.dispose();
  });

  it('connects when the one refresh returns a good token', async () => {
    const { token } = await app.login('customer_789');
    const requests: boolean[] = [];
    const { client } = clientFor(app, 'customer_789', {
      getToken: async ({ refresh }) => {
        requests.push(refresh);
        return refresh ? token : 'stale-token';
      },
    });
    client.connect();
    await waitForState(client, 'open');
    expect(requests).toEqual([false, true]);
  });

  it('treats UnauthorizedError from getTicket like a 401', async () => {
    const calls: boolean[] = [];
    const { client } = clientFor(app, 'customer_456', {
      getToken: undefined,
      getTicket: async ({ refresh }) => {
        calls.push(refresh);
        throw new UnauthorizedError('session ended');
      },
    });
    client.connect();
    expect(await waitForState(client, 'unauthorized')).toEqual({ status: 'unauthorized', reason: 'session ended' });
    expect(calls).toEqual([false, true]);
  });

  it('retries with backoff when a ticket is refused at the upgrade (a browser only sees a failed open)', async () => {
    // A wrong ticket makes the server answer the upgrade with 401: the socket fails before open.
    let calls = 0;
    const { client, sockets } = clientFor(app, 'customer_456', {
      getToken: undefined,
      getTicket: async () => {
        calls += 1;
        if (calls === 1) return 'not-a-ticket';
        const { token } = await app.login('customer_456');
        return app.ticket(token);
      },
      reconnectInterval: 10,
      maxReconnectDelay: 20,
    });
    const failed = new Promise<ClientError>((resolve) => client.onEvent('error', resolve));
    client.connect();
    await waitForState(client, 'open');
    expect((await failed).code).toBe('CONNECTION_FAILED');
    expect(calls).toBe(2);
    expect(sockets.created).toHaveLength(2);
  });
});
