/**
 * Real API processes for multi-instance tests: `node --import tsx apps/api/src/main.ts` on a free port,
 * ready when it logs "api listening", stopped by PID. Output lines are kept (JSON) so tests
 * can wait for a log record of one instance.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.ts';
import type { LogRecord } from './log-capture.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = `${ROOT}apps/api/src/main.ts`;

export interface ApiProcess {
  name: string;
  port: number;
  url: string;
  pid: number;
  logs: LogRecord[];
  /** Resolves with the first log record (past or future) matching `test`. */
  waitForLog(test: (r: LogRecord) => boolean, what: string, timeoutMs?: number): Promise<LogRecord>;
  signal(signal: NodeJS.Signals): void;
  /** false once the process has exited. */
  running(): boolean;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export async function startApiProcess(name: string, env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  // `node --import tsx`, not the `tsx` wrapper: the wrapper runs the app in a child process,
  // so a SIGKILL aimed at it would leave the real server running.
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      INSTANCE_ID: name,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogRecord[] = [];
  const waiters = new Set<() => void>();
  let buffered = '';
  const stderr: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        logs.push(JSON.parse(line) as LogRecord);
      } catch {
        // A banner line or partial output: not a log record.
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLog: ApiProcess['waitForLog'] = (test, what, timeoutMs = 15_000) => {
    const found = logs.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const wake = () => {
        const hit = logs.find(test);
        if (!hit) return;
        clearTimeout(timer);
        waiters.delete(wake);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(new Error(`${name}: timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${stderr.join('')}`));
      }, timeoutMs);
      waiters.add(wake);
    });
  };

  const ready = waitForLog((r) => r.msg === 'api listening', 'start-up', 60_000);
  const died = exited.then((code) => {
    throw new Error(`${name} exited with ${code} before listening: ${stderr.join('')}`);
  });
  await Promise.race([ready, died]);
  died.catch(() => undefined);
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    logs,
    waitForLog,
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    running: () => child.exitCode === null && child.signalCode === null,
    exited,
  };
}
