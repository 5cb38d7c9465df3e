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

/** One command's counters in `INFO commandstats`: calls and Redis's own time in them (µs). */
export interface CommandStat {
  calls: number;
  usec: number;
}

/**
 * `INFO commandstats` of the Redis at `url`, by command name (lower case; EVALSHA covers every
 * script, `set`, `publish`, … the rest). Subtract two snapshots to count what a phase sent.
 */
export async function commandStats(url: string): Promise<Map<string, CommandStat>> {
  const { hostname, port } = new URL(url);
  const { stdout } = await run('redis-cli', ['-h', hostname, '-p', port, 'INFO', 'commandstats']);
  const out = new Map<string, CommandStat>();
  for (const line of stdout.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match) out.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return out;
}

/** Redis's own traffic counters (INFO stats): bytes in and out, reads and writes it processed. */
export interface RedisTraffic {
  inputBytes: number;
  outputBytes: number;
  readsProcessed: number;
  writesProcessed: number;
}

export async function trafficStats(url: string): Promise<RedisTraffic> {
  const { hostname, port } = new URL(url);
  const { stdout } = await run('redis-cli', ['-h', hostname, '-p', port, 'INFO', 'stats']);
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(stdout)?.[1] ?? Number.NaN);
  return {
    inputBytes: field('total_net_input_bytes'),
    outputBytes: field('total_net_output_bytes'),
    readsProcessed: field('total_reads_processed'),
    writesProcessed: field('total_writes_processed'),
  };
}

/** `after` − `before`, commands with no new call left out, the most called first. */
export function commandStatsDelta(
  before: Map<string, CommandStat>,
  after: Map<string, CommandStat>,
): Array<[string, CommandStat]> {
  const out: Array<[string, CommandStat]> = [];
  for (const [name, a] of after) {
    const b = before.get(name) ?? { calls: 0, usec: 0 };
    if (a.calls > b.calls) out.push([name, { calls: a.calls - b.calls, usec: a.usec - b.usec }]);
  }
  return out.sort((x, y) => y[1].calls - x[1].calls);
}
