/**
 * A bench-owned redis-server (never the machine's shared one): free port, no persistence,
 * pinned with the servers when taskset exists, stopped by PID.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from '../../../apps/api/test/support/free-port.ts';
import { cpuCount, hasTaskset } from '../common/spawn.ts';
import { stopChild } from './ipc.ts';

const run = promisify(execFile);

export interface BenchRedis {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startRedis(cpus?: string): Promise<BenchRedis> {
  try {
    await run('redis-server', ['--version']);
  } catch {
    throw new Error('redis-server is not installed: `apt-get install -y redis-server` (needed for scenario 4)');
  }
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const pin = cpus !== undefined && hasTaskset() && cpuCount() > 1;
  const child: ChildProcess = pin
    ? spawn('taskset', ['-c', cpus, 'redis-server', ...args], { stdio: 'ignore' })
    : spawn('redis-server', args, { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'PING']);
      if (stdout.trim() === 'PONG') break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid ?? -1, stop: () => stopChild(child) };
}
