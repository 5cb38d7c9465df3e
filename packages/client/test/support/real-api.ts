/**
 * Clients against the REAL API started in-process (apps/api/test/support/test-app.ts): real
 * HTTP login and ticket, real WebSocket, real store.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startTestApp, type TestApp } from '../../../../apps/api/test/support/test-app.ts';
import { type ClientOptions, WebSocketClient } from '../../src/index.ts';
import { countingWebSocket, type SocketCounter } from './sockets.ts';

export { FACIAL, FOLLOW_UP } from '../../../../apps/api/test/support/test-app.ts';
export { startTestApp, type TestApp };

/** ws://127.0.0.1:<port>: what an app would put in NEXT_PUBLIC_WS_URL. */
export function wsOrigin(app: TestApp): string {
  return app.baseUrl.replace('http', 'ws');
}

export interface TestClient {
  client: WebSocketClient;
  sockets: SocketCounter;
  /** How many times the client asked for an access token, and with `refresh` set. */
  tokenRequests: { refresh: boolean }[];
}

const clients = new Set<WebSocketClient>();

/** A client logged in as `username` through getToken (so the client fetches its own tickets). */
export function clientFor(app: TestApp, username: string, overrides: Partial<ClientOptions> = {}): TestClient {
  const sockets = countingWebSocket();
  const tokenRequests: { refresh: boolean }[] = [];
  const client = new WebSocketClient({
    url: wsOrigin(app),
    getToken: async ({ refresh }) => {
      tokenRequests.push({ refresh });
      return (await app.login(username)).token;
    },
    WebSocket: sockets.WebSocket,
    environment: null,
    ...overrides,
  });
  clients.add(client);
  return { client, sockets, tokenRequests };
}

/** Dispose every client made by clientFor (call in afterEach/afterAll). */
export function disposeClients(): void {
  for (const client of clients) client.dispose();
  clients.clear();
}

/**
 * One real API for the test file: started before its tests, every client of clientFor disposed
 * after each test, the API closed at the end. The returned object stands for the started app
 * (use it inside tests and hooks, not at module level).
 */
export function useTestApp(env: Record<string, string> = {}): TestApp {
  let started: TestApp | undefined;
  beforeAll(async () => {
    started = await startTestApp(env);
  });
  afterEach(() => disposeClients());
  afterAll(async () => {
    await started?.close();
  });
  return new Proxy({} as TestApp, {
    get(_target, key) {
      if (started === undefined)
        throw new Error('useTestApp(): the API starts in beforeAll; use it inside a test or hook');
      const value: unknown = Reflect.get(started, key);
      return typeof value === 'function' ? value.bind(started) : value;
    },
  });
}
