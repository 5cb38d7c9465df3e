/**
 * Starts the real API in-process on 127.0.0.1:0 with an in-memory PGlite and seeded demo
 * data, and gives tests small, honest helpers: log in, get a ticket, open a real WebSocket.
 */
import { type BuildOptions, type BuiltApp, buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { ApiClient, type ConnectOptions, type HttpResult } from './api-client.ts';
import { LogCapture } from './log-capture.ts';
import type { TestSocket } from './test-socket.ts';

export interface TestApp {
  built: BuiltApp;
  baseUrl: string;
  /** GET /metrics on its own listener (METRICS_PORT set); undefined when it is served on baseUrl. */
  metricsUrl: string | undefined;
  wsUrl: string;
  logs: LogCapture;
  client: ApiClient;
  /** fetch against the app with JSON in/out. */
  http: ApiClient['http'];
  login: ApiClient['login'];
  ticket: ApiClient['ticket'];
  /** Log in (cached per username) and open an authenticated socket; resolves after the `connected` frame. */
  connect(username: string, options?: ConnectOptions): Promise<TestSocket>;
  userId(username: string): string;
  conversationId(title: string): string;
  close(): Promise<void>;
}

export type { HttpResult };

export async function startTestApp(
  env: Record<string, string> = {},
  options: Pick<BuildOptions, 'notificationProvider' | 'notificationProviders'> = {},
): Promise<TestApp> {
  const logs = new LogCapture();
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: 'memory://',
    LOG_LEVEL: 'debug',
    SEED_DEMO_DATA: 'true',
    ...env,
  });
  const built = await buildApp(config, { ...options, logDestination: logs });
  const { url, metricsUrl } = await built.listen();
  const seed = built.seed;
  if (!seed) throw new Error('test app expected demo data to be seeded');
  const client = new ApiClient(url);
  const sockets: TestSocket[] = [];

  return {
    built,
    baseUrl: url,
    metricsUrl,
    wsUrl: client.wsUrl,
    logs,
    client,
    http: (...args) => client.http(...args),
    login: (...args) => client.login(...args),
    ticket: (...args) => client.ticket(...args),
    async connect(username, options = {}) {
      const socket = await client.connect(username, options);
      sockets.push(socket);
      return socket;
    },
    userId(username) {
      const user = seed.users.find((u) => u.username === username);
      if (!user) throw new Error(`no demo user ${username}`);
      return user.id;
    },
    conversationId(title) {
      const conversation = seed.conversations.find((c) => c.title === title);
      if (!conversation) throw new Error(`no demo conversation ${title}`);
      return conversation.id;
    },
    async close() {
      await Promise.all(sockets.map((s) => s.close()));
      await built.close();
    },
  };
}

export const FACIAL = '王小姐的面部护理咨询';
export const FOLLOW_UP = '李先生的术后复诊';
