/**
 * `watch_presence` across instances: a change on one instance reaches a watcher on another through
 * the presence channel (seed: ws:presence), and a watcher whose instance lost Redis while a change
 * was published is told the current state once the link is back (reason `bus_recovered`).
 *
 * Two real API processes share a test-owned Redis and a Postgres schema; `api-watch` holds the
 * watcher and reaches Redis through a TCP relay the test can cut.
 */
import type { ServerFrameOf } from '@anmei/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClient } from './support/api-client.ts';
import { type ApiProcess, startApiProcess } from './support/api-process.ts';
import { startTcpRelay, type TcpRelay, viaRelay } from './support/tcp-relay.ts';
import type { TestSocket } from './support/test-socket.ts';
import { demoIds, startTopology, type Topology } from './support/topology.ts';

let topo: Topology;
let relay: TcpRelay;
let watchInstance: ApiProcess;
let onWatch: ApiClient;
let customerId: string;

beforeAll(async () => {
  topo = await startTopology(1, { INSTANCE_TTL: '3000' });
  relay = await startTcpRelay(topo.redis.url);
  watchInstance = await startApiProcess('api-watch', {
    ...topo.env,
    INSTANCE_TTL: '3000',
    REDIS_URL: viaRelay(topo.redis.url, relay),
    SEED_DEMO_DATA: 'false',
  });
  onWatch = new ApiClient(watchInstance.url);
  customerId = (await demoIds(topo.front)).users.customer_456;
}, 120_000);

afterAll(async () => {
  watchInstance?.signal('SIGKILL');
  await watchInstance?.exited;
  await relay?.close();
  await topo?.stop();
});

const onlineOf = (f: ServerFrameOf<'presence'>) => f.data.users.find((u) => u.user_id === customerId)?.online;

it('reports a user coming online on another instance, and re-states a change missed while Redis was unreachable', async () => {
  const consultant: TestSocket = await onWatch.connect('consultant_001');
  consultant.send({ action: 'watch_presence', request_id: 'w', data: { user_ids: [customerId] } });
  const [answer] = await consultant.waitFor('presence', { where: (f) => f.data.request_id === 'w' });
  expect(onlineOf(answer!)).toBe(false);

  const customer = await topo.direct[0]!.connect('customer_456');
  const [online] = await consultant.waitFor('presence', { where: (f) => f.data.reason === 'change' });
  expect(onlineOf(online!)).toBe(true);

  // The watcher's instance loses Redis; the customer leaves meanwhile, so that change is missed.
  await relay.pause();
  await customer.close();
  await relay.resume();
  const [restated] = await consultant.waitFor('presence', {
    where: (f) => f.data.reason === 'bus_recovered',
    timeoutMs: 15_000,
  });
  expect(onlineOf(restated!)).toBe(false);
  await consultant.close();
});
