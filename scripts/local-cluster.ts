/**
 * Run N API instances behind nginx on this machine, like production:
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run cluster:local -- 3
 * nginx listens on PORT (default 8000); instances on PORT+1 … PORT+N. Redis: REDIS_URL
 * (default redis://127.0.0.1:6379). Ctrl-C drains every instance (SIGTERM) and stops nginx.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nginxConfig } from '../deploy/nginx-config.ts';
import { SOURCE_NODE_ARGS } from './source-node-args.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const count = Number(process.argv[2] ?? 3);
const frontPort = Number(process.env.PORT ?? 8000);
const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

if (!Number.isInteger(count) || count < 1 || count > 16) {
  console.error('usage: npm run cluster:local -- <instances 1-16>');
  process.exit(2);
}
if (!databaseUrl) {
  // PGlite lives inside one process; several instances must share a real Postgres.
  console.error('DATABASE_URL is required, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres');
  process.exit(2);
}

const children: ChildProcess[] = [];

function startInstance(index: number): Promise<void> {
  const port = frontPort + index;
  const child = spawn(process.execPath, [...SOURCE_NODE_ARGS, join(ROOT, 'apps/api/src/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      INSTANCE_ID: `api-${index}`,
      REDIS_URL: redisUrl,
      DATABASE_URL: databaseUrl,
      SEED_DEMO_DATA: index === 1 ? (process.env.SEED_DEMO_DATA ?? 'true') : 'false',
      ALLOWED_ORIGINS: process.env.ALLOWED_ORIGINS ?? `http://localhost:3000,http://localhost:${frontPort}`,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`api-${index} exited with ${code} during start-up`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      for (const line of text.split('\n')) if (line) process.stdout.write(`[api-${index}] ${line}\n`);
      if (text.includes('"api listening"')) resolve();
    });
  });
}

async function main(): Promise<void> {
  // The first instance migrates and seeds; the others start once it is up.
  await startInstance(1);
  await Promise.all(Array.from({ length: count - 1 }, (_, i) => startInstance(i + 2)));
  const dir = await mkdtemp(join(tmpdir(), 'anmei-nginx-'));
  const upstreamPorts = Array.from({ length: count }, (_, i) => frontPort + i + 1);
  await writeFile(join(dir, 'nginx.conf'), nginxConfig({ dir, listenPort: frontPort, upstreamPorts }));
  const nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'inherit' });
  children.push(nginx);
  console.log(`\n${count} instances behind nginx at http://127.0.0.1:${frontPort} (Ctrl-C drains and stops them)\n`);
}

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill(child.spawnargs[0] === 'nginx' ? 'SIGQUIT' : 'SIGTERM');
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  stop();
  process.exitCode = 1;
});
