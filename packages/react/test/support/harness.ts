/**
 * React tests against the real API: the provider gets a real client (ws sockets counted, real
 * login and tickets, the DOM's window and document for online/visibility/pagehide), and the
 * server's own events tell which connections opened and closed.
 */
import type { ClientOptions } from '@anmei/client';
import { configure } from '@testing-library/react';
import type { ConnectionInfo } from '../../../../apps/api/src/realtime/types.ts';
import type { TestApp } from '../../../client/test/support/real-api.ts';
import { wsOrigin } from '../../../client/test/support/real-api.ts';
import { countingWebSocket, type SocketCounter } from '../../../client/test/support/sockets.ts';

// Real logins, tickets and sockets on a busy CI machine: wait up to 5 s (the default is 1 s).
configure({ asyncUtilTimeout: 5_000 });

export interface Harness {
  options: ClientOptions;
  sockets: SocketCounter;
  tokenRequests: number;
  /** Connections of this user the server accepted since the harness was made, and which of them closed. */
  opened: ConnectionInfo[];
  closed: { connection: ConnectionInfo; code: number }[];
  /** Server connections still open for this harness's user. */
  live(): number;
  stop(): void;
}

export function harness(app: TestApp, username: string, extra: Partial<ClientOptions> = {}): Harness {
  const sockets = countingWebSocket();
  const userId = app.userId(username);
  const h: Harness = {
    sockets,
    tokenRequests: 0,
    opened: [],
    closed: [],
    options: {
      url: wsOrigin(app),
      getToken: async () => {
        h.tokenRequests += 1;
        return (await app.login(username)).token;
      },
      WebSocket: sockets.WebSocket,
      ...extra,
    },
    live: () => h.opened.length - h.closed.length,
    stop: () => undefined,
  };
  const offOpened = app.built.ctx.events.on('connection.opened', ({ connection }) => {
    if (connection.userId === userId) h.opened.push(connection);
  });
  const offClosed = app.built.ctx.events.on('connection.closed', ({ connection, code }) => {
    // Only connections this harness saw open: a previous test's socket may still be closing.
    if (h.opened.some((c) => c.connectionId === connection.connectionId)) h.closed.push({ connection, code });
  });
  h.stop = () => {
    offOpened();
    offClosed();
  };
  return h;
}
