/**
 * Issue #15's flood acceptance: one slow consumer among 200 sockets. Large frames go to the user
 * who stopped reading while a steady stream of small notices goes to everyone: the slow socket is
 * cut with 4009 and released from presence within the stated bound (at the cut; TCP within
 * CLOSE_GRACE_MS), its server-side queue never exceeds WS_MAX_BUFFERED_BYTES plus one frame, the
 * 199 readers get every notice, and the process's memory stays bounded. Real API, real sockets.
 */
import type { Socket } from 'node:net';
import { CloseCode } from '@anmei/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLOSE_GRACE_MS } from '../src/ws/socket-writer.ts';
import { bulkNotice } from './support/bulk.ts';
import { startTestApp, type TestApp } from './support/test-app.ts';

const MAX_BUFFERED_BYTES = 256 * 1024;
const FRAME_BYTES = 64 * 1024;
/** Most large frames sent before the test gives up on a cut (about 128 MiB). */
const MAX_FRAMES = 2_000;
const READERS = 199;
/** Scheduling slack on a busy 2-core machine, ms. */
const SLACK_MS = 1_000;
const READER_USERS = ['customer_456', 'consultant_001', 'doctor_001'] as const;

let app: TestApp;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  app = await startTestApp({
    WS_MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES),
    // 199 readers of 3 users from one address: above the per-user cap and ticket rate meant for people.
    WS_MAX_CONNECTIONS_PER_USER: '100',
    RATE_LIMIT_TICKETS_PER_USER: '1000',
  });
});
afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await app.close();
});

/** Opens a socket of `username` and resolves once `connected` arrived; counts `bulk` notices. */
async function open(username: string): Promise<{ ws: WebSocket; received: () => number; connectionId: string }> {
  const { token } = await app.login(username);
  const ticket = await app.ticket(token);
  const ws = new WebSocket(`${app.wsUrl}?ticket=${ticket}`);
  sockets.push(ws);
  let received = 0;
  const connectionId = await new Promise<string>((resolve, reject) => {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { action: string; data: { title?: string; connection_id?: string } };
      if (frame.action === 'connected') resolve(frame.data.connection_id as string);
      if (frame.action === 'system_notification' && frame.data.title === 'tick') received++;
    });
    ws.once('error', reject);
  });
  return { ws, received: () => received, connectionId };
}

it('cuts and releases the one slow consumer among 200 while the 199 others get every notice, with memory bounded', async () => {
  const readers = [];
  for (let i = 0; i < READERS; i++) readers.push(await open(READER_USERS[i % READER_USERS.length]!));
  const slow = await open('customer_789');
  const slowUser = app.userId('customer_789');
  const server = app.built.ctx.local.get(slow.connectionId)?.socket;
  if (!server) throw new Error('the server holds no socket for the slow consumer');
  const tcpClosed = new Promise<number>((resolve) => server.once('close', () => resolve(Date.now())));
  (slow.ws as unknown as { _socket: Socket })._socket.pause();
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;

  const big = bulkNotice('bulk', FRAME_BYTES);
  const tick = bulkNotice('tick', 512);
  let maxQueued = 0;
  let rssMax = rssBefore;
  let ticks = 0;
  let bigSent = 0;
  const { bus } = app.built.ctx;
  while (server.readyState === WebSocket.OPEN) {
    if (++bigSent > MAX_FRAMES) throw new Error(`no slow-consumer cut after ${MAX_FRAMES} frames of 64 KiB`);
    await bus.publishToUsers([slowUser], { frame: big, origin: 'test' });
    await bus.publishToAll({ frame: tick, origin: 'test' });
    ticks++;
    // Let the deliveries and socket writes run; sample the slow socket's queue and our memory.
    await new Promise((resolve) => setImmediate(resolve));
    if (server.readyState === WebSocket.OPEN) maxQueued = Math.max(maxQueued, server.bufferedAmount);
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }
  // Life goes on for the others after the cut.
  for (let i = 0; i < 20; i++) {
    await bus.publishToAll({ frame: tick, origin: 'test' });
    ticks++;
  }
  const cut = await app.logs.waitFor(
    (r) => r.msg === 'closing slow consumer' && r.connectionId === slow.connectionId,
    'the slow consumer to be cut',
  );
  const released = await app.logs.waitFor(
    (r) => r.msg === 'websocket disconnected' && r.connectionId === slow.connectionId,
    'the slow consumer to be unregistered',
  );
  expect(released.code).toBe(CloseCode.slowConsumer);
  expect(await app.built.ctx.presence.isOnline(slowUser)).toBe(false);
  const closedMs = (await tcpClosed) - Number(cut.time);

  // Every reader gets every notice.
  const deadline = Date.now() + 30_000;
  while (readers.some((r) => r.received() < ticks)) {
    if (Date.now() > deadline) {
      throw new Error(`readers short of ${ticks}: ${readers.map((r) => r.received()).filter((n) => n < ticks)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const releasedMs = Number(released.time) - Number(cut.time);
  const rssGrowthMiB = (rssMax - rssBefore) / 2 ** 20;
  const sentMiB = (bigSent * big.length) / 2 ** 20;
  console.log(
    `slow consumer among ${READERS + 1}: cut after ${bigSent} frames of 64 KiB (${sentMiB.toFixed(1)} MiB sent to it), ` +
      `its server queue at most ${Math.round(maxQueued / 1024)} KiB (cap ${MAX_BUFFERED_BYTES / 1024} KiB); released ` +
      `${releasedMs} ms after the cut, TCP closed ${closedMs} ms after it; ${READERS} readers got all ${ticks} notices; ` +
      `RSS grew by at most ${rssGrowthMiB.toFixed(1)} MiB (server and clients in one process)`,
  );
  expect(maxQueued).toBeLessThanOrEqual(MAX_BUFFERED_BYTES + big.length);
  expect(releasedMs).toBeLessThan(SLACK_MS);
  expect(closedMs).toBeLessThan(CLOSE_GRACE_MS + SLACK_MS);
  // What it could not read was not kept: growth stays well below what was sent to it.
  expect(rssGrowthMiB).toBeLessThan(Math.max(64, sentMiB / 2));
}, 120_000);
