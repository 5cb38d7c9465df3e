/**
 * A production-shaped deployment for one test file: a test-owned redis-server, a fresh
 * Postgres schema, N API processes sharing both, and nginx in front of them.
 */
import { ApiClient } from './api-client.ts';
import { type ApiProcess, startApiProcess } from './api-process.ts';
import { type Nginx, startNginx } from './nginx.ts';
import { createTestSchema } from './postgres-schema.ts';
import { type RedisProcess, startRedisServer } from './redis-server.ts';

export interface Topology {
  redis: RedisProcess;
  instances: ApiProcess[];
  /** Clients talking to one instance directly (to control where a socket lives). */
  direct: ApiClient[];
  nginx: Nginx;
  /** A client going through nginx, like a real user. */
  front: ApiClient;
  /** The environment every instance was started with (Redis, database, schema). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * `env` goes to every instance; `perInstance(name)` adds settings of one instance (e.g. a
 * webhook URL naming it).
 */
export async function startTopology(
  count: number,
  env: Record<string, string> = {},
  perInstance: (name: string) => Record<string, string> = () => ({}),
): Promise<Topology> {
  const redis = await startRedisServer();
  const db = await createTestSchema();
  const instances: ApiProcess[] = [];
  const common = {
    REDIS_URL: redis.url,
    DATABASE_URL: db.url,
    DATABASE_SCHEMA: db.schema,
    WS_DRAIN_SPREAD: '300',
    ...env,
  };
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  try {
    // The first instance migrates and seeds; the others start after it so they find the data.
    instances.push(await startApiProcess('api-1', { ...common, ...perInstance('api-1'), SEED_DEMO_DATA: 'true' }));
    const rest = await Promise.allSettled(
      Array.from({ length: count - 1 }, (_, i) =>
        startApiProcess(`api-${i + 2}`, { ...common, ...perInstance(`api-${i + 2}`), SEED_DEMO_DATA: 'false' }),
      ),
    );
    // Keep the ones that started, so a failure below still stops them.
    for (const r of rest) if (r.status === 'fulfilled') instances.push(r.value);
    const failed = rest.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    nginx = await startNginx(instances.map((i) => i.port));
  } catch (error) {
    // Nothing of a topology that failed to start may outlive the test (Redis, instances, schema).
    for (const i of instances) i.signal('SIGKILL');
    await Promise.all(instances.map((i) => i.exited));
    await redis.stop({ hard: true });
    await db.drop();
    throw error;
  }
  return {
    redis,
    instances,
    direct: instances.map((i) => new ApiClient(i.url)),
    nginx,
    front: new ApiClient(nginx.url),
    env: common,
    async stop() {
      await nginx.stop();
      for (const i of instances) i.signal('SIGKILL');
      await Promise.all(instances.map((i) => i.exited));
      await redis.stop({ hard: true });
      await db.drop();
    },
  };
}

/** Ids of the seeded demo data, read through the API. */
const DEMO_USERNAMES = ['customer_456', 'customer_789', 'consultant_001', 'doctor_001', 'admin'] as const;
export type DemoUsername = (typeof DEMO_USERNAMES)[number];

export async function demoIds(
  client: ApiClient,
): Promise<{ users: Record<DemoUsername, string>; facial: string; followUp: string }> {
  const users = {} as Record<DemoUsername, string>;
  for (const name of DEMO_USERNAMES) users[name] = (await client.login(name)).userId;
  const { token } = await client.login('consultant_001');
  const res = await client.http('GET', '/api/v1/conversations', { token });
  const byTitle = (title: string) => {
    const c = (res.body.conversations as Array<{ id: string; title: string }>).find((x) => x.title === title);
    if (!c) throw new Error(`demo conversation ${title} not found`);
    return c.id;
  };
  return { users, facial: byTitle('王小姐的面部护理咨询'), followUp: byTitle('李先生的术后复诊') };
}
