/**
 * The README's start path as a real child process: `node --conditions=@anmei/source --import tsx
 * apps/api/src/main.ts` (what `npm start` runs for the API) from the repo root, with no configuration
 * but a free port and a fresh DATA_DIR. Not the `tsx` CLI: it relays SIGTERM through an IPC
 * handshake that gives up after 2 × 30 ms and then SIGKILLs the server and exits 143, which a
 * busy CI machine hit once; node receives the signal itself, as in production. Every wait is for output,
 * an HTTP answer, a frame or an exit, each with a deadline; nothing sleeps.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloseCode } from '@anmei/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEMO_PASSWORD, DEMO_USERS } from '../src/db/seed.ts';
import { FACIAL } from './support/test-app.ts';
import { TestSocket } from './support/test-socket.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'apps', 'api', 'src', 'main.ts');
/** Start-up compiles TypeScript, opens PGlite and hashes demo passwords: generous, but bounded. */
const START_DEADLINE_MS = 30_000;

const children = new Set<ApiProcess>();
const tempDirs: string[] = [];
const sockets: TestSocket[] = [];

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  for (const child of children) child.kill();
  await Promise.all([...children].map((c) => c.exited));
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'anmei-start-'));
  tempDirs.push(dir);
  return dir;
}

/** A spawned `node --import tsx main.ts`, its stdout split into whole lines as they arrive. */
class ApiProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #partial = '';
  readonly #waiters = new Set<() => void>();
  #exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--conditions=@anmei/source', '--import', 'tsx', MAIN], {
      cwd: ROOT,
      // Only what the README asks for: no inherited NODE_ENV, DATABASE_URL, REDIS_URL, ...
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group, so cleanup can end it and anything it started, by this PID.
      detached: true,
    });
    children.add(this);
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const text = this.#partial + chunk;
      const parts = text.split('\n');
      this.#partial = parts.pop() ?? '';
      this.lines.push(...parts);
      this.#wake();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.#wake();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        children.delete(this);
        this.#wake();
        resolve(this.#exit);
      });
    });
  }

  /** stdout lines that are pino JSON records. */
  records(): Array<Record<string, unknown>> {
    return this.lines.flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Resolves once `check` returns a value; rejects at the deadline or if the process exits first. */
  until<T>(check: () => T | undefined, what: string, timeoutMs = START_DEADLINE_MS): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (value !== undefined) return finish(() => resolve(value));
        if (this.#exit)
          return finish(() =>
            reject(new Error(`process exited (${JSON.stringify(this.#exit)}) before ${what}${this.#output()}`)),
          );
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${this.#output()}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(attempt);
        settle();
      };
      this.#waiters.add(attempt);
      attempt();
    });
  }

  /** The URL from the "api listening" log line. */
  listening(): Promise<string> {
    return this.until(() => {
      const record = this.records().find((r) => r.msg === 'api listening');
      return typeof record?.url === 'string' ? record.url : undefined;
    }, 'the "api listening" log line');
  }

  /** Ends the whole process group; used only for cleanup. */
  kill(): void {
    if (this.#exit || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #output(): string {
    return `\n--- stdout ---\n${this.lines.join('\n')}${this.#partial}\n--- stderr ---\n${this.stderr}`;
  }
}

async function startApi(dataDir: string, extraEnv: Record<string, string> = {}) {
  const api = new ApiProcess({ PORT: '0', DATA_DIR: dataDir, ...extraEnv });
  const url = await api.listening();
  return { api, url };
}

async function http(url: string, method: string, path: string, options: { token?: string; body?: unknown } = {}) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: text.startsWith('{') ? JSON.parse(text) : null,
  };
}

async function login(url: string, username: string) {
  const res = await http(url, 'POST', '/api/v1/auth/login', { body: { username, password: DEMO_PASSWORD } });
  expect(res.status, res.text).toBe(200);
  return { token: res.body.access_token as string, userId: res.body.user.id as string };
}

async function openSocket(url: string, token: string): Promise<TestSocket> {
  const ticket = await http(url, 'POST', '/api/v1/ws/ticket', { token });
  expect(ticket.status, ticket.text).toBe(200);
  const wsUrl = `${url.replace(/^http/, 'ws')}${ticket.body.ws_path}?ticket=${ticket.body.ticket}&device_type=desktop`;
  const socket = new TestSocket(new WebSocket(wsUrl));
  sockets.push(socket);
  await socket.waitFor('connected');
  return socket;
}

async function facialConversationId(url: string, token: string): Promise<string> {
  const res = await http(url, 'GET', '/api/v1/conversations', { token });
  expect(res.status).toBe(200);
  const facial = res.body.conversations.find((c: { title: string }) => c.title === FACIAL);
  expect(facial, 'the seeded FACIAL conversation').toBeDefined();
  return facial.id;
}

async function stop(api: ApiProcess) {
  api.child.kill('SIGTERM');
  return api.exited;
}

describe('npm start (node --import tsx apps/api/src/main.ts)', () => {
  it('starts with no configuration, prints the demo accounts, serves HTTP and WebSocket chat, and stops cleanly on SIGTERM', async () => {
    const dataDir = join(await freshDir(), 'data');
    const { api, url } = await startApi(dataDir);

    // PORT=0 picks a free port; the log line reports a URL a client on this machine can use.
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(url).port)).toBeGreaterThan(0);
    const listening = api.records().find((r) => r.msg === 'api listening');
    expect(listening).toMatchObject({ level: 30, database: 'pglite', bus: 'memory', push: ['logging', 'webpush'] });

    const banner = await api.until(() => {
      const text = api.lines.join('\n');
      return DEMO_USERS.every((u) => text.includes(u.username)) ? text : undefined;
    }, 'the demo-accounts banner');
    expect(banner).toContain(`AnmeiSmart Realtime is up at ${url}  (API docs: ${url}/docs)`);
    expect(banner).toContain(`Demo accounts (password "${DEMO_PASSWORD}"):`);
    for (const user of DEMO_USERS) {
      expect(
        api.lines.some((l) => l.includes(user.role) && l.includes(user.username) && l.includes(user.displayName)),
      ).toBe(true);
    }

    const health = await http(url, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      status: 'ok',
      database: { kind: 'pglite', status: 'ok' },
      bus: expect.objectContaining({ kind: 'memory' }),
    });
    const docs = await http(url, 'GET', '/docs');
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);

    const customer = await login(url, 'customer_456');
    const consultant = await login(url, 'consultant_001');
    const customerSocket = await openSocket(url, customer.token);
    const consultantSocket = await openSocket(url, consultant.token);
    const conversationId = await facialConversationId(url, customer.token);
    const content = `over a real socket ${randomUUID()}`;
    customerSocket.send({
      action: 'send_message',
      request_id: 'start-1',
      data: { conversation_id: conversationId, client_message_id: randomUUID(), content },
    });
    const [ack] = await customerSocket.waitFor('ack');
    expect(ack?.data).toMatchObject({ request_id: 'start-1', conversation_id: conversationId, duplicate: false });
    const [delivered] = await consultantSocket.waitFor('new_message', { where: (f) => f.data.content === content });
    expect(delivered?.data).toMatchObject({ id: ack?.data.message_id, sender_id: customer.userId, content });

    const exit = await stop(api);
    expect(exit).toEqual({ code: 0, signal: null });
    expect((await customerSocket.waitForClose()).code).toBe(CloseCode.goingAway);
    expect((await consultantSocket.waitForClose()).code).toBe(CloseCode.goingAway);
    expect(
      api
        .records()
        .some((r) => r.signal === 'SIGTERM' && typeof r.msg === 'string' && r.msg.startsWith('shutting down')),
    ).toBe(true);
    expect(api.stderr).toBe('');
    // The embedded database lives in DATA_DIR.
    expect(await readdir(dataDir)).toContain('PG_VERSION');
  });

  it('keeps users, conversations and messages in DATA_DIR across a restart', async () => {
    const dataDir = join(await freshDir(), 'data');
    const content = `kept across restarts ${randomUUID()}`;

    const first = await startApi(dataDir);
    const before = await login(first.url, 'customer_456');
    const conversationId = await facialConversationId(first.url, before.token);
    const sent = await http(first.url, 'POST', `/api/v1/chat/${conversationId}/send`, {
      token: before.token,
      body: { content },
    });
    expect(sent.status, sent.text).toBe(200);
    expect((await stop(first.api)).code).toBe(0);

    const second = await startApi(dataDir);
    const after = await login(second.url, 'customer_456');
    expect(after.userId).toBe(before.userId);
    // The seed found its data and wrote nothing twice: still one FACIAL, one FOLLOW_UP.
    const consultant = await login(second.url, 'consultant_001');
    const list = await http(second.url, 'GET', '/api/v1/conversations', { token: consultant.token });
    expect(list.body.conversations).toHaveLength(2);
    const history = await http(second.url, 'GET', `/api/v1/chat/${conversationId}/messages`, { token: after.token });
    expect(history.status).toBe(200);
    const kept = history.body.messages.filter((m: { content: string }) => m.content === content);
    expect(kept).toEqual([expect.objectContaining({ id: sent.body.message_id, seq: sent.body.seq })]);
    expect((await stop(second.api)).code).toBe(0);
  });

  it('refuses a bad configuration with exit code 1 and one line on stderr naming the key', async () => {
    const dataDir = join(await freshDir(), 'data');
    const api = new ApiProcess({ PORT: '0', DATA_DIR: dataDir, WS_HEARTBEAT_INTERVAL: 'abc' });
    const exit = await api.until(() => (api.child.exitCode !== null ? api.child.exitCode : undefined), 'exit', 30_000);
    await api.exited;
    expect(exit).toBe(1);
    expect(api.stderr).toBe('invalid configuration: WS_HEARTBEAT_INTERVAL="abc": must be a whole number\n');
    expect(api.lines.filter((l) => l.trim() !== '')).toEqual([]);
    // Nothing was started, so nothing was created.
    await expect(readdir(dataDir)).rejects.toThrow(/ENOENT/);
  });
});
