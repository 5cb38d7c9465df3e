/** watchPresence against the real API: the answer, a change, and the list told again to a new socket. */
import { expect, it } from 'vitest';
import type { UiFrameOf } from '../src/index.ts';
import { clientFor, useTestApp } from './support/real-api.ts';
import { until, waitForState } from './support/wait.ts';

const app = useTestApp();

it('follows the watched users, and tells a new socket the list again so the app sees their state after a reconnect', async () => {
  const { client } = clientFor(app, 'consultant_001');
  const customerId = app.userId('customer_456');
  const seen: UiFrameOf<'presence'>['data'][] = [];
  client.on('presence', (frame) => void seen.push(frame.data));
  // Before connecting: kept, and sent once the socket is open.
  expect(client.watchPresence([customerId, customerId])).toBe(false);
  client.connect();
  await waitForState(client, 'open');
  await until(() => seen.length === 1, 'the answer to the watch');
  expect(seen[0]).toEqual({ requestId: null, reason: 'watch', users: [{ userId: customerId, online: false }] });

  const { client: customer } = clientFor(app, 'customer_456');
  customer.connect();
  await until(() => seen.length === 2, 'the customer coming online');
  expect(seen[1]).toMatchObject({ reason: 'change', users: [{ userId: customerId, online: true }] });

  client.reconnect();
  await until(() => seen.length === 3, 'the answer on the new socket');
  expect(seen[2]).toMatchObject({ reason: 'watch', users: [{ userId: customerId, online: true }] });
  expect(() => client.watchPresence(Array.from({ length: 501 }, (_, i) => `u${i}`))).toThrow(
    'watchPresence takes at most 500 users; got 501.',
  );
});
