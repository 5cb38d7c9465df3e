/**
 * WebSocket limits (issue #15) on a real server with real sockets: the per-address upgrade rate
 * (refused before the ticket is read), the per-user and per-address caps on open connections,
 * and the per-connection frame rate, under which a flooding client is throttled while a
 * well-behaved one is not. Each test uses its own forwarded client address (127.0.0.1 is a
 * trusted proxy by default), so the per-address counters of two tests never mix.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { rawExchange, upgradeRequest } from './support/raw-http.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';
import { TestSocket } from './support/test-socket.ts';
import { eventually } from './support/wait.ts';

let app: TestApp;
let port: number;
let nextAddress = 1;
const address = () => `198.51.100.${nextAddress++}`;

beforeAll(async () => {
  app = await startTestApp({
    // Small limits so a test reaches them in a few requests; a 2 s window so one can outlast it.
    RATE_LIMIT_WINDOW: '2',
    WS_UPGRADES_PER_IP: '5',
    WS_MAX_CONNECTIONS_PER_USER: '3',
    WS_MAX_CONNECTIONS_PER_IP: '4',
    // WS_FRAME_RATE / WS_FRAME_BURST keep their defaults (20 per second, 40 at once).
  });
  port = Number(new URL(app.baseUrl).port);
});
afterAll(async () => {
  await app.close();
});

async function ticketFor(username: string): Promise<string> {
  return app.ticket((await app.login(username)).token);
}

/** Open a socket as `from`; resolves with it once `connected` arrived. */
async function open(username: string, from: string): Promise<TestSocket> {
  const socket = new TestSocket(
    new WebSocket(`${app.wsUrl}?ticket=${await ticketFor(username)}`, { headers: { 'x-forwarded-for': from } }),
  );
  await socket.waitFor('connected');
  return socket;
}

/** Waits until presence holds no connection of these users (closes are cleaned up asynchronously). */
async function settled(...usernames: string[]): Promise<void> {
  for (const username of usernames) {
    await eventually(
      () => app.built.ctx.presence.devicesOf(app.userId(username)),
      (devices) => devices.length === 0,
      `no connection of ${username} left in presence`,
    );
  }
}

/** One upgrade as `from`: 101, or the refusal's status, headers and problem. */
function attempt(ticket: string, from: string): Promise<{ status: number; retryAfter?: string; problem?: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${app.wsUrl}?ticket=${ticket}`, { headers: { 'x-forwarded-for': from } });
    ws.on('error', () => undefined);
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], problem: JSON.parse(body) });
      });
      res.on('error', reject);
    });
  });
}

describe('upgrades per address', () => {
  it('answers 429 RATE_LIMITED with Retry-After after WS_UPGRADES_PER_IP=5 upgrades in a window, and the refused ticket stays usable', async () => {
    const from = address();
    for (let i = 0; i < 5; i++) {
      const res = await rawExchange(port, upgradeRequest('/api/v1/ws?ticket=forged', { 'X-Forwarded-For': from }));
      expect(res.status).toBe(401);
    }
    const ticket = await ticketFor('customer_789');
    const refused = await attempt(ticket, from);
    expect(refused.status).toBe(429);
    expect(refused.problem).toMatchObject({ status: 429, code: 'RATE_LIMITED', instance: '/api/v1/ws' });
    expect(refused.problem.detail).toMatch(
      /^Too many WebSocket upgrades from this address: at most 5 per 2 s \(WS_UPGRADES_PER_IP\)\. Try again in [12] s\.$/,
    );
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(2);
    // Another address is not affected.
    expect((await attempt(await ticketFor('customer_789'), address())).status).toBe(101);
    // The refusal came before the ticket was read: once the window has passed, the same ticket opens.
    const started = Date.now();
    await eventually(
      () => attempt(ticket, from),
      (r) => r.status === 101,
      'the refused ticket to open a socket after the window',
      5_000,
    );
    console.log(
      `[rate-limits-ws] upgrade 6 of one address answered 429 (Retry-After ${refused.retryAfter} s); its ticket opened a socket ${Date.now() - started} ms later`,
    );
  });
});

describe('open connections', () => {
  it('refuses a 4th socket of one user (WS_MAX_CONNECTIONS_PER_USER=3) with 429 TOO_MANY_CONNECTIONS, and takes it once one closed', async () => {
    const sockets = [];
    for (let i = 0; i < 3; i++) sockets.push(await open('consultant_001', address()));
    const ticket = await ticketFor('consultant_001');
    const refused = await attempt(ticket, address());
    expect(refused).toMatchObject({ status: 429, retryAfter: '30', problem: { code: 'TOO_MANY_CONNECTIONS' } });
    expect(refused.problem.detail).toBe(
      'This user has 3 open WebSocket connections, the most allowed (WS_MAX_CONNECTIONS_PER_USER=3); close one first.',
    );
    // The ticket was read to know the user, so it is spent.
    expect((await attempt(ticket, address())).problem?.code).toBe('TICKET_REUSED');
    // Other users are not affected.
    const other = await open('doctor_001', address());
    await other.close();
    await sockets.pop()!.close();
    const again = await eventually(
      async () => attempt(await ticketFor('consultant_001'), address()),
      (r) => r.status === 101,
      'a socket of the user after one of the three closed',
    );
    expect(again.status).toBe(101);
    await Promise.all(sockets.map((s) => s.close()));
    await settled('consultant_001', 'doctor_001');
  });

  it('refuses a 5th connection from one address (WS_MAX_CONNECTIONS_PER_IP=4) with 429 TOO_MANY_CONNECTIONS, and frees the slot when one closes', async () => {
    const from = address();
    const sockets = [
      await open('customer_456', from),
      await open('customer_456', from),
      await open('customer_789', from),
      await open('customer_789', from),
    ];
    const ticket = await ticketFor('doctor_001');
    const refused = await attempt(ticket, from);
    expect(refused).toMatchObject({ status: 429, retryAfter: '30', problem: { code: 'TOO_MANY_CONNECTIONS' } });
    expect(refused.problem.detail).toBe(
      'This address has 4 open WebSocket connections on this server, the most allowed (WS_MAX_CONNECTIONS_PER_IP=4).',
    );
    // Refused before the ticket was read: it still opens a socket once a slot is free.
    await sockets.pop()!.close();
    await eventually(
      () => attempt(ticket, from),
      (r) => r.status === 101,
      'the refused ticket to open a socket after one connection of the address closed',
    );
    await Promise.all(sockets.map((s) => s.close()));
    await settled('customer_456', 'customer_789', 'doctor_001');
  });
});

describe('frames per connection', () => {
  it('throttles a client sending at 10x WS_FRAME_RATE while a well-behaved client in the same conversation is never refused', async () => {
    const conversationId = app.conversationId(FACIAL);
    const flooder = await open('customer_456', address());
    const polite = await open('consultant_001', address());
    const send = (socket: TestSocket, tag: string, i: number) =>
      socket.send({
        action: 'send_message',
        request_id: `${tag}-${i}`,
        data: { conversation_id: conversationId, client_message_id: randomUUID(), content: `${tag} ${i}` },
      });
    const answers = (socket: TestSocket) => socket.all('ack').length + socket.all('error').length;
    // 2 s of sending, paced by the clock: the flooder at 200 frames per second (10x the default
    // WS_FRAME_RATE of 20), the polite client at 10 per second.
    const durationMs = 2_000;
    const floodCount = 400;
    const politeCount = 20;
    const politeSentAt = new Map<string, number>();
    let flooded = 0;
    let sentPolitely = 0;
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = (count: number) => Math.min(count, Math.floor((count * (Date.now() - started)) / durationMs) + 1);
        while (flooded < due(floodCount)) send(flooder, 'flood', flooded++);
        while (sentPolitely < due(politeCount)) {
          politeSentAt.set(`polite-${sentPolitely}`, Date.now());
          send(polite, 'polite', sentPolitely++);
        }
        if (flooded === floodCount && sentPolitely === politeCount) {
          clearInterval(tick);
          resolve();
        }
      }, 5);
    });
    const sendingMs = Date.now() - started;
    await eventually(
      async () => [answers(flooder), answers(polite)],
      ([f, p]) => f === floodCount && p === politeCount,
      'an answer to every frame of both clients',
    );

    const limited = flooder.all('error').filter((e) => e.data.code === 'RATE_LIMITED');
    const accepted = flooder.all('ack').length;
    const hints = limited.map((e) => e.data.retry_after_ms ?? -1);
    // Everything the flooder sent was answered: accepted, or refused with a hint and its request_id.
    expect(accepted + limited.length).toBe(floodCount);
    expect(limited.every((e) => e.data.request_id?.startsWith('flood-'))).toBe(true);
    expect(Math.min(...hints)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...hints)).toBeLessThanOrEqual(50);
    // A burst of 40, then 20 per second over the ~2 s of sending.
    const allowed = 40 + (20 * sendingMs) / 1000;
    expect(accepted).toBeGreaterThanOrEqual(40);
    expect(accepted).toBeLessThanOrEqual(Math.ceil(allowed) + 1);
    // The polite client is never refused, and its acks keep coming promptly.
    expect(polite.all('error')).toEqual([]);
    const latencies = polite
      .all('ack')
      .map((a) => Date.parse(a.timestamp) - (politeSentAt.get(a.data.request_id ?? '') ?? Number.NaN));
    const slowest = Math.max(...latencies);
    expect(slowest).toBeLessThan(1_000);
    console.log(
      `[rate-limits-ws] flooder: sent ${floodCount} in ${sendingMs} ms (~${Math.round((floodCount * 1000) / sendingMs)}/s), accepted ${accepted} (allowed ~${Math.round(allowed)}), refused ${limited.length} RATE_LIMITED (retry_after_ms ${Math.min(...hints)}-${Math.max(...hints)})`,
    );
    console.log(
      `[rate-limits-ws] polite: sent ${politeCount} at 10/s, acked ${polite.all('ack').length}, refused ${polite.all('error').length}, slowest ack ${slowest} ms`,
    );
    await Promise.all([flooder.close(), polite.close()]);
  });
});
