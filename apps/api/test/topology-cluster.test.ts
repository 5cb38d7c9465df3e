/**
 * Two real API processes on a test-owned 3-node Redis Cluster (REDIS_CLUSTER=true: sharded
 * pub/sub, presence keys under one hash tag): messages, presence and tickets work across them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClient } from './support/api-client.ts';
import { type ApiProcess, startApiProcess } from './support/api-process.ts';
import { createTestSchema } from './support/postgres-schema.ts';
import { type RedisCluster, startRedisCluster } from './support/redis-server.ts';
import type { TestSocket } from './support/test-socket.ts';
import { demoIds } from './support/topology.ts';

let cluster: RedisCluster;
let db: Awaited<ReturnType<typeof createTestSchema>>;
const instances: ApiProcess[] = [];
const sockets: TestSocket[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  db = await createTestSchema();
  const env = { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', DATABASE_URL: db.url, DATABASE_SCHEMA: db.schema };
  instances.push(await startApiProcess('cluster-1', { ...env, SEED_DEMO_DATA: 'true' }));
  instances.push(await startApiProcess('cluster-2', { ...env, SEED_DEMO_DATA: 'false' }));
}, 120_000);

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  for (const i of instances) i.signal('SIGKILL');
  await Promise.all(instances.map((i) => i.exited));
  await cluster?.stop();
  await db?.drop();
});

it('delivers across instances and lists devices of both through a Redis Cluster', async () => {
  const [one, two] = instances.map((i) => new ApiClient(i.url)) as [ApiClient, ApiClient];
  const ids = await demoIds(one);
  const customer = await one.connect('customer_456', { deviceType: 'mobile' });
  const consultant = await two.connect('consultant_001');
  const customerDesktop = await two.connect('customer_456');
  sockets.push(customer, consultant, customerDesktop);

  const content = `集群消息 ${randomUUID()}`;
  customer.send({
    action: 'send_message',
    data: { conversation_id: ids.facial, client_message_id: randomUUID(), content },
  });
  await consultant.waitFor('new_message', { where: (f) => f.data.content === content });

  const reply = `集群回复 ${randomUUID()}`;
  consultant.send({
    action: 'send_message',
    data: { conversation_id: ids.facial, client_message_id: randomUUID(), content: reply },
  });
  await customer.waitFor('consultation_reply', { where: (f) => f.data.content === reply });
  await customerDesktop.waitFor('consultation_reply', { where: (f) => f.data.content === reply });

  const { token } = await one.login('admin');
  const res = await one.http('GET', `/api/v1/admin/users/${ids.users.customer_456}/devices`, { token });
  expect(res.body.devices.map((d: { instance_id: string }) => d.instance_id)).toEqual(['cluster-1', 'cluster-2']);
  const stats = await two.http('GET', '/api/v1/admin/stats', { token });
  expect(stats.body.by_instance).toEqual({ 'cluster-1': 1, 'cluster-2': 2 });
});
