/**
 * Test-owned redis-server processes (never the machine's shared one when a test must stop
 * or restart Redis). Started on free ports with no persistence, stopped by PID.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';

const run = promisify(execFile);

export interface RedisProcess {
  port: number;
  url: string;
  /** Stop (SIGKILL when `hard`), leaving the port free for `start()` again. */
  stop(options?: { hard?: boolean }): Promise<void>;
  start(): Promise<void>;
}

async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.trim();
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function assertInstalled(): Promise<void> {
  return run('redis-server', ['--version']).then(
    () => undefined,
    () => {
      throw new Error('redis-server is not installed: run `apt-get install -y redis-server` (.ci/run does this)');
    },
  );
}

export async function startRedisServer(extraArgs: string[] = [], fixedPort?: number): Promise<RedisProcess> {
  await assertInstalled();
  const port = fixedPort ?? (await freePort());
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
      { stdio: 'ignore' },
    );
    await waitFor(async () => (await redisCli(port, 'PING')) === 'PONG', `redis-server on port ${port}`);
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    async stop(options = {}) {
      const current = child;
      if (!current || current.exitCode !== null) return;
      const exited = new Promise((r) => current.once('exit', r));
      current.kill(options.hard ? 'SIGKILL' : 'SIGTERM');
      await exited;
      child = null;
    },
  };
}

export interface RedisCluster {
  nodes: RedisProcess[];
  /** A seed node URL (REDIS_URL with REDIS_CLUSTER=true). */
  url: string;
  stop(): Promise<void>;
}

/** Three masters, no replicas: the smallest real cluster, enough for sharded pub/sub. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'anmei-redis-cluster-'));
  const nodes: RedisProcess[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    nodes.push(
      await startRedisServer(
        ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir],
        port,
      ),
    );
  }
  await run('redis-cli', [
    '--cluster',
    'create',
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  for (const node of nodes) {
    await waitFor(
      async () => (await redisCli(node.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
      `cluster state ok on ${node.port}`,
    );
  }
  return {
    nodes,
    url: nodes[0]!.url,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop({ hard: true })));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
