/** Talks to one API base URL (an in-process app, a child process, or nginx) like a real client. */
import WebSocket from 'ws';
import { TestSocket } from './test-socket.ts';

export const DEMO_PASSWORD = 'demo1234';

export interface HttpResult {
  status: number;
  body: any;
  headers: Headers;
}

export interface ConnectOptions {
  deviceType?: 'mobile' | 'desktop' | 'tablet';
  connectionType?: 'chat' | 'admin';
}

export class ApiClient {
  readonly baseUrl: string;
  readonly wsUrl: string;
  readonly #tokens = new Map<string, { token: string; userId: string }>();

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
    this.wsUrl = `${baseUrl.replace(/^http/, 'ws')}/api/v1/ws`;
  }

  async http(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<HttpResult> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(options.body !== undefined
        ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
        : {}),
    });
    const text = await response.text();
    let body: unknown = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    return { status: response.status, body, headers: response.headers };
  }

  /** Access token for a demo user (cached per username). */
  async login(username: string, password = DEMO_PASSWORD): Promise<{ token: string; userId: string }> {
    const cached = this.#tokens.get(username);
    if (cached && password === DEMO_PASSWORD) return cached;
    const res = await this.http('POST', '/api/v1/auth/login', { body: { username, password } });
    if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    const entry = { token: res.body.access_token as string, userId: res.body.user.id as string };
    this.#tokens.set(username, entry);
    return entry;
  }

  async ticket(token: string): Promise<string> {
    const res = await this.http('POST', '/api/v1/ws/ticket', { token });
    if (res.status !== 200) throw new Error(`ticket failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.ticket as string;
  }

  /** Log in, get a ticket, open a real WebSocket; resolves after the `connected` frame. */
  async connect(username: string, options: ConnectOptions = {}): Promise<TestSocket> {
    const { token } = await this.login(username);
    const query = new URLSearchParams({
      ticket: await this.ticket(token),
      device_type: options.deviceType ?? 'desktop',
      connection_type: options.connectionType ?? 'chat',
    });
    const socket = new TestSocket(new WebSocket(`${this.wsUrl}?${query}`));
    await socket.waitFor('connected');
    return socket;
  }
}
