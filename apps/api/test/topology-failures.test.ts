/**
 * Failures with real processes behind nginx: Redis restarts under running instances, an
 * instance is kill -9'd, another is drained with SIGTERM. Tests run in order and share the
 * deployment, as the failures would in production.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from './support/api-client.ts';
import { startApiProcess } from './support/api-process.ts';
import type { TestSocket } from './support/test-socket.ts';
import { demoIds, startTopology, type Topology } from './support/topology.ts';
import { eventually } from './support/wait.ts';

let topo: Topology;
let ids: Awaited<ReturnType<typeof demoIds>>;
const open: TestSocket[] = [];

beforeAll(async () => {
  topo = await startTopology(3);
  ids = await demoIds(topo.direct[0]!);
}, 120_000);

afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
  await topo?.stop();
});

async function connect(client: ApiClient, username: string): Promise<TestSocket> {
  const socket = await client.connect(username);
  open.push(socket);
  return socket;
}

async function devices(userId: string): Promise<Array<{ connection_id: string; instance_id: string }>> {
  const { token } = await topo.front.login('admin');
  const res = await topo.front.http('GET', `/api/v1/admin/users/${userId}/devices`, { token });
  if (res.status !== 200) throw new Error(`devices: ${res.status}`);
  return res.body.devices;
}

function redisCli(...args: string[]): Promise<string> {
  return promisify(execFile)('redis-cli', ['-p', String(topo.redis.port), ...args]).then((r) => r.stdout.trim());
}

describe('failures', () => {
  it('refuses to start a second process with the INSTANCE_ID of a running one', async () => {
    await connect(topo.direct[1]!, 'consultant_001');
    const clash = startApiProcess('api-2', { ...topo.env, SEED_DEMO_DATA: 'false' });
    await expect(clash).rejects.toThrow('INSTANCE_ID "api-2" is in use by another running instance');
    // The refused process touched nothing of the running one: its bus routes are intact.
    expect(await redisCli('HGET', 'ws:bus:routes', ids.users.consultant_001)).toBe('api-2');
  });

  it('recovers from a Redis restart without restarting instances: subscriptions and presence come back', async () => {
    const customer = await connect(topo.direct[0]!, 'customer_456');
    const consultant = await connect(topo.direct[1]!, 'consultant_001');
    const leaving = await connect(topo.direct[0]!, 'doctor_001');

    await topo.redis.stop({ hard: true });
    // During the outage a send is still stored and answered at once (delivery is repaired by
    // resume), /ready answers 503 and /health (liveness) 200 with the instance degraded.
    await topo.instances[0]!.waitForLog((r) => r.msg === 'redis connection lost; reconnecting', 'outage noticed');
    // A user's last socket closing now: its presence removal and its bus unsubscription both
    // fail. That is logged as the outage it is (WARN, not ERROR), and must neither end the
    // process nor leave a rejection unhandled.
    await leaving.close();
    await topo.instances[0]!.waitForLog(
      (r) => r.msg === 'redis unavailable: connection cleanup failed' && r.userId === ids.users.doctor_001,
      'the failed cleanup logged',
    );
    expect(topo.instances[0]!.logs.filter((r) => r.msg === 'connection cleanup failed')).toEqual([]);
    const api1 = topo.direct[0]!;
    const { token } = await api1.login('customer_456');
    const during = await api1.http('POST', `/api/v1/chat/${ids.facial}/send`, {
      token,
      body: { content: 'Redis 停机期间' },
    });
    expect(during.status).toBe(200);
    const health = await api1.http('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'degraded', bus: { status: 'unavailable' } });
    const ready = await api1.http('GET', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ code: 'NOT_READY', checks: { redis: 'unavailable', database: 'ok' } });
    await topo.redis.start();
    for (const instance of topo.instances) {
      await instance.waitForLog(
        (r) => r.msg === 'redis connection restored' && r.connection === 'subscriber',
        'redis back',
      );
    }
    // Presence is rebuilt from each instance's own sockets (Redis lost everything).
    await eventually(
      () => devices(ids.users.customer_456),
      (d) => d.length === 1,
      'customer presence re-registered',
    );
    // Bus routes are registered again too (the restarted Redis has none).
    await eventually(
      () => redisCli('HGET', 'ws:bus:routes', ids.users.consultant_001),
      (out) => out.trim() === 'api-2',
      'consultant routed to its instance again',
    );

    const content = `Redis 重启后 ${randomUUID()}`;
    customer.send({
      action: 'send_message',
      data: { conversation_id: ids.facial, client_message_id: randomUUID(), content },
    });
    await consultant.waitFor('new_message', { where: (f) => f.data.content === content });
    for (const instance of topo.instances) {
      expect(instance.running()).toBe(true);
      expect(instance.logs.filter((r) => r.msg.startsWith('unhandled promise rejection'))).toEqual([]);
    }
  });

  it('after kill -9 of an instance its presence is gone within 10 s and its clients chat on through nginx', async () => {
    const consultant = await connect(topo.direct[0]!, 'consultant_001');
    let customer = await connect(topo.front, 'customer_789');
    const connectionId = customer.all('connected')[0]!.data.connection_id;
    const placed = (await devices(ids.users.customer_789)).find((d) => d.connection_id === connectionId);
    const victim = topo.instances.find((i) => i.name === placed?.instance_id);
    // Whichever instance nginx chose dies; if it also held the consultant, the consultant moves too.
    expect(victim).toBeDefined();

    const killedAt = Date.now();
    victim!.signal('SIGKILL');
    await victim!.exited;
    expect((await customer.waitForClose()).code).toBe(1006);

    await eventually(
      () => devices(ids.users.customer_789),
      (d) => !d.some((x) => x.connection_id === connectionId),
      'the dead connection to leave presence',
      10_000,
    );
    const survivors = topo.instances.filter((i) => i !== victim);
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(await redisCli('SISMEMBER', 'ws:online_users', ids.users.customer_789)).toBe('0');
    // The reaper also dropped the dead instance's bus routes: nobody publishes to it any more.
    await eventually(
      () => redisCli('SMEMBERS', `ws:bus:routes_of:${victim!.name}`),
      (out) => out === '',
      "the dead instance's bus routes to be forgotten",
    );
    expect((await redisCli('HGET', 'ws:bus:routes', ids.users.customer_789)).split(' ')).not.toContain(victim!.name);

    customer = await connect(topo.front, 'customer_789');
    const now = await devices(ids.users.customer_789);
    expect(survivors.map((s) => s.name)).toContain(now[0]?.instance_id);

    const live = consultant.closed ? await connect(topo.front, 'consultant_001') : consultant;
    const content = `换了实例 ${randomUUID()}`;
    customer.send({
      action: 'send_message',
      data: { conversation_id: ids.followUp, client_message_id: randomUUID(), content },
    });
    await live.waitFor('new_message', { where: (f) => f.data.content === content });
  });

  it('SIGTERM drains an instance: clients are told to move, no send fails, and no message is lost', async () => {
    const alive = topo.instances.filter((i) => i.running());
    expect(alive.length).toBeGreaterThanOrEqual(2);
    let recipient = await connect(topo.front, 'customer_456');
    const placed = (await devices(ids.users.customer_456)).find(
      (d) => d.connection_id === recipient.all('connected')[0]!.data.connection_id,
    );
    const drained = alive.find((i) => i.name === placed?.instance_id)!;
    expect(drained).toBeDefined();

    const { token } = await topo.front.login('consultant_001');
    const statuses: number[] = [];
    const sentIds: string[] = [];
    const sending = (async () => {
      for (let i = 0; i < 30; i++) {
        const res = await topo.front.http('POST', `/api/v1/chat/${ids.facial}/send`, {
          token,
          body: { content: `排水 ${i}`, client_message_id: randomUUID() },
        });
        statuses.push(res.status);
        if (res.status === 200) sentIds.push(res.body.message_id);
        if (i === 5) drained.signal('SIGTERM');
      }
    })();

    const [notice] = await recipient.waitFor('reconnect', { timeoutMs: 15_000 });
    expect(notice?.data.reason).toBe('server_draining');
    expect(notice!.data.retry_after_ms).toBeLessThanOrEqual(300);
    expect((await recipient.waitForClose()).code).toBe(1001);
    const seen = new Set([...recipient.all('consultation_reply')].map((f) => f.data.message?.id).filter(Boolean));
    const lastSeq = Math.max(0, ...recipient.all('consultation_reply').map((f) => f.data.message?.seq ?? 0));

    await new Promise((r) => setTimeout(r, notice!.data.retry_after_ms)); // the server asked us to wait this long
    recipient = await connect(topo.front, 'customer_456');
    await sending;
    expect(await drained.exited).toBe(0);
    expect(statuses.every((s) => s === 200)).toBe(true);

    // Everything sent is either already seen live or fetched after the last seen seq: nothing missing, nothing twice.
    const { token: customerToken } = await topo.front.login('customer_456');
    const history = await topo.front.http('GET', `/api/v1/chat/${ids.facial}/messages?after_seq=${lastSeq}&limit=200`, {
      token: customerToken,
    });
    const fetched = (history.body.messages as Array<{ id: string }>).map((m) => m.id);
    for (const id of fetched) seen.add(id);
    expect(sentIds.filter((id) => !seen.has(id))).toEqual([]);
    // Its connections were deregistered at shutdown, not after a TTL.
    expect((await devices(ids.users.customer_456)).some((d) => d.instance_id === drained.name)).toBe(false);
    await drained.waitForLog((r) => r.msg === 'shutdown complete', 'clean shutdown log');
  });
});
