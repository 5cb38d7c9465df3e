/**
 * Scenario 3, idle connections: RSS per connection = (RSS with N idle clients - RSS before),
 * both after forced GCs, on a process that did nothing else before. Ours: each client is a distinct user, authenticated with a ticket and
 * registered in presence (memory presence, the single-instance default).
 */
import type { ClientSpec, TargetKind } from '../common/types.ts';
import { type BenchEnv, deploy } from '../harness/deploy.ts';
import { startGenerator } from '../harness/generator.ts';
import { sleep } from '../harness/measure.ts';
import type { Profile } from './profile.ts';

export interface IdleResult {
  target: TargetKind;
  connections: number;
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  heapAfter: number;
  bytesPerConnection: number;
  heapPerConnection: number;
  connectSeconds: number;
}

export async function runIdle(env: BenchEnv, profile: Profile, kind: TargetKind): Promise<IdleResult> {
  const n = profile.idle.connections;
  const deployment = await deploy(env, kind, 1, n, []);
  const generator = await startGenerator({
    ...(env.generatorCpus !== undefined ? { cpus: env.generatorCpus } : {}),
    workers: profile.workers,
  });
  try {
    // Creating thousands of users leaves freed heap that new connections would reuse, hiding
    // their cost: measure on a fresh process (the users stay in Postgres).
    if (kind === 'ours' && env.db.kind === 'postgres') await deployment.restart(0);
    const instance = deployment.instances[0]!;
    // Warm the code paths with a few connections so lazily loaded code is in the baseline too.
    const warm = 20;
    const specs: ClientSpec[] = Array.from({ length: n }, (_, u) => deployment.spec(u, 0, { worker: u }));
    await generator.connect(specs.slice(0, warm));
    await sleep(500);
    const before = await instance.gc();
    if (env.profileDir) await instance.heapSnapshot(`${env.profileDir}/${instance.name}-idle-before.heapsnapshot`);
    const t0 = performance.now();
    await generator.connect(specs.slice(warm), 128);
    const connectSeconds = (performance.now() - t0) / 1000;
    const open = await instance.connections();
    if (open !== n) throw new Error(`${kind}: server reports ${open} connections, expected ${n}`);
    await sleep(1_000);
    const after = await instance.gc();
    if (env.profileDir) await instance.heapSnapshot(`${env.profileDir}/${instance.name}-idle-after.heapsnapshot`);
    const added = n - warm;
    env.log(`  ${kind}: ${n} idle connections, +${((after.rss - before.rss) / 1048576).toFixed(1)} MiB RSS`);
    await generator.close();
    return {
      target: kind,
      connections: n,
      rssBefore: before.rss,
      rssAfter: after.rss,
      heapBefore: before.heapUsed,
      heapAfter: after.heapUsed,
      bytesPerConnection: (after.rss - before.rss) / added,
      heapPerConnection: (after.heapUsed - before.heapUsed) / added,
      connectSeconds,
    };
  } finally {
    await generator.kill();
    await deployment.stop();
  }
}
