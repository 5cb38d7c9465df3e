/**
 * A database that stops answering (packets dropped, not refused; issue #15, docs/operations.md
 * "Database stalls"): every request that needs it is answered DATABASE_UNAVAILABLE within the
 * stated bound, /ready (503) and /health (200, degraded: liveness) say so within their own, and
 * once packets flow again the service works
 * without a restart, with nothing it acknowledged lost and no given-up connection reused.
 *
 * The app runs on the machine's Postgres (a fresh schema) through a TCP relay owned by the test,
 * which freezes every connection (nothing forwarded, nothing closed) and thaws it again.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, type ServerFrame } from '@anmei/protocol';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { isDatabaseUnavailable } from '../src/db/db-common.ts';
import { type OpenedDatabase, openDatabase, QUERY_TIMEOUT_GRACE_MS } from '../src/db/open-database.ts';
import { DATABASE_RETRY_AFTER_SECONDS } from '../src/http/problem-handler.ts';
import { fixtures } from './db/fixtures.ts';
import { DEMO_PASSWORD } from './support/api-client.ts';
import { LogCapture } from './support/log-capture.ts';
import { createTestSchema, type TestSchema } from './support/postgres-schema.ts';
import { startTcpRelay, type TcpRelay, viaRelay } from './support/tcp-relay.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';
import type { TestSocket } from './support/test-socket.ts';
import { eventually, within } from './support/wait.ts';

/** ms; short so the test is quick. The defaults (5 000, 5 000, 2 000) scale the same bounds. */
const CONNECT_TIMEOUT = 1_000;
const STATEMENT_TIMEOUT = 1_000;
const HEALTH_TIMEOUT = 500;
/** How long the client waits for an answer before it gives up on a connection. */
const QUERY_TIMEOUT = STATEMENT_TIMEOUT + QUERY_TIMEOUT_GRACE_MS;
/** The documented bound of a request needing the database: DATABASE_CONNECT_TIMEOUT + DATABASE_STATEMENT_TIMEOUT + 1 s. */
const REQUEST_BOUND = CONNECT_TIMEOUT + QUERY_TIMEOUT;
/** Timers fire late on a busy 2-core machine; this much is allowed on top of a bound. */
const SLACK = 300;
const POOL_MAX = 4;

// A real 1×1 PNG, for the upload.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

let schema: TestSchema;
let relay: TcpRelay;
let app: TestApp;
let attachmentsDir: string;

beforeAll(async () => {
  schema = await createTestSchema();
  relay = await startTcpRelay(schema.url);
  attachmentsDir = await mkdtemp(join(tmpdir(), 'anmei-db-stall-'));
  app = await startTestApp({
    DATABASE_URL: viaRelay(schema.url, relay),
    DATABASE_SCHEMA: schema.schema,
    DATABASE_POOL_MAX: String(POOL_MAX),
    DATABASE_CONNECT_TIMEOUT: String(CONNECT_TIMEOUT),
    DATABASE_STATEMENT_TIMEOUT: String(STATEMENT_TIMEOUT),
    DATABASE_HEALTH_TIMEOUT: String(HEALTH_TIMEOUT),
    ATTACHMENTS_DIR: attachmentsDir,
  });
});
afterAll(async () => {
  relay?.thaw();
  await app?.close();
  await relay?.close();
  await schema?.drop();
  if (attachmentsDir) await rm(attachmentsDir, { recursive: true, force: true });
});

/** Runs `work` and how long it took, in ms. */
async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await work();
  return { value, ms: Math.round(performance.now() - start) };
}

function sendOverHttp(token: string, conversationId: string, clientMessageId: string, content: string) {
  return app.http('POST', `/api/v1/chat/${conversationId}/send`, {
    token,
    body: { content, client_message_id: clientMessageId },
  });
}

let requests = 0;

/** The `ack` or `error` answering a `send_message` (each attempt with a request_id of its own). */
async function sendOverWs(socket: TestSocket, conversationId: string, clientMessageId: string, content: string) {
  const requestId = `req-${++requests}`;
  socket.send({
    action: 'send_message',
    request_id: requestId,
    data: { conversation_id: conversationId, client_message_id: clientMessageId, content, message_type: 'text' },
  });
  return answerTo(socket, requestId, REQUEST_BOUND + 5_000);
}

/** The `ack` or `error` frame that answers `requestId`, as soon as it arrives. */
function answerTo(socket: TestSocket, requestId: string, timeoutMs: number): Promise<ServerFrame> {
  const answer = () =>
    socket.frames.find((f) => (f.action === 'ack' || f.action === 'error') && f.data.request_id === requestId);
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = answer();
      if (!found) return;
      clearTimeout(timer);
      socket.ws.off('message', check);
      resolve(found);
    };
    const timer = setTimeout(() => {
      socket.ws.off('message', check);
      reject(new Error(`no ack or error answered ${requestId} within ${timeoutMs} ms`));
    }, timeoutMs);
    // After TestSocket's own listener, which records the frame.
    socket.ws.on('message', check);
    check();
  });
}

/**
 * Opens a socket with a ticket got before the freeze (tickets are not in the database), and
 * resolves with how it ended: registering it reads the stream heads, which cannot answer.
 */
function upgradeDuringStall(ticket: string): Promise<{ code: number; frames: string[] }> {
  const socket = new WebSocket(`${app.wsUrl}?${new URLSearchParams({ ticket, device_type: 'desktop' })}`);
  const frames: string[] = [];
  socket.on('message', (data) => frames.push(JSON.parse(String(data)).action));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', (code) => resolve({ code, frames })));
}

async function upload(token: string, conversationId: string, clientMessageId: string) {
  const form = new FormData();
  form.append('client_message_id', clientMessageId);
  form.append('file', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'stall.png');
  const res = await fetch(`${app.baseUrl}/api/v1/chat/${conversationId}/attachments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

it('answers DATABASE_UNAVAILABLE within the bound while the database is frozen, and recovers by itself when it thaws', async () => {
  const conversationId = app.conversationId(FACIAL);
  const { token } = await app.login('customer_456');
  const socket = await app.connect('customer_456');
  /** client_message_id → content of every send the server acknowledged. */
  const acked = new Map<string, string>();

  // Before: both paths store, and the pool holds connections (which the freeze will catch idle).
  for (const n of [1, 2]) {
    const id = `before-http-${n}-${randomUUID()}`;
    expect((await sendOverHttp(token, conversationId, id, `before http ${n}`)).status).toBe(200);
    acked.set(id, `before http ${n}`);
    const wsId = `before-ws-${n}-${randomUUID()}`;
    expect((await sendOverWs(socket, conversationId, wsId, `before ws ${n}`)).action).toBe('ack');
    acked.set(wsId, `before ws ${n}`);
  }
  expect((await app.http('GET', '/health')).status).toBe(200);

  const ticket = await app.ticket(token);
  relay.freeze();
  const frozenHttp = `frozen-http-${randomUUID()}`;
  const frozenWs = `frozen-ws-${randomUUID()}`;
  const frozenUpload = `frozen-upload-${randomUUID()}`;
  const [http, ws, uploaded, history, login, health, ready] = await Promise.all([
    timed(() => sendOverHttp(token, conversationId, frozenHttp, 'sent while frozen (http)')),
    timed(() => sendOverWs(socket, conversationId, frozenWs, 'sent while frozen (ws)')),
    timed(() => upload(token, conversationId, frozenUpload)),
    timed(() => app.http('GET', `/api/v1/chat/${conversationId}/messages`, { token })),
    timed(() =>
      app.http('POST', '/api/v1/auth/login', { body: { username: 'customer_789', password: DEMO_PASSWORD } }),
    ),
    timed(() => app.http('GET', '/health')),
    timed(() => app.http('GET', '/ready')),
  ]);
  console.log(
    `database frozen: HTTP send answered in ${http.ms} ms, WS send ${ws.ms} ms, upload ${uploaded.ms} ms, ` +
      `history ${history.ms} ms, login ${login.ms} ms (bound ${REQUEST_BOUND} ms = connect ${CONNECT_TIMEOUT} + ` +
      `statement ${STATEMENT_TIMEOUT} + ${QUERY_TIMEOUT_GRACE_MS}); /health ${health.ms} ms, /ready ${ready.ms} ms ` +
      `(bound ${HEALTH_TIMEOUT} ms)`,
  );

  for (const answer of [http, uploaded, history, login]) {
    expect(answer.value.status).toBe(503);
    expect(answer.value.body).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 });
    expect(answer.value.headers.get('retry-after')).toBe(String(DATABASE_RETRY_AFTER_SECONDS));
    expect(answer.ms).toBeLessThanOrEqual(REQUEST_BOUND + SLACK);
  }
  expect(ws.value).toMatchObject({
    action: 'error',
    data: {
      code: 'DATABASE_UNAVAILABLE',
      message: ErrorCodes.DATABASE_UNAVAILABLE.message,
      // answerTo matched it to this attempt's request_id.
      request_id: expect.stringMatching(/^req-\d+$/),
    },
  });
  expect(ws.ms).toBeLessThanOrEqual(REQUEST_BOUND + SLACK);
  expect(socket.closed).toBeNull();
  // Liveness stays 200 (a restart would not bring the database back); readiness says why not.
  expect(health.value.status).toBe(200);
  expect(health.value.body).toMatchObject({
    status: 'degraded',
    database: { kind: 'postgres', status: 'unavailable' },
  });
  expect(health.ms).toBeLessThanOrEqual(HEALTH_TIMEOUT + SLACK);
  expect(ready.value.status).toBe(503);
  expect(ready.value.body).toMatchObject({
    code: 'NOT_READY',
    checks: { database: 'unavailable', migrations: 'unknown', redis: 'not_configured', draining: false },
  });
  expect(ready.ms).toBeLessThanOrEqual(HEALTH_TIMEOUT + SLACK);
  // A socket accepted during the stall could not be registered: closed with 1011 (the catalogue's
  // retryable close; it has no "try later" code) before any `connected`, logged as the outage.
  // Opened after the batch above, so it cannot slow the timed answers.
  const upgrade = await timed(() => upgradeDuringStall(ticket));
  expect(upgrade.value).toEqual({ code: 1011, frames: [] });
  expect(upgrade.ms).toBeLessThanOrEqual(REQUEST_BOUND + SLACK);
  expect(app.logs.find((r) => r.msg === 'database unavailable: registering connection failed').length).toBe(1);
  expect(app.logs.find((r) => r.msg === 'registering connection failed')).toEqual([]);
  // Logged as a warning with its cause, never as a failed handler, and the stuck connections were dropped.
  expect(app.logs.find((r) => r.msg === 'database unavailable: answered DATABASE_UNAVAILABLE').length).toBe(5);
  expect(app.logs.find((r) => r.msg === 'request failed' || r.msg === 'frame handler failed')).toEqual([]);
  expect(
    app.logs.find((r) => r.msg === 'postgres connection discarded: a query got no answer in time').length,
  ).toBeGreaterThan(0);

  relay.thaw();
  // No restart: the very next sends are stored, including the retries of the frozen ones.
  const after = await timed(() => sendOverHttp(token, conversationId, frozenHttp, 'sent while frozen (http)'));
  expect(after.value.status).toBe(200);
  acked.set(frozenHttp, 'sent while frozen (http)');
  expect((await sendOverWs(socket, conversationId, frozenWs, 'sent while frozen (ws)')).action).toBe('ack');
  acked.set(frozenWs, 'sent while frozen (ws)');
  const retriedUpload = await upload(token, conversationId, frozenUpload);
  expect(retriedUpload.status).toBe(200);
  acked.set(frozenUpload, 'stall.png');
  const healthy = await timed(() =>
    eventually(
      () => app.http('GET', '/ready'),
      (r) => r.status === 200,
      '/ready to answer 200 after the thaw',
    ),
  );
  expect((await app.http('GET', '/health')).body.status).toBe('ok');
  console.log(`database thawed: first send stored in ${after.ms} ms, /ready 200 after ${healthy.ms} ms`);

  // The whole pool serves again: more requests at once than it has connections.
  const burst = await Promise.all(
    Array.from({ length: 2 * POOL_MAX }, async (_, n) => {
      const id = `after-${n}-${randomUUID()}`;
      const [sent, read] = await Promise.all([
        sendOverHttp(token, conversationId, id, `after ${n}`),
        app.http('GET', `/api/v1/chat/${conversationId}/messages`, { token }),
      ]);
      return { id, n, sent: sent.status, read: read.status };
    }),
  );
  for (const { id, n, sent, read } of burst) {
    expect([sent, read]).toEqual([200, 200]);
    acked.set(id, `after ${n}`);
  }

  // Nothing acknowledged is lost, and each is stored once.
  const stored = await app.built.ctx.store.messages.history(conversationId, { limit: 200 });
  for (const [clientMessageId, content] of acked) {
    expect(
      stored.filter((m) => m.clientMessageId === clientMessageId).map((m) => m.content),
      clientMessageId,
    ).toEqual([content]);
  }
  const seqs = stored.map((m) => m.seq);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(new Set(seqs).size).toBe(seqs.length);
});

it('fails a transaction on a frozen connection within one query timeout and never hands that connection out again', async () => {
  // One connection only: a frozen one handed out again would be the next query's.
  const own = await startTcpRelay(schema.url);
  const logs = new LogCapture();
  let opened: OpenedDatabase | undefined;
  try {
    opened = await openDatabase({
      databaseUrl: viaRelay(schema.url, own),
      schema: schema.schema,
      poolMax: 1,
      connectTimeoutMs: CONNECT_TIMEOUT,
      statementTimeoutMs: STATEMENT_TIMEOUT,
      logger: pino({ level: 'debug' }, logs),
    });
    const store = opened.store;
    const make = fixtures(() => store);
    const conversation = await make.conversation(await make.user('customer'));
    const appendEvent = () =>
      store.events.appendToConversation(conversation.id, {
        kind: 'read_status',
        payload: (position, id) => ({ event_seq: position, event_id: id }),
      });
    await store.ping();

    own.freeze();
    // BEGIN goes out and nothing comes back. Left to itself, drizzle's ROLLBACK would queue
    // behind it and wait out a second timeout, and the connection would go back to the pool.
    const transaction = await timed(() =>
      appendEvent().then(
        () => null,
        (error: unknown) => error,
      ),
    );
    expect(isDatabaseUnavailable(transaction.value)).toBe(true);
    expect(transaction.ms).toBeLessThanOrEqual(QUERY_TIMEOUT + SLACK);
    await logs.waitFor(
      (r) => r.msg === 'postgres connection discarded: a query got no answer in time',
      'the connection to be discarded',
    );

    // Still frozen: the next query needs a new connection, so it fails connecting; handed the
    // old one, it would have queued behind the stuck BEGIN and failed on its read timeout.
    const next = await timed(() =>
      store.ping().then(
        () => null,
        (error: unknown) => error,
      ),
    );
    expect(isDatabaseUnavailable(next.value)).toBe(true);
    expect(causes(next.value)).not.toContain('Query read timeout');
    expect(causes(next.value).join(' | ')).toMatch(/connection timeout|timeout exceeded when trying to connect/);
    expect(next.ms).toBeLessThanOrEqual(CONNECT_TIMEOUT + SLACK);
    console.log(
      `frozen connection: transaction failed in ${transaction.ms} ms (query timeout ${QUERY_TIMEOUT} ms), ` +
        `next query failed connecting in ${next.ms} ms (connect timeout ${CONNECT_TIMEOUT} ms)`,
    );

    own.thaw();
    // The frozen BEGIN never reached Postgres: nothing half-written, the next event is number 1.
    const stored = await appendEvent();
    expect(stored.position).toBe(1);
  } finally {
    own.thaw();
    // pool.end() waits for every checked-out client: one never given back would hang it.
    await within(opened?.close() ?? Promise.resolve(), 5_000, 'closing the store (a pooled client never given back?)');
    await own.close();
  }
});

/** The messages of `error` and its causes, outermost first. */
function causes(error: unknown): string[] {
  const found: string[] = [];
  for (let current = error; current instanceof Error; current = current.cause) found.push(current.message);
  return found;
}
