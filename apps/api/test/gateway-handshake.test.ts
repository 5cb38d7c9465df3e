/** The upgrade is authenticated before a socket exists: every refusal is an HTTP problem response. */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { rawExchange, upgradeRequest } from './support/raw-http.ts';
import { startTestApp, type TestApp } from './support/test-app.ts';
import { TestSocket } from './support/test-socket.ts';

let app: TestApp;
let port: number;

beforeAll(async () => {
  app = await startTestApp({ WS_CONNECTION_TIMEOUT: '300', ALLOWED_ORIGINS: 'http://localhost:3000' });
  port = Number(new URL(app.baseUrl).port);
});
afterAll(async () => {
  await app.close();
});

async function ticketFor(username: string): Promise<string> {
  const { token } = await app.login(username);
  return app.ticket(token);
}

function expectProblem(
  res: { status: number; headers: Record<string, string>; body: string },
  status: number,
  code: string,
) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json');
  const problem = JSON.parse(res.body);
  expect(problem).toMatchObject({ status, code, instance: '/api/v1/ws' });
  return problem;
}

describe('WebSocket upgrade', () => {
  it('accepts a fresh ticket and announces the connection', async () => {
    const socket = await app.connect('customer_456', { deviceType: 'mobile' });
    const [connected] = socket.all('connected');
    expect(connected?.data).toMatchObject({
      user_id: app.userId('customer_456'),
      role: 'customer',
      device_type: 'mobile',
      connection_type: 'chat',
      heartbeat_interval_ms: 45_000,
      max_payload_bytes: 65_536,
      max_reconnect_attempts: 15,
    });
    await socket.close();
  });

  it('answers an upgrade without a ticket with 401 TICKET_MISSING before any socket exists', async () => {
    const res = await rawExchange(port, upgradeRequest('/api/v1/ws?device_type=desktop'));
    const problem = expectProblem(res, 401, 'TICKET_MISSING');
    expect(problem.detail).toContain('POST /api/v1/ws/ticket');
  });

  it('ignores frames sent before authentication: the connection gets 401 and is closed', async () => {
    // A masked text frame "hi" glued to an unauthenticated upgrade request.
    const frame = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 'h'.charCodeAt(0) ^ 1, 'i'.charCodeAt(0) ^ 2]);
    const before = app.built.ctx.local.size;
    const res = await rawExchange(port, Buffer.concat([Buffer.from(upgradeRequest('/api/v1/ws')), frame]));
    expectProblem(res, 401, 'TICKET_MISSING');
    expect(app.built.ctx.local.size).toBe(before);
  });

  it('refuses a forged ticket with 401 TICKET_INVALID', async () => {
    const forged = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('someone')
      .setIssuer('anmei-realtime')
      .setAudience('ws-ticket')
      .setJti('x')
      .setExpirationTime('30s')
      .sign(new TextEncoder().encode('not-the-server-secret-not-the-server-secret'));
    const res = await rawExchange(port, upgradeRequest(`/api/v1/ws?ticket=${forged}`));
    expectProblem(res, 401, 'TICKET_INVALID');
  });

  it('refuses an expired ticket with 401 TICKET_INVALID saying it expired', async () => {
    const expired = await new SignJWT({ role: 'customer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(app.userId('customer_456'))
      .setIssuer('anmei-realtime')
      .setAudience('ws-ticket')
      .setJti('expired-ticket')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 120)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(app.built.ctx.config.auth.jwtSecret));
    const res = await rawExchange(port, upgradeRequest(`/api/v1/ws?ticket=${expired}`));
    expect(expectProblem(res, 401, 'TICKET_INVALID').detail).toBe('The token has expired.');
  });

  it('refuses a reused ticket with 401 TICKET_REUSED', async () => {
    const ticket = await ticketFor('customer_456');
    const first = new WebSocket(`${app.wsUrl}?ticket=${ticket}`);
    await new Promise((resolve, reject) => {
      first.once('open', resolve);
      first.once('error', reject);
    });
    const res = await rawExchange(port, upgradeRequest(`/api/v1/ws?ticket=${ticket}`));
    expectProblem(res, 401, 'TICKET_REUSED');
    first.close();
  });

  it('refuses an access token offered as a ticket', async () => {
    const { token } = await app.login('customer_456');
    const res = await rawExchange(port, upgradeRequest(`/api/v1/ws?ticket=${token}`));
    expectProblem(res, 401, 'TICKET_INVALID');
  });

  it('refuses a disallowed Origin with 403 and accepts an allowed one', async () => {
    const denied = await rawExchange(
      port,
      upgradeRequest(`/api/v1/ws?ticket=${await ticketFor('customer_456')}`, { Origin: 'https://evil.example' }),
    );
    expect(expectProblem(denied, 403, 'ORIGIN_NOT_ALLOWED').detail).toContain('https://evil.example');

    const allowed = new WebSocket(`${app.wsUrl}?ticket=${await ticketFor('customer_456')}`, {
      headers: { Origin: 'http://localhost:3000' },
    });
    await new Promise((resolve, reject) => {
      allowed.once('open', resolve);
      allowed.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    });
    allowed.close();
  });

  it('closes an admin connection of a non-admin with 4003 (readable by browsers), and accepts it for an admin', async () => {
    const { token } = await app.login('customer_456');
    const ticket = await app.ticket(token);
    const refused = new TestSocket(new WebSocket(`${app.wsUrl}?connection_type=admin&ticket=${ticket}`));
    expect(await refused.waitForClose()).toEqual({ code: 4003, reason: 'Only admins may open an admin connection.' });
    expect(refused.frames).toEqual([]);
    // The refusal consumed the ticket (issue #15): it was read, so it cannot be replayed.
    expectProblem(await rawExchange(port, upgradeRequest(`/api/v1/ws?ticket=${ticket}`)), 401, 'TICKET_REUSED');
    const admin = await app.connect('admin', { connectionType: 'admin' });
    expect(admin.all('connected')[0]?.data.connection_type).toBe('admin');
    await admin.close();
  });

  it('survives a malformed frame sent on a refused admin connection before its close handshake ends', async () => {
    const { token } = await app.login('customer_456');
    const ticket = await app.ticket(token);
    // Client frames must be masked: this unmasked text frame is a protocol error, sent right
    // behind the upgrade so it arrives while the 4003 close is under way.
    const unmasked = Buffer.from([0x81, 0x02, 0x68, 0x69]);
    const upgrade = upgradeRequest(`/api/v1/ws?connection_type=admin&ticket=${ticket}`);
    const res = await rawExchange(port, Buffer.concat([Buffer.from(upgrade), unmasked]));
    expect(res.status).toBe(101);
    const logged = await app.logs.waitFor((r) => r.msg === 'websocket error', 'the protocol error logged');
    expect(JSON.stringify(logged.err)).toContain('MASK');
    // The process is alive and serving.
    expect((await app.http('GET', '/health')).status).toBe(200);
  });

  it('refuses an unknown device_type with 400 VALIDATION_FAILED naming the allowed values', async () => {
    const res = await rawExchange(
      port,
      upgradeRequest(`/api/v1/ws?device_type=watch&ticket=${await ticketFor('customer_456')}`),
    );
    expect(expectProblem(res, 400, 'VALIDATION_FAILED').detail).toBe(
      'device_type must be one of mobile, desktop, tablet.',
    );
  });

  it('answers an upgrade on another path with 404', async () => {
    const res = await rawExchange(port, upgradeRequest('/socket.io/?EIO=4'));
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).code).toBe('NOT_FOUND');
  });

  it('closes a connection that does not finish its handshake within WS_CONNECTION_TIMEOUT', async () => {
    // Half a request line and nothing more; the server must hang up by itself (300 ms here).
    const res = await rawExchange(port, 'GET /api/v1/ws HTTP/1.1\r\nHost: loc', 5_000);
    expect(res.closed).toBe(true);
  });

  it('closes a connection that sends nothing at all within WS_CONNECTION_TIMEOUT', async () => {
    const res = await rawExchange(port, '', 5_000);
    expect(res.closed).toBe(true);
  });

  it('closes an HTTP request whose body stalls for WS_CONNECTION_TIMEOUT', async () => {
    const stalled =
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
      'Content-Length: 100\r\n\r\n{"username":';
    const res = await rawExchange(port, stalled, 5_000);
    expect(res.closed).toBe(true);
  });

  it('keeps an upgraded WebSocket open long after WS_CONNECTION_TIMEOUT', async () => {
    const socket = await app.connect('customer_789');
    // A silent TCP connection opened after the socket is cut once the timeout (300 ms) has passed...
    expect((await rawExchange(port, '', 5_000)).closed).toBe(true);
    await rawExchange(port, '', 5_000);
    // ...while the WebSocket, quiet for that long too, still answers.
    socket.send({ action: 'ping', data: { ts: 1 } });
    const [pong] = await socket.waitFor('pong');
    expect(pong?.data.ts).toBe(1);
    expect(socket.closed).toBeNull();
    await socket.close();
  });

  it('never writes the ticket into the logs', async () => {
    const ticket = await ticketFor('doctor_001');
    await rawExchange(port, upgradeRequest(`/api/v1/ws?ticket=${ticket}`, { Origin: 'https://evil.example' }));
    expect(app.logs.text()).not.toContain(ticket);
  });
});
