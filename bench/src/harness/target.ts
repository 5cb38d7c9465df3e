/** Starts one instance of a target server as a child process and drives it over IPC. */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../common/spawn.ts';
import type { BufferStats, RoomPlan, ServerReply, TargetKind } from '../common/types.ts';
import { request, stopChild, waitForMessage } from './ipc.ts';

const ENTRY: Record<TargetKind, string> = {
  ours: fileURLToPath(new URL('../servers/ours.ts', import.meta.url)),
  socketio: fileURLToPath(new URL('../servers/socketio.ts', import.meta.url)),
  rawws: fileURLToPath(new URL('../servers/rawws.ts', import.meta.url)),
};

export interface TargetInstance {
  kind: TargetKind;
  name: string;
  pid: number;
  url: string;
  ingressUrl?: string;
  child: ChildProcess;
  setup(users: number, rooms: RoomPlan[]): Promise<Extract<ServerReply, { type: 'setup-done' }>>;
  /** RSS after forced garbage collections. */
  gc(): Promise<{ rss: number; heapUsed: number }>;
  connections(): Promise<number>;
  profileStart(): Promise<void>;
  profileStop(file: string): Promise<void>;
  heapSnapshot(file: string): Promise<void>;
  /** Queued bytes toward its sockets and RSS (no GC forced). */
  buffers(timeoutMs?: number): Promise<BufferStats>;
  /** SIGKILL by PID (scenario 6: the instance dies without closing its sockets); resolves on exit. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface TargetEnv {
  redisUrl?: string;
  redisPrefix?: string;
  databaseUrl?: string;
  databaseSchema?: string;
  cpus?: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  logLevel?: string;
  /** ours: WS_MAX_BUFFERED_BYTES (slow-consumer cap), bytes. */
  maxBufferedBytes?: number;
}

export async function startTarget(kind: TargetKind, name: string, env: TargetEnv = {}): Promise<TargetInstance> {
  const child = spawnNode(ENTRY[kind], {
    ...(env.cpus !== undefined ? { cpus: env.cpus } : {}),
    nodeArgs: ['--expose-gc', ...(env.nodeArgs ?? [])],
    env: {
      BENCH_INSTANCE: name,
      ...(env.redisUrl ? { BENCH_REDIS_URL: env.redisUrl } : {}),
      ...(env.redisPrefix ? { BENCH_REDIS_PREFIX: env.redisPrefix } : {}),
      ...(env.databaseUrl ? { BENCH_DATABASE_URL: env.databaseUrl } : {}),
      ...(env.databaseSchema ? { BENCH_DATABASE_SCHEMA: env.databaseSchema } : {}),
      ...(env.logLevel ? { BENCH_LOG_LEVEL: env.logLevel } : {}),
      ...(env.maxBufferedBytes ? { BENCH_WS_MAX_BUFFERED_BYTES: String(env.maxBufferedBytes) } : {}),
    },
  });
  const listening = await waitForMessage<ServerReply>(child, (m) => m.type === 'listening', `${name} start-up`, 90_000);
  if (listening.type !== 'listening') throw new Error('unreachable');
  const url = `http://127.0.0.1:${listening.port}`;
  return {
    kind,
    name,
    pid: child.pid ?? -1,
    url,
    ...(listening.ingressPort ? { ingressUrl: `ws://127.0.0.1:${listening.ingressPort}` } : {}),
    child,
    async setup(users, rooms) {
      const done = await request<ServerReply>(
        child,
        { type: 'setup', users, rooms },
        (m) => m.type === 'setup-done',
        `${name} setup`,
        300_000,
      );
      if (done.type !== 'setup-done') throw new Error('unreachable');
      return done;
    },
    async gc() {
      const m = await request<ServerReply>(child, { type: 'gc' }, (r) => r.type === 'gc-done', `${name} gc`);
      if (m.type !== 'gc-done') throw new Error('unreachable');
      return { rss: m.rss, heapUsed: m.heapUsed };
    },
    async connections() {
      const m = await request<ServerReply>(child, { type: 'stats' }, (r) => r.type === 'stats', `${name} stats`);
      return m.type === 'stats' ? m.connections : -1;
    },
    async profileStart() {
      await request<ServerReply>(child, { type: 'profile-start' }, (r) => r.type === 'profile-done', `${name} profile`);
    },
    async profileStop(file) {
      await request<ServerReply>(
        child,
        { type: 'profile-stop', file },
        (r) => r.type === 'profile-done',
        `${name} profile`,
      );
    },
    async heapSnapshot(file) {
      await request<ServerReply>(
        child,
        { type: 'heap-snapshot', file },
        (r) => r.type === 'profile-done',
        `${name} heap`,
      );
    },
    async buffers(timeoutMs) {
      const m = await request<ServerReply>(
        child,
        { type: 'buffers' },
        (r) => r.type === 'buffers',
        `${name} buffers`,
        timeoutMs,
      );
      if (m.type !== 'buffers') throw new Error('unreachable');
      return m.stats;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      process.kill(child.pid!, 'SIGKILL');
      await exited;
    },
    stop: () => stopChild(child),
  };
}
