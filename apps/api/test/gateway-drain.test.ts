/** Graceful drain in one process: clients are told to move, new upgrades get 503 meanwhile. */
import { expect, it } from 'vitest';
import WebSocket from 'ws';
import { rawExchange, upgradeRequest } from './support/raw-http.ts';
import { startTestApp } from './support/test-app.ts';
import { TestSocket } from './support/test-socket.ts';

it('sends reconnect then 1001 to every socket, and answers upgrades during the drain with 503', async () => {
  const app = await startTestApp({ WS_DRAIN_SPREAD: '2000' });
  const port = Number(new URL(app.baseUrl).port);
  const polite = await app.connect('customer_456');
  // A peer that stops reading keeps the drain waiting (up to the 2 s cut-off) for its close handshake.
  const { token } = await app.login('customer_789');
  const frozenWs = new WebSocket(`${app.wsUrl}?ticket=${await app.ticket(token)}`);
  const frozen = new TestSocket(frozenWs);
  await frozen.waitFor('connected');
  const ticket = await app.ticket((await app.login('doctor_001')).token);

  (frozenWs as unknown as { _socket: import('node:net').Socket })._socket.pause();
  const closing = app.built.close();
  const [notice] = await polite.waitFor('reconnect');
  expect(notice?.data.reason).toBe('server_draining');
  expect(notice!.data.retry_after_ms).toBeGreaterThanOrEqual(0);
  expect(notice!.data.retry_after_ms).toBeLessThan(2000);
  expect(await polite.waitForClose()).toEqual({ code: 1001, reason: 'server draining' });

  const refused = await rawExchange(port, upgradeRequest(`/api/v1/ws?ticket=${ticket}`));
  expect(refused.status).toBe(503);
  expect(JSON.parse(refused.body).code).toBe('SERVER_SHUTTING_DOWN');

  await closing;
  frozenWs.terminate();
});
