/**
 * A deployment of one target for a scenario: N instances (Redis between them when N > 1),
 * its users and rooms created once (ours: in the database, through the first instance), and
 * helpers that turn "user u on instance i" into the generator's client specs.
 */
import { randomBytes } from 'node:crypto';
import type { ClientSpec, RoomPlan, TargetKind } from '../common/types.ts';
import type { BenchDatabase } from './database.ts';
import { type BenchRedis, startRedis } from './redis.ts';
import { startTarget, type TargetInstance } from './target.ts';

export interface BenchEnv {
  db: BenchDatabase;
  /** taskset core lists; undefined = not pinned. */
  serverCpus?: string;
  generatorCpus?: string;
  nodeArgs?: string[];
  /** Write a .cpuprofile of every target instance for each measured phase into this folder. */
  profileDir?: string;
  log(line: string): void;
}

/** Profiles every instance of `d` during one measured phase (when env.profileDir is set). */
export function phaseProfiler(env: BenchEnv, d: Deployment, label: string) {
  const dir = env.profileDir;
  if (!dir) return undefined;
  return {
    start: async () => {
      await Promise.all(d.instances.map((i) => i.profileStart()));
    },
    stop: async () => {
      await Promise.all(d.instances.map((i) => i.profileStop(`${dir}/${i.name}-${label}.cpuprofile`)));
    },
  };
}

export interface Deployment {
  kind: TargetKind;
  instances: TargetInstance[];
  redis?: BenchRedis;
  users: Array<{ id: string; token: string }>;
  rooms: string[];
  spec(user: number, instance: number, extra: Partial<ClientSpec> & { worker: number }): ClientSpec;
  /** Replace instance i with a fresh process (same role and settings; new port). */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

export async function deploy(
  env: BenchEnv,
  kind: TargetKind,
  instanceCount: number,
  users: number,
  rooms: RoomPlan[],
  options: { maxBufferedBytes?: number } = {},
): Promise<Deployment> {
  const redis = instanceCount > 1 ? await startRedis(env.serverCpus) : undefined;
  const prefix = `bench${randomBytes(3).toString('hex')}:`;
  const instances: TargetInstance[] = [];
  const stop = async () => {
    await Promise.allSettled(instances.map((i) => i.stop()));
    await redis?.stop();
  };
  try {
    const start = (i: number) =>
      startTarget(kind, `${kind}-${String.fromCharCode(97 + i)}`, {
        ...(env.serverCpus !== undefined ? { cpus: env.serverCpus } : {}),
        ...(env.nodeArgs ? { nodeArgs: env.nodeArgs } : {}),
        ...(redis ? { redisUrl: redis.url, redisPrefix: prefix } : {}),
        ...(options.maxBufferedBytes ? { maxBufferedBytes: options.maxBufferedBytes } : {}),
        ...(kind === 'ours' && env.db.kind === 'postgres'
          ? { databaseUrl: env.db.url!, databaseSchema: env.db.schema! }
          : {}),
      });
    // One after another: the first instance migrates the database schema.
    for (let i = 0; i < instanceCount; i++) {
      instances.push(await start(i));
      if (kind === 'ours' && env.db.kind === 'pglite' && instanceCount > 1) {
        throw new Error('several instances of ours need a shared Postgres (PGlite in memory is per process)');
      }
    }
    const setup = await instances[0]!.setup(users, rooms);
    const restart = async (i: number) => {
      await instances[i]!.stop();
      instances[i] = await start(i);
    };
    return {
      restart,
      kind,
      instances,
      ...(redis ? { redis } : {}),
      users: setup.users,
      rooms: setup.rooms,
      spec(user, instance, extra) {
        // Looked up when the spec is made, so specs made after a restart point at the new process.
        const target = instances[instance]!;
        const account = setup.users[user];
        return {
          kind,
          url: target.url,
          rooms: [],
          ...(account ? { token: account.token, userId: account.id } : {}),
          ...(target.ingressUrl ? { ingressUrl: target.ingressUrl } : {}),
          ...extra,
        };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
