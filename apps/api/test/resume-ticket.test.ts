/**
 * Resume tickets (issue #19): an open connection holds a single-use ticket for its next
 * upgrade, so a reconnect needs no HTTP ticket request. Given on `connected`, renewed in `pong`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { rawExchange, upgradeRequest } from './support/raw-http.ts';
import { startTestApp, type TestApp } from './support/test-app.ts';
import { TestSocket } from './support/test-socket.ts';
import { eventually } from './support/wait.ts';

let app: TestApp;
let port: number;

beforeAll(async () => {
  // 2 s: a pong renews the ticket once 1 s has passed, so the renewal test waits about a second.
  app = await startTestApp({ WS_RESUME_TICKET_TTL: '2' });
  port = Number(new URL(app.baseUrl).port);
});
afterAll(async () => {
  await app.close();
});

function resumeTicketOf(socket: TestSocket): string {
  const ticket = socket.all('connected')[0]?.data.resume_ticket;
  if (ticket === undefined) throw new Error('the connected frame carries no resume_ticket');
  return ticket;
}

async function openWith(ticket: string, deviceType = 'desktop'): Promise<TestSocket> {
  const socket = new TestSocket(new WebSocket(`${app.wsUrl}?ticket=${ticket}&device_type=${deviceType}`));
  await socket.waitFor('connected');
  return socket;
}

describe('resume tickets', () => {
  it('come with connected, with their lifetime, and open the next connection as the same user', async () => {
    const first = await app.connect('customer_456', { deviceType: 'mobile' });
    const connected = first.all('connected')[0]!.data;
    // What is left of 2 s when exp has whole seconds: more than 1 s, at most 2 s.
    expect(connected.resume_ticket_ttl_ms).toBeGreaterThan(1_000);
    expect(connected.resume_ticket_ttl_ms).toBeLessThanOrEqual(2_000);
    await first.close();

    const second = await openWith(resumeTicketOf(first), 'mobile');
    const again = second.all('connected')[0]!.data;
    expect(again).toMatchObject({ user_id: app.userId('customer_456'), role: 'customer', device_type: 'mobile' });
    expect(again.connection_id).not.toBe(connected.connection_id);
    // Each connection gets its own next ticket.
    expect(again.resume_ticket).toBeDefined();
    expect(again.resume_ticket).not.toBe(connected.resume_ticket);
    await second.close();
  });

  it('work once: a second upgrade with the same one is refused with 401 TICKET_REUSED', async () => {
    const first = await app.connect('customer_789');
    const ticket = resumeTicketOf(first);
    const second = await openWith(ticket);
    const res = await rawExchange(port, upgradeRequest(`/api/v1/ws?ticket=${ticket}`));
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'TICKET_REUSED' });
    await Promise.all([first.close(), second.close()]);
  });

  it('are no access token: HTTP refuses one with 401 TOKEN_INVALID', async () => {
    const socket = await app.connect('doctor_001');
    const res = await app.http('GET', '/api/v1/conversations', { token: resumeTicketOf(socket) });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('TOKEN_INVALID');
    await socket.close();
  });

  it('expire after WS_RESUME_TICKET_TTL', async () => {
    const socket = await app.connect('consultant_001');
    const ticket = resumeTicketOf(socket);
    await socket.close();
    const claims = JSON.parse(Buffer.from(ticket.split('.')[1]!, 'base64url').toString());
    expect(claims.exp - claims.iat).toBe(2);
    expect(claims.aud).toBe('ws-resume');
    // The event here is the clock passing `exp` (JWT time has one-second resolution).
    await new Promise((resolve) => setTimeout(resolve, claims.exp * 1000 - Date.now() + 50));
    const res = await rawExchange(port, upgradeRequest(`/api/v1/ws?ticket=${ticket}`));
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'TICKET_INVALID', detail: 'The token has expired.' });
  });

  it('are renewed in a pong once the last one is past half its life, and not before', async () => {
    // Taken before the server issues the first ticket, so `Date.now() - issued` never overstates its age.
    const issued = Date.now();
    const socket = await app.connect('customer_456');
    socket.send({ action: 'ping', data: { ts: 1 } });
    const [early] = await socket.waitFor('pong', { where: (f) => f.data.ts === 1 });
    if (Date.now() - issued < 1_000) expect(early!.data.resume_ticket).toBeUndefined();
    // Ping until a pong carries a new ticket: that happens once 1 s (half of 2 s) has passed.
    let ts = 2;
    const renewed = await eventually(
      async () => {
        socket.send({ action: 'ping', data: { ts } });
        const [pong] = await socket.waitFor('pong', { where: (f) => f.data.ts === ts });
        ts++;
        return pong!.data;
      },
      (data) => data.resume_ticket !== undefined,
      'a pong with a renewed resume ticket',
      5_000,
    );
    expect(Date.now() - issued).toBeGreaterThanOrEqual(1_000);
    expect(renewed.resume_ticket_ttl_ms).toBeGreaterThan(1_000);
    expect(renewed.resume_ticket).not.toBe(resumeTicketOf(socket));
    await socket.close();
    const next = await openWith(renewed.resume_ticket!);
    expect(next.all('connected')[0]!.data.user_id).toBe(app.userId('customer_456'));
    await next.close();
  });
});

describe('WS_RESUME_TICKET_TTL=0', () => {
  it('issues no resume tickets, on connected or in pongs', async () => {
    const off = await startTestApp({ WS_RESUME_TICKET_TTL: '0' });
    try {
      const socket = await off.connect('customer_456');
      expect(socket.all('connected')[0]!.data).not.toHaveProperty('resume_ticket');
      socket.send({ action: 'ping', data: { ts: 7 } });
      const [pong] = await socket.waitFor('pong');
      expect(pong!.data).not.toHaveProperty('resume_ticket');
      await socket.close();
    } finally {
      await off.close();
    }
  });
});
