/**
 * Issue #16's logging acceptance, on production settings (NODE_ENV=production, LOG_LEVEL=trace:
 * every line any module can write): a scripted day (sign-up, logins, tickets, sockets, sends over
 * HTTP and WS, typing, read receipts, a consultant's reply pushed to an offline doctor, a direct
 * message pushed, a scrape of /metrics with its token) leaves no access token, ticket, password,
 * secret or message body in any line. The seed's events are there at the seed's levels, and each
 * line written while a request or a frame was handled carries its request or connection id.
 */
import { randomUUID } from 'node:crypto';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BuiltApp, buildApp } from '../src/app.ts';
import { hashPassword } from '../src/auth/passwords.ts';
import { loadConfig } from '../src/config.ts';
import { seedDemoData } from '../src/db/seed.ts';
import { ApiClient, DEMO_PASSWORD } from './support/api-client.ts';
import { LEVEL, LogCapture, type LogRecord } from './support/log-capture.ts';
import { scrape } from './support/metrics-scrape.ts';

const JWT_SECRET = `jwt-${randomUUID()}-${randomUUID()}`;
const METRICS_TOKEN = `metrics-${randomUUID()}`;
const NEW_PASSWORD = `pw-${randomUUID()}`;
const WRONG_PASSWORD = `wrong-${randomUUID()}`;
const TRACE_ID = `nginx-${randomUUID()}`;

const logs = new LogCapture();
let built: BuiltApp;
let client: ApiClient;
let baseUrl: string;

beforeAll(async () => {
  const config = loadConfig({
    NODE_ENV: 'production',
    JWT_SECRET,
    METRICS_TOKEN,
    LOG_LEVEL: 'trace',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: 'memory://',
    NOTIFICATION_PROVIDER: 'logging',
  });
  built = await buildApp(config, { logDestination: logs });
  // Production never seeds by itself: the demo users and conversations are stored here instead.
  await seedDemoData(built.ctx.store, hashPassword);
  ({ url: baseUrl } = await built.listen());
  client = new ApiClient(baseUrl);
});
afterAll(async () => {
  await built?.close();
});

async function conversationOf(title: string, token: string): Promise<string> {
  const list = await client.http('GET', '/api/v1/conversations', { token });
  const found = (list.body.conversations as Array<{ id: string; title: string }>).find((c) => c.title === title);
  if (!found) throw new Error(`no conversation "${title}"`);
  return found.id;
}

it('writes no token, ticket, password, secret or message body at any level in production', async () => {
  const contents = Array.from({ length: 5 }, (_, i) => `正文-${i}-${randomUUID()}`);
  const secrets: string[] = [JWT_SECRET, METRICS_TOKEN, NEW_PASSWORD, WRONG_PASSWORD, DEMO_PASSWORD, ...contents];

  const registered = await client.http('POST', '/api/v1/auth/register', {
    body: { username: `new_${randomUUID().slice(0, 8)}`, password: NEW_PASSWORD, display_name: '新客户' },
  });
  expect(registered.status).toBe(201);
  secrets.push(registered.body.access_token);
  expect(
    (await client.http('POST', '/api/v1/auth/login', { body: { username: 'customer_456', password: WRONG_PASSWORD } }))
      .status,
  ).toBe(401);
  const customer = await client.login('customer_456');
  const consultant = await client.login('consultant_001');
  const admin = await client.login('admin');
  secrets.push(customer.token, consultant.token, admin.token);
  const facial = await conversationOf('王小姐的面部护理咨询', customer.token);

  // A socket: its ticket travels in the URL.
  const ticket = await client.ticket(customer.token);
  secrets.push(ticket);
  const { TestSocket } = await import('./support/test-socket.ts');
  const { default: WebSocket } = await import('ws');
  const socket = new TestSocket(new WebSocket(`${client.wsUrl}?ticket=${ticket}&device_type=mobile`));
  const [connected] = await socket.waitFor('connected');
  const connectionId = connected!.data.connection_id;
  const consultantSocket = await client.connect('consultant_001');

  socket.send({
    action: 'send_message',
    request_id: 'ws-send',
    data: { conversation_id: facial, client_message_id: randomUUID(), content: contents[0] },
  });
  await socket.waitFor('ack');
  socket.send({ action: 'typing', data: { conversation_id: facial, is_typing: true } });
  // The consultant's reply over HTTP, with nginx's request id: the offline doctor gets a push.
  const reply = await client.http('POST', `/api/v1/chat/${facial}/send`, {
    token: consultant.token,
    body: { content: contents[1] },
    headers: { 'x-request-id': TRACE_ID },
  });
  expect(reply.status).toBe(200);
  expect(reply.headers.get('x-request-id')).toBe(TRACE_ID);
  await socket.waitFor('consultation_reply', { where: (f) => f.data.content === contents[1] });
  socket.send({ action: 'read', data: { conversation_id: facial, message_ids: [reply.body.message_id] } });
  const direct = await client.http('POST', '/api/v1/admin/direct-messages', {
    token: admin.token,
    body: { user_id: registered.body.user.id, title: '通知', content: contents[2] },
  });
  expect(direct.status).toBe(200);
  const notice = await client.http('POST', '/api/v1/admin/notifications', {
    token: admin.token,
    body: { conversation_id: facial, title: '维护', message: contents[3] },
  });
  expect(notice.status).toBe(200);
  await (await scrape(`${baseUrl}/metrics`, METRICS_TOKEN)).value('anmei_messages_stored_total');
  // A failed statement's error carries its parameters (a message body): only their count is logged.
  built.logger.error(
    { err: new DrizzleQueryError('insert into "messages" ("content") values ($1)', [contents[4]], new Error('boom')) },
    'a statement failed',
  );
  await logs.waitFor(
    (r) => r.msg.startsWith('📱 push notification') && r.msg.includes('[priority: normal]'),
    'the direct message push',
  );
  await logs.waitFor(
    (r) => r.msg.startsWith('📱 push notification') && r.msg.includes('[priority: high]'),
    'the reply push',
  );
  await Promise.all([socket.close(), consultantSocket.close()]);
  await logs.waitFor((r) => r.msg === 'websocket disconnected' && r.connectionId === connectionId, 'the disconnect');

  const text = logs.text();
  const leaked = secrets.filter((secret) => text.includes(secret));
  expect(leaked).toEqual([]);
  expect(text).toContain('params: [redacted, 1 values]');
  // The lowest level the code writes at was on: the routing and device detail went through too.
  expect(logs.records.filter((r) => r.level === LEVEL.debug).length).toBeGreaterThan(10);

  // The seed's events at the seed's levels, with the ids of what was being handled.
  const line = (test: (r: LogRecord) => boolean, what: string) => {
    const found = logs.find(test);
    expect(found.length, what).toBeGreaterThan(0);
    return found;
  };
  const connectedLine = line((r) => r.msg === 'websocket connected' && r.connectionId === connectionId, 'connect');
  expect(connectedLine[0]!.level).toBe(LEVEL.info);
  const wsBroadcast = line(
    (r) => r.msg === 'broadcast done' && r.kind === 'message' && r.connectionId === connectionId,
    'the WS send broadcast, with its connection',
  );
  expect(wsBroadcast[0]).toMatchObject({
    level: LEVEL.info,
    userId: customer.userId,
    recipients: 2,
    pushQueued: false,
  });
  expect(typeof wsBroadcast[0]!.durationMs).toBe('number');
  const httpBroadcast = line(
    (r) => r.msg === 'broadcast done' && r.kind === 'consultation_reply',
    'the HTTP reply broadcast',
  );
  expect(httpBroadcast[0]).toMatchObject({ level: LEVEL.info, reqId: TRACE_ID, recipients: 2, pushQueued: true });
  const pushLines = line((r) => r.msg.startsWith('📱 push notification'), 'push lines');
  for (const push of pushLines) {
    expect(push.level).toBe(LEVEL.info);
    expect(push.msg).toMatch(/ {3}content: \[redacted, \d+ chars\]/);
    // The worker's own work: not tagged with the request that queued it.
    expect(push.reqId).toBeUndefined();
  }
  // Each line a handled request wrote names it: the notice's broadcast names the admin's request.
  const noticeLine = line((r) => r.msg === 'broadcast done' && r.kind === 'system_notification', 'the notice');
  expect(noticeLine[0]!.reqId).toBe(notice.headers.get('x-request-id'));
});
