/**
 * Scenario 6's clients: each reconnects by itself after its server dies, the way a real user
 * of that target would.
 * - ours: the real `@anmei/client` state machine (full-jitter backoff 2 s → 30 s, a fresh
 *   single-use ticket from the HTTP API before every attempt, connection timeout, resume).
 * - Socket.IO: socket.io-client's built-in reconnection with its defaults (1 s ×2 up to 5 s,
 *   ±50 % randomisation).
 * - raw ws: a loop written here, full jitter with ours' defaults (retry n waits U[0, min(30 s,
 *   2 s·2^(n-1))]), so the two jittered clients are comparable.
 * No client library can be told "the server moved": a load balancer does that. `route(url)`
 * plays the load balancer — every attempt (and ours' ticket request) goes where it says now.
 */
import { type FetchLike, httpTicketSource, WebSocketClient, type WebSocketConstructor } from '@anmei/client';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import type { ClientSpec } from '../common/types.ts';
import { openWs } from './clients.ts';

export interface StormHooks {
  /** Where a client first sent to `url` (http://127.0.0.1:<port>) connects now. */
  route(url: string): string;
  /** The connection is open again after being lost. */
  reopened(): void;
  lost(): void;
  failedAttempt(): void;
  /** ours only: a ticket request starts, and its answer arrived (ok or not). */
  ticketRequested(): void;
  ticketReceived(): void;
}

export interface StormClient {
  readonly open: boolean;
  close(): void;
}

const WS_OPTIONS = { perMessageDeflate: false, skipUTF8Validation: true } as const;
/** Ours' client defaults (docs/client.md), also used by the raw ws loop. */
const BASE_MS = 2_000;
const MAX_MS = 30_000;

function waitFirstOpen(register: (resolve: () => void, reject: (e: Error) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('storm client: no first open within 60 s')), 60_000);
    register(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

async function connectOursStorm(spec: ClientSpec, hooks: StormHooks): Promise<StormClient> {
  const toWs = (http: string) => http.replace(/^http/, 'ws');
  // The SDK's `WebSocket` option: `ws`, with the origin swapped for the load balancer's current choice.
  class RoutedWebSocket extends WebSocket {
    constructor(url: string) {
      const target = new URL(url);
      const routed = new URL(toWs(hooks.route(spec.url)));
      target.host = routed.host;
      super(target.toString(), WS_OPTIONS);
    }
  }
  const fetchLike = ((url, init) => fetch(url, init)) as FetchLike;
  const client = new WebSocketClient({
    url: toWs(spec.url),
    // The SDK's own HTTP ticket source, pointed at the routed instance: tickets are single-use and per instance.
    getTicket: async (request) => {
      hooks.ticketRequested();
      try {
        return await httpTicketSource({
          apiUrl: hooks.route(spec.url),
          getToken: async () => spec.token!,
          fetch: fetchLike,
        })(request);
      } finally {
        hooks.ticketReceived();
      }
    },
    WebSocket: RoutedWebSocket as unknown as WebSocketConstructor,
    deviceType: 'desktop',
    environment: null,
  });
  let open = false;
  let first = true;
  await waitFirstOpen((resolve, reject) => {
    client.onEvent('open', () => {
      open = true;
      if (first) {
        first = false;
        resolve();
      } else hooks.reopened();
    });
    client.onEvent('close', () => {
      if (open) hooks.lost();
      open = false;
    });
    client.onEvent('error', (error) => {
      if (first && (error.code === 'UNAUTHORIZED' || error.code === 'RECONNECT_EXHAUSTED'))
        reject(new Error(error.reason));
      if (error.code === 'CONNECTION_FAILED' || error.code === 'CONNECT_TIMEOUT' || error.code === 'TICKET_FAILED') {
        hooks.failedAttempt();
      }
    });
    client.connect();
  });
  return {
    get open() {
      return open;
    },
    close: () => client.dispose(),
  };
}

async function connectSocketIoStorm(spec: ClientSpec, hooks: StormHooks): Promise<StormClient> {
  const socket = io(spec.url, { transports: ['websocket'], forceNew: true, reconnection: true });
  // The Manager re-reads its uri for every reconnect attempt: point it where the load balancer says.
  socket.io.on('reconnect_attempt', () => {
    (socket.io as unknown as { uri: string }).uri = hooks.route(spec.url);
  });
  socket.io.on('reconnect_error', () => hooks.failedAttempt());
  let open = false;
  let first = true;
  await waitFirstOpen((resolve, reject) => {
    socket.on('connect', () => {
      open = true;
      if (first) {
        first = false;
        resolve();
      } else hooks.reopened();
    });
    socket.on('connect_error', (e) => {
      if (first) reject(e);
    });
    socket.on('disconnect', () => {
      if (open) hooks.lost();
      open = false;
    });
  });
  return {
    get open() {
      return open;
    },
    close: () => socket.close(),
  };
}

async function connectRawStorm(spec: ClientSpec, hooks: StormHooks, random = Math.random): Promise<StormClient> {
  let open = false;
  let closed = false;
  let current: WebSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const watch = (ws: WebSocket) => {
    current = ws;
    open = true;
    ws.on('error', () => undefined);
    ws.once('close', () => {
      open = false;
      if (closed) return;
      hooks.lost();
      retry(1);
    });
  };
  const retry = (attempt: number) => {
    const ceiling = Math.min(MAX_MS, BASE_MS * 2 ** (attempt - 1));
    timer = setTimeout(
      () => {
        if (closed) return;
        openWs(hooks.route(spec.url).replace(/^http/, 'ws')).then(
          (ws) => {
            if (closed) return ws.close();
            watch(ws);
            hooks.reopened();
          },
          () => {
            hooks.failedAttempt();
            retry(attempt + 1);
          },
        );
      },
      Math.floor(random() * (ceiling + 1)),
    );
  };
  watch(await openWs(spec.url.replace(/^http/, 'ws')));
  return {
    get open() {
      return open;
    },
    close: () => {
      closed = true;
      clearTimeout(timer);
      current?.close();
    },
  };
}

export function connectStormClient(spec: ClientSpec, hooks: StormHooks): Promise<StormClient> {
  switch (spec.kind) {
    case 'ours':
      return connectOursStorm(spec, hooks);
    case 'socketio':
      return connectSocketIoStorm(spec, hooks);
    case 'rawws':
      return connectRawStorm(spec, hooks);
  }
}
