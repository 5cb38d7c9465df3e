/**
 * Starts the real API in-process on 127.0.0.1:0 with an in-memory PGlite and seeded demo
 * data, and gives tests small, honest helpers: log in, get a ticket, open a real WebSocket.
 */

import WebSocket from 'ws';
import { type BuiltApp, buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { DEMO_PASSWORD } from '../../src/db/seed.ts';
import { LogCapture } from './log-capture.ts';
import { TestSocket } from './test-socket.ts';

export interface TestApp {
  built: BuiltApp;
  baseUrl: string;
  wsUrl: string;
  logs: LogCapture;
  /** fetch against the app with JSON in/out. */
  http(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  login(username: string, password?: string): Promise<{ token: string; userId: string }>;
  ticket(token: string): Promise<string>;
  /** Log in (cached per username) and open an authenticated socket; resolves after the `connected` frame. */
  connect(
    username: string,
    options?: { deviceType?: 'mobile' | 'desktop' | 'tablet'; connectionType?: 'chat' | 'admin' },
  ): Promise<TestSocket>;
  userId(username: string): string;
  conversationId(title: string): string;
  close(): Promise<void>;
}

export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
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
  const built = await buildApp(config, { logDestination: logs });
  const { url } = await built.listen();
  const wsUrl = `${url.replace('http', 'ws')}/api/v1/ws`;
  const seed = built.seed;
  if (!seed) throw new Error('test app expected demo data to be seeded');
  const tokens = new Map<string, { token: string; userId: string }>();
  const sockets: TestSocket[] = [];

  const http: TestApp['http'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(`${url}${path}`, {
      method,
      headers,
      ...(options.body !== undefined
        ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
        : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  };

  const login: TestApp['login'] = async (username, password = DEMO_PASSWORD) => {
    const cached = tokens.get(username);
    if (cached && password === DEMO_PASSWORD) return cached;
    const res = await http('POST', '/api/v1/auth/login', { body: { username, password } });
    if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    const entry = { token: res.body.access_token as string, userId: res.body.user.id as string };
    tokens.set(username, entry);
    return entry;
  };

  const ticket: TestApp['ticket'] = async (token) => {
    const res = await http('POST', '/api/v1/ws/ticket', { token });
    if (res.status !== 200) throw new Error(`ticket failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.ticket as string;
  };

  return {
    built,
    baseUrl: url,
    wsUrl,
    logs,
    http,
    login,
    ticket,
    async connect(username, options = {}) {
      const { token } = await login(username);
      const t = await ticket(token);
      const query = new URLSearchParams({
        ticket: t,
        device_type: options.deviceType ?? 'desktop',
        connection_type: options.connectionType ?? 'chat',
      });
      const socket = new TestSocket(new WebSocket(`${wsUrl}?${query}`));
      sockets.push(socket);
      await socket.waitFor('connected');
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
