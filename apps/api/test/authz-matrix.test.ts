/**
 * Authorization matrix (issue #15, "Acceptance"), from ONE table: every role and anonymous × every
 * HTTP route and WebSocket action × a conversation the user takes part in ("own") and one they do not
 * ("other"), each cell the outcome the docs promise (README "HTTP endpoints", the Who column and the
 * rule above it; docs/protocol.md for the socket). Then a user refused everywhere in the other
 * conversation must not have received one frame of it, while its participants got its traffic.
 *
 * Fixture: OWN has customer_456, consultant_001, doctor_001 and admin (an admin takes part only
 * when added, as here); OTHER has customer_789 and consultant_002 only. For devices "own" is the
 * user's device and "other" another user's.
 */
import { randomUUID } from 'node:crypto';
import type { Role } from '@anmei/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { barrier } from './support/barrier.ts';
import { rawExchange, upgradeRequest } from './support/raw-http.ts';
import { startTestApp, type TestApp } from './support/test-app.ts';
import type { TestSocket } from './support/test-socket.ts';

type Who = 'anonymous' | Role;
type Scope = 'own' | 'other';
/** `200`, `403 NOT_PARTICIPANT` (HTTP status and problem code), or what a socket saw. */
type Outcome = string;
/** The same outcome in both conversations, or [own, other]. */
type Cell = Outcome | [own: Outcome, other: Outcome];

const WHO: readonly Who[] = ['anonymous', 'customer', 'consultant', 'doctor', 'admin'];
const USER: Record<Role, string> = {
  customer: 'customer_456',
  consultant: 'consultant_001',
  doctor: 'doctor_001',
  admin: 'admin',
};
const U = '401 UNAUTHENTICATED';
const F = '403 FORBIDDEN';
const NP = '403 NOT_PARTICIPANT';
const T = '401 TICKET_MISSING';
const NF = '404 NOT_FOUND';
/** Participants only (README: "a user who is not in the conversation 403 NOT_PARTICIPANT"). */
const P: Cell = ['200', NP];
const D: Cell = ['204', '404 DEVICE_NOT_FOUND'];
const ACK: Cell = ['ack', 'error NOT_PARTICIPANT'];
const SILENT: Cell = ['silent', 'error NOT_PARTICIPANT'];
const RESUMED: Cell = ['resumed recovered', 'resumed forbidden'];

/**
 * THE table: operation, what "own / other" means for it (`-`: nothing, one cell), and the outcome for
 * anonymous, customer, consultant, doctor, admin.
 */
const MATRIX: ReadonlyArray<
  [operation: string, scope: 'conversation' | 'device' | '-', cells: readonly [Cell, Cell, Cell, Cell, Cell]]
> = [
  ['GET /health', '-', ['200', '200', '200', '200', '200']],
  ['GET /docs/json', '-', ['200', '200', '200', '200', '200']],
  ['POST /api/v1/auth/login', '-', ['200', '200', '200', '200', '200']],
  ['POST /api/v1/auth/register', '-', ['201', '201', '201', '201', '201']],
  ['GET /api/v1/auth/me', '-', [U, '200', '200', '200', '200']],
  ['POST /api/v1/ws/ticket', '-', [U, '200', '200', '200', '200']],
  // Changed to the same password, so the other rows still sign in with it.
  ['POST /api/v1/auth/password', '-', [U, '204', '204', '204', '204']],
  // "200 lists own" also checks the list: it holds OWN and not OTHER.
  ['GET /api/v1/conversations', '-', [U, '200 lists own', '200 lists own', '200 lists own', '200 lists own']],
  ['POST /api/v1/conversations', '-', [U, '201', '201', F, '201']],
  ['GET /api/v1/chat/:id/messages', 'conversation', [U, P, P, P, P]],
  ['POST /api/v1/chat/:id/send', 'conversation', [U, P, P, P, P]],
  ['POST /api/v1/chat/:id/read', 'conversation', [U, P, P, P, P]],
  ['POST /api/v1/chat/:id/attachments', 'conversation', [U, P, P, P, P]],
  ['GET /api/v1/chat/:id/attachments/:attachment_id', 'conversation', [U, P, P, P, P]],
  // OWN's id with OTHER's attachment id: the attachment must belong to the conversation named.
  ['GET own conversation, other attachment', '-', [U, NF, NF, NF, NF]],
  // Adding someone who is already in: allowed means 200 (added: false), nothing changes.
  ['POST /api/v1/chat/:id/participants', 'conversation', [U, F, P, P, '200']],
  // Removing someone who is not in it: allowed means 200 (removed: false), nothing changes.
  ['DELETE /api/v1/chat/:id/participants/:user_id', 'conversation', [U, F, P, P, '200']],
  // Renaming: participants, and admins anywhere.
  ['PATCH /api/v1/chat/:id', 'conversation', [U, P, P, P, '200']],
  ['POST /api/v1/admin/notifications', 'conversation', [U, F, F, F, '200']],
  ['POST /api/v1/admin/mobile-notifications', 'conversation', [U, F, F, F, '200']],
  ['POST /api/v1/admin/direct-messages', '-', [U, F, F, F, '200']],
  ['POST /api/v1/admin/users', '-', [U, F, F, F, '201']],
  ['GET /api/v1/admin/users', '-', [U, F, F, F, '200']],
  ['GET /api/v1/admin/users/:user_id/devices', '-', [U, F, F, F, '200']],
  ['GET /api/v1/admin/stats', '-', [U, F, F, F, '200']],
  ['GET /api/v1/admin/conversations', '-', [U, F, F, F, '200']],
  // Consultants to anyone signed in; doctors to staff and admins (the "doctor" row below); never customers.
  ['GET /api/v1/directory', '-', [U, '200', '200', '200', '200']],
  ['GET /api/v1/directory?role=doctor', '-', [U, F, '200', '200', '200']],
  ['GET /api/v1/devices', '-', [U, '200', '200', '200', '200']],
  ['POST /api/v1/devices', '-', [U, '201', '201', '201', '201']],
  ['DELETE /api/v1/devices/:device_id', 'device', [U, D, D, D, D]],
  ['GET /api/v1/devices/web-push-key', '-', [U, '200', '200', '200', '200']],
  // The socket (docs/protocol.md): anonymous cannot even open one.
  ['ws open chat', '-', [T, 'connected', 'connected', 'connected', 'connected']],
  ['ws open admin', '-', [T, 'close 4003', 'close 4003', 'close 4003', 'connected']],
  ['ws ping', '-', [T, 'pong', 'pong', 'pong', 'pong']],
  ['ws send_message', 'conversation', [T, ACK, ACK, ACK, ACK]],
  ['ws typing', 'conversation', [T, SILENT, SILENT, SILENT, SILENT]],
  ['ws read', 'conversation', [T, SILENT, SILENT, SILENT, SILENT]],
  ['ws resume', 'conversation', [T, RESUMED, RESUMED, RESUMED, RESUMED]],
];

let app: TestApp;
const ids = { own: '', other: '' };
const attachments = { own: '', other: '' };
const devices: Record<string, string> = {};
const sockets: Partial<Record<Role, TestSocket>> = {};
let insider: TestSocket;
let messageOfOwn = '';
let otherConsultant = '';

beforeAll(async () => {
  app = await startTestApp({
    // GET /devices/web-push-key answers 200 only with Web Push enabled (keys are made in memory).
    NOTIFICATION_PROVIDERS: 'logging,webpush',
    // The table signs up five accounts from one address: the default allows exactly that many a minute.
    RATE_LIMIT_REGISTER_PER_IP: '100',
  });
  const admin = (await app.login('admin')).token;
  const as = async (username: string) => (await app.login(username)).token;
  const created = await app.http('POST', '/api/v1/admin/users', {
    token: admin,
    body: { username: 'consultant_002', password: 'demo1234', display_name: '外部顾问', role: 'consultant' },
  });
  const start = async (customer: string, consultant: string) =>
    (
      await app.http('POST', '/api/v1/conversations', {
        token: admin,
        body: { customer_id: customer, consultant_id: consultant },
      })
    ).body.id as string;
  ids.own = await start(app.userId('customer_456'), app.userId('consultant_001'));
  otherConsultant = created.body.id;
  ids.other = await start(app.userId('customer_789'), otherConsultant);
  for (const user of ['doctor_001', 'admin']) {
    const added = await app.http('POST', `/api/v1/chat/${ids.own}/participants`, {
      token: admin,
      body: { user_id: app.userId(user) },
    });
    expect(added.body.added).toBe(true);
  }
  attachments.own = (await upload(await as('customer_456'), ids.own)).body.message.metadata.attachment_id;
  attachments.other = (await upload(await as('customer_789'), ids.other)).body.message.metadata.attachment_id;
  messageOfOwn = (
    await app.http('POST', `/api/v1/chat/${ids.own}/send`, { token: await as('customer_456'), body: { content: 'hi' } })
  ).body.message_id;
  for (const user of [...Object.values(USER), 'customer_789']) {
    const body = { platform: 'android', device_type: 'mobile', fcm_token: `authz-${user}-${'x'.repeat(20)}` };
    devices[user] = (await app.http('POST', '/api/v1/devices', { token: await as(user), body })).body.device.id;
  }
  for (const role of Object.keys(USER) as Role[]) sockets[role] = await app.connect(USER[role]);
  insider = await app.connect('customer_789');
});
afterAll(async () => {
  await app?.close();
});

async function upload(token: string | undefined, conversationId: string) {
  const form = new FormData();
  form.append('file', new Blob(['matrix'], { type: 'text/plain' }), 'matrix.txt');
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(`${app.baseUrl}/api/v1/chat/${conversationId}/attachments`, {
    method: 'POST',
    headers,
    body: form,
  });
  return { status: res.status, body: await res.json() };
}

const outcome = (status: number, body: { code?: string } | null): Outcome =>
  status >= 400 ? `${status} ${body?.code}` : String(status);

let serial = 0;

/** The answer a socket gives to `frame`: its ack, error or resumed, or `silent` (a ping behind it came back first). */
async function answerTo(socket: TestSocket, frame: { action: string; data: unknown }): Promise<Outcome> {
  const request_id = `cell-${++serial}`;
  socket.send({ ...frame, request_id });
  socket.send({ action: 'ping', data: { ts: serial } });
  await socket.waitFor('pong', { where: (f) => f.data.ts === serial });
  const answer = socket.frames.find(
    (f) => (f.action === 'ack' || f.action === 'error' || f.action === 'resumed') && f.data.request_id === request_id,
  );
  if (!answer) return 'silent';
  if (answer.action === 'error') return `error ${answer.data.code}`;
  if (answer.action === 'resumed') return `resumed ${answer.data.conversations[0]?.status}`;
  return 'ack';
}

/** Opens a socket of this type: `connected`, or the close code it got instead. */
async function open(username: string, connectionType: 'chat' | 'admin'): Promise<Outcome> {
  const { token } = await app.login(username);
  const ws = new WebSocket(`${app.wsUrl}?ticket=${await app.ticket(token)}&connection_type=${connectionType}`);
  const result = await new Promise<Outcome>((resolve) => {
    ws.on('message', (data) => {
      if (JSON.parse(data.toString()).action === 'connected') resolve('connected');
    });
    ws.on('close', (code) => resolve(`close ${code}`));
    ws.on('error', () => undefined);
  });
  ws.close();
  return result;
}

/** Runs one cell: `who` performs `operation` on the conversation (or device) of `scope`. */
async function perform(operation: string, who: Who, scope: Scope): Promise<Outcome> {
  const username = who === 'anonymous' ? null : USER[who];
  const token = username ? (await app.login(username)).token : undefined;
  const conversation = ids[scope];
  const http = async (method: string, path: string, body?: unknown) => {
    const res = await app.http(method, path, { ...(token ? { token } : {}), ...(body !== undefined ? { body } : {}) });
    return outcome(res.status, res.body);
  };
  if (operation.startsWith('ws ')) {
    if (!username) {
      const res = await rawExchange(Number(new URL(app.baseUrl).port), upgradeRequest('/api/v1/ws'));
      return outcome(res.status, JSON.parse(res.body));
    }
    const socket = sockets[who as Role]!;
    const seen = { conversation_id: conversation, last_seq: 0, last_event_seq: 0 };
    switch (operation) {
      case 'ws open chat':
        return open(username, 'chat');
      case 'ws open admin':
        return open(username, 'admin');
      case 'ws ping': {
        socket.send({ action: 'ping', data: { ts: -++serial } });
        await socket.waitFor('pong', { where: (f) => f.data.ts === -serial });
        return 'pong';
      }
      case 'ws send_message':
        return answerTo(socket, {
          action: 'send_message',
          data: { conversation_id: conversation, client_message_id: randomUUID(), content: `from ${who}` },
        });
      case 'ws typing':
        return answerTo(socket, { action: 'typing', data: { conversation_id: conversation, is_typing: true } });
      case 'ws read':
        return answerTo(socket, {
          action: 'read',
          data: { conversation_id: conversation, message_ids: [messageOfOwn] },
        });
      case 'ws resume':
        return answerTo(socket, { action: 'resume', data: { conversations: [seen] } });
    }
  }
  const chat = `/api/v1/chat/${conversation}`;
  switch (operation) {
    case 'GET /health':
    case 'GET /docs/json':
    case 'GET /api/v1/auth/me':
    case 'POST /api/v1/ws/ticket':
    case 'GET /api/v1/admin/users':
    case 'GET /api/v1/admin/stats':
    case 'GET /api/v1/admin/conversations':
    case 'GET /api/v1/devices':
    case 'GET /api/v1/devices/web-push-key': {
      const [method, path] = operation.split(' ') as [string, string];
      return http(method, path);
    }
    case 'GET /api/v1/directory':
      return http('GET', '/api/v1/directory?role=consultant');
    case 'GET /api/v1/directory?role=doctor':
      return http('GET', '/api/v1/directory?role=doctor');
    case 'POST /api/v1/auth/login': {
      const res = await app.http('POST', '/api/v1/auth/login', {
        body: { username: username ?? 'customer_789', password: 'demo1234' },
      });
      return outcome(res.status, res.body);
    }
    case 'POST /api/v1/auth/password':
      return http('POST', '/api/v1/auth/password', { current_password: 'demo1234', new_password: 'demo1234' });
    case 'POST /api/v1/auth/register': {
      const body = { username: `u_${randomUUID().slice(0, 8)}`, password: 'password1', display_name: 'new' };
      return http('POST', '/api/v1/auth/register', body);
    }
    case 'GET /api/v1/conversations': {
      const res = await app.http('GET', '/api/v1/conversations', token ? { token } : {});
      if (res.status !== 200) return outcome(res.status, res.body);
      const listed = (res.body.conversations as Array<{ id: string }>).map((c) => c.id);
      return `200${listed.includes(ids.own) ? ' lists own' : ''}${listed.includes(ids.other) ? ' and other' : ''}`;
    }
    case 'POST /api/v1/conversations':
      return http('POST', '/api/v1/conversations', {});
    case 'GET /api/v1/chat/:id/messages':
      return http('GET', `${chat}/messages`);
    case 'POST /api/v1/chat/:id/send':
      return http('POST', `${chat}/send`, { content: `http from ${who}` });
    case 'POST /api/v1/chat/:id/read':
      return http('POST', `${chat}/read`, { message_ids: [messageOfOwn] });
    case 'POST /api/v1/chat/:id/attachments': {
      const res = await upload(token, conversation);
      return outcome(res.status, res.body);
    }
    case 'GET /api/v1/chat/:id/attachments/:attachment_id':
      return http('GET', `${chat}/attachments/${attachments[scope]}`);
    case 'GET own conversation, other attachment':
      return http('GET', `/api/v1/chat/${ids.own}/attachments/${attachments.other}`);
    case 'POST /api/v1/chat/:id/participants':
      return http('POST', `${chat}/participants`, {
        user_id: app.userId(scope === 'own' ? 'customer_456' : 'customer_789'),
      });
    case 'DELETE /api/v1/chat/:id/participants/:user_id':
      return http('DELETE', `${chat}/participants/${scope === 'own' ? otherConsultant : app.userId('doctor_001')}`);
    case 'PATCH /api/v1/chat/:id':
      return http('PATCH', chat, { title: `${scope} renamed by ${who}` });
    case 'POST /api/v1/admin/notifications':
      return http('POST', '/api/v1/admin/notifications', { conversation_id: conversation, title: 't', message: 'm' });
    case 'POST /api/v1/admin/mobile-notifications':
      return http('POST', '/api/v1/admin/mobile-notifications', {
        conversation_id: conversation,
        title: 't',
        content: 'c',
      });
    case 'POST /api/v1/admin/direct-messages':
      return http('POST', '/api/v1/admin/direct-messages', { user_id: app.userId('customer_789'), content: 'c' });
    case 'POST /api/v1/admin/users': {
      const body = {
        username: `s_${randomUUID().slice(0, 8)}`,
        password: 'password1',
        display_name: 'staff',
        role: 'doctor',
      };
      return http('POST', '/api/v1/admin/users', body);
    }
    case 'GET /api/v1/admin/users/:user_id/devices':
      return http('GET', `/api/v1/admin/users/${app.userId('customer_789')}/devices`);
    case 'POST /api/v1/devices': {
      const body = { platform: 'android', device_type: 'mobile', fcm_token: `authz-new-${randomUUID()}` };
      return http('POST', '/api/v1/devices', body);
    }
    case 'DELETE /api/v1/devices/:device_id': {
      const device = scope === 'other' || !username ? devices.customer_789 : devices[username];
      return http('DELETE', `/api/v1/devices/${device}`);
    }
  }
  throw new Error(`no way to perform "${operation}"`);
}

it('grants and refuses every operation to every role exactly as documented, and no refused user sees the conversation', async () => {
  const openapi = await app.http('GET', '/docs/json');
  const routes = Object.entries(openapi.body.paths as Record<string, object>).flatMap(([path, ops]) =>
    Object.keys(ops).map(
      (m) => `${m.toUpperCase()} ${path.replace('{conversation_id}', ':id').replace(/\{(\w+)\}/g, ':$1')}`,
    ),
  );
  // Every documented route has a row (a new route fails here until the table says who may use it).
  expect(routes.filter((r) => !MATRIX.some(([operation]) => operation === r))).toEqual([]);

  const mismatches: string[] = [];
  let cells = 0;
  for (const [operation, scoped, row] of MATRIX) {
    for (const [i, who] of WHO.entries()) {
      const cell = row[i]!;
      for (const scope of scoped === '-' ? (['own'] as const) : (['own', 'other'] as const)) {
        const expected = typeof cell === 'string' ? cell : cell[scope === 'own' ? 0 : 1];
        const actual = await perform(operation, who, scope);
        cells++;
        if (actual !== expected)
          mismatches.push(`${operation} | ${who} | ${scope}: expected ${expected}, got ${actual}`);
      }
    }
  }
  expect(mismatches).toEqual([]);

  // Traffic in OTHER from its own participants, then a barrier: whatever OTHER sent has arrived.
  const { token } = await app.login('consultant_002');
  await app.http('POST', `/api/v1/chat/${ids.other}/send`, { token, body: { content: 'for OTHER only' } });
  insider.send({ action: 'typing', data: { conversation_id: ids.other, is_typing: true } });
  const outsiders = Object.values(sockets);
  await barrier(app, [...outsiders, insider]);
  const aboutOther = (socket: TestSocket) =>
    socket.frames.filter((f) => {
      const data = f.data as { conversation_id?: unknown; message?: { conversation_id?: unknown } };
      return data.conversation_id === ids.other || data.message?.conversation_id === ids.other;
    });
  for (const [role, socket] of Object.entries(sockets)) {
    expect([role, aboutOther(socket).map((f) => f.action)]).toEqual([role, []]);
    cells++;
  }
  // A participant did get OTHER's traffic (the admin's notice, the staff reply), so the check above means something.
  expect(aboutOther(insider).map((f) => f.action)).toEqual(
    expect.arrayContaining(['system_notification', 'consultation_reply']),
  );
  // Nothing a refused user did reached OTHER's history: its messages are its participants' own.
  const history = await app.http('GET', `/api/v1/chat/${ids.other}/messages`, { token });
  const senders = new Set((history.body.messages as Array<{ sender_id: string }>).map((m) => m.sender_id));
  expect([...senders].sort()).toEqual([app.userId('customer_789'), otherConsultant].sort());
  console.log(
    `authz matrix: ${cells} cells checked (${MATRIX.length} operations × ${WHO.length} callers × own/other, plus ${outsiders.length} outsiders' sockets)`,
  );
});
