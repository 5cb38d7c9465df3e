/**
 * A push is never lost to a crash, and never sent twice because of one. A consultant's reply is
 * stored and acked; the push provider (a webhook double over real HTTP) holds the first attempt
 * of every push unanswered, and the instance making it is killed with SIGKILL mid-attempt. The
 * job's lease then runs out and a restarted instance (embedded PGlite, one instance) or the
 * surviving one (Postgres + Redis, two instances) sends it: each offline participant ends with
 * exactly one delivered push. The counts are printed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient } from './support/api-client.ts';
import { type ApiProcess, startApiProcess } from './support/api-process.ts';
import { demoIds, startTopology, type Topology } from './support/topology.ts';
import { WebhookDouble, type WebhookRequest } from './support/webhook-double.ts';

/**
 * A held attempt must not end by itself before the kill (PUSH_SEND_TIMEOUT), and the lease the
 * next instance waits out (PUSH_LEASE) should be short for the test; 2 × timeout is the minimum.
 */
const PUSH_ENV = {
  NOTIFICATION_PROVIDER: 'webhook',
  PUSH_SEND_TIMEOUT: '3000',
  PUSH_LEASE: '6000',
  PUSH_POLL_INTERVAL: '200',
};

/** The instance a webhook request came from: each instance posts to /push/<its name>. */
const senderOf = (r: WebhookRequest) => r.path.split('/').pop() ?? '';

/** The reply, the two held first attempts (customer and doctor are both offline), and their keys. */
async function replyWhileEveryoneIsOffline(client: ApiClient, double: WebhookDouble) {
  const ids = await demoIds(client);
  const { token } = await client.login('consultant_001');
  const sent = await client.http('POST', `/api/v1/chat/${ids.facial}/send`, {
    token,
    body: { content: '术后注意事项已发送，请查收', client_message_id: `crash-${Date.now()}` },
  });
  expect(sent.status).toBe(200);
  const keys = [ids.users.customer_456, ids.users.doctor_001].map((u) => `message:${sent.body.message_id}:${u}`);
  await double.until(
    (requests) => keys.every((k) => requests.some((r) => r.key === k && r.state === 'held')),
    'the first attempt of both pushes, held by the double',
  );
  return { keys, ids };
}

/** Nothing else is scheduled: no pending job is left that could send again. */
async function expectQueueSettled(url: string, delivered: number) {
  const admin = new ApiClient(url);
  const { token } = await admin.login('admin');
  const stats = await admin.http('GET', '/api/v1/admin/stats', { token });
  expect(stats.body.push.queue).toMatchObject({ pending: 0, delivered, failed: 0, expired: 0 });
}

/** Waits until every push was delivered by some instance, then prints and returns the counts. */
async function deliveredOnce(name: string, double: WebhookDouble, keys: string[]) {
  await double.until(
    (requests) => keys.every((k) => requests.some((r) => r.key === k && r.state === 'delivered')),
    'every push delivered by a restarted or surviving instance',
    60_000,
  );
  const summary = double.summary();
  // The acceptance asks for the counts in the output.
  console.log(`[push-crash:${name}] ${JSON.stringify(Object.fromEntries(keys.map((k) => [k, summary[k]])))}`);
  return summary;
}

describe('embedded default (PGlite on disk, one instance)', () => {
  let double: WebhookDouble;
  let dataDir: string;
  const processes: ApiProcess[] = [];

  afterAll(async () => {
    for (const p of processes) p.signal('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await double?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('a restarted instance sends the push its killed predecessor was making, once', async () => {
    double = await WebhookDouble.start();
    double.hold = (_request, earlier) => earlier.length === 0;
    dataDir = await mkdtemp(join(tmpdir(), 'anmei-push-crash-'));
    const env = { ...PUSH_ENV, DATA_DIR: dataDir, PUSH_WEBHOOK_URL: `${double.url}/push/api-solo` };
    const first = await startApiProcess('api-solo', { ...env, SEED_DEMO_DATA: 'true' });
    processes.push(first);
    const { keys } = await replyWhileEveryoneIsOffline(new ApiClient(first.url), double);

    first.signal('SIGKILL');
    await first.exited;
    const second = await startApiProcess('api-solo', { ...env, SEED_DEMO_DATA: 'false' });
    processes.push(second);
    const summary = await deliveredOnce('pglite', double, keys);
    for (const key of keys) {
      expect(summary[key]).toEqual({
        requests: 2,
        delivered: 1,
        paths: ['/push/api-solo:cut', '/push/api-solo:delivered'],
      });
    }
    await expectQueueSettled(second.url, 2);
  });
});

describe('Postgres and Redis, two instances', () => {
  let double: WebhookDouble;
  let topo: Topology | undefined;
  const restarted: ApiProcess[] = [];

  afterAll(async () => {
    for (const p of restarted) p.signal('SIGKILL');
    await Promise.all(restarted.map((p) => p.exited));
    await topo?.stop();
    await double?.stop();
  });

  it('the other instance sends the push the killed one was making, once', async () => {
    double = await WebhookDouble.start();
    double.hold = (_request, earlier) => earlier.length === 0;
    topo = await startTopology(2, PUSH_ENV, (name) => ({ PUSH_WEBHOOK_URL: `${double.url}/push/${name}` }));
    const { keys } = await replyWhileEveryoneIsOffline(topo.direct[0] as ApiClient, double);

    // Kill every instance that is in the middle of a held attempt (normally api-1, which stored
    // the reply and was nudged; api-2 may have claimed one of the two pushes in between).
    const holders = new Set(double.requests.filter((r) => r.state === 'held').map(senderOf));
    const victims = topo.instances.filter((i) => holders.has(i.name));
    for (const v of victims) v.signal('SIGKILL');
    await Promise.all(victims.map((v) => v.exited));
    if (victims.length === topo.instances.length) {
      // Both were mid-attempt: bring one back on the same database and Redis.
      restarted.push(await startApiProcess('api-1', { ...topo.env, PUSH_WEBHOOK_URL: `${double.url}/push/api-1` }));
    }
    const summary = await deliveredOnce('postgres', double, keys);
    for (const key of keys) {
      expect(summary[key]?.delivered).toBe(1);
      expect(summary[key]?.requests).toBe(2);
      expect(summary[key]?.paths[0]).toMatch(/:cut$/);
    }
    const alive = [...topo.instances.filter((i) => i.running()), ...restarted][0] as ApiProcess;
    await expectQueueSettled(alive.url, 2);
  });
});
