/**
 * Starts a bench process (a target server or the load generator): `node --import tsx <entry>`,
 * with `ulimit -n` raised to the hard limit and, when `taskset` exists, pinned to one core.
 * The shell `exec`s node, so the returned PID is node's own and can be signalled directly.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SOURCE_NODE_ARGS } from '../../../scripts/source-node-args.ts';

export const BENCH_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let tasksetAvailable: boolean | undefined;
export function hasTaskset(): boolean {
  if (tasksetAvailable === undefined) {
    try {
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
      tasksetAvailable = true;
    } catch {
      tasksetAvailable = false;
    }
  }
  return tasksetAvailable;
}

export function cpuCount(): number {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || 1;
  } catch {
    return 1;
  }
}

/** `ulimit -n` a child gets after raising it to the hard limit (what the shell reports). */
export function childFileLimit(): { soft: number; hard: number } {
  const out = execFileSync('bash', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; echo "$(ulimit -n) $(ulimit -Hn)"'], {
    encoding: 'utf8',
  }).trim();
  const [soft, hard] = out.split(' ').map((v) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v)));
  return { soft: soft ?? 0, hard: hard ?? 0 };
}

export interface SpawnOptions {
  /** Core list for taskset (e.g. "0"); ignored when taskset is missing or the box has one core. */
  cpus?: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
  /** Keep stdout/stderr (default: stderr only, stdout ignored). */
  stdout?: 'ignore' | 'inherit' | 'pipe';
}

export function spawnNode(entry: string, options: SpawnOptions = {}): ChildProcess {
  const pin = options.cpus !== undefined && hasTaskset() && cpuCount() > 1 ? `taskset -c ${options.cpus} ` : '';
  const args = [...SOURCE_NODE_ARGS, ...(options.nodeArgs ?? []), entry].map(shellQuote).join(' ');
  const script = `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${pin}${shellQuote(process.execPath)} ${args}`;
  return spawn('bash', ['-c', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', options.stdout ?? 'ignore', 'pipe', 'ipc'],
  });
}

export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./=:@-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
