/**
 * Real API processes for multi-instance tests: `node --import tsx apps/api/src/main.ts` on a free port,
 * ready when it logs "api listening", stopped by PID. Output lines are kept (JSON) so tests
 * can wait for a log record of one instance.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SOURCE_NODE_ARGS } from '../../../../scripts/source-node-args.ts';
import { freePort } from './free-port.ts';
import { LEVEL, type LogRecord } from './log-capture.ts';

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
  /**
   * For a failing test's message: whether the process runs (or how it ended), its last
   * `lines` log records at warn level or above, and its stderr.
   */
  describe(lines?: number): string;
}

/** What to run instead of the sources through tsx: e.g. a compiled image's CMD, from its folder. */
export interface ApiCommand {
  /** Arguments for this test's own Node binary, e.g. ['apps/api/dist/main.js']. */
  argv: string[];
  cwd: string;
}

export async function startApiProcess(
  name: string,
  env: Record<string, string>,
  command?: ApiCommand,
): Promise<ApiProcess> {
  const port = await freePort();
  // `node --import tsx`, not the `tsx` wrapper: the wrapper runs the app in a child process,
  // so a SIGKILL aimed at it would leave the real server running.
  const child: ChildProcess = spawn(process.execPath, command?.argv ?? [...SOURCE_NODE_ARGS, MAIN], {
    cwd: command?.cwd ?? ROOT,
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
  // Debugging aid: TEST_API_LOG_DIR=/some/dir keeps every process's whole output in a file.
  const logDir = process.env.TEST_API_LOG_DIR;
  if (logDir) {
    const file = createWriteStream(`${logDir}/${name}-${child.pid}.log`);
    child.stdout?.on('data', (chunk: Buffer) => file.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => file.write(chunk));
    child.once('exit', () => file.end());
  }
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
    describe: (lines = 10) => {
      const state =
        child.exitCode === null && child.signalCode === null
          ? 'running'
          : `exited (code ${child.exitCode}, signal ${child.signalCode})`;
      const notable = logs.filter((r) => r.level >= LEVEL.warn).slice(-lines);
      return [
        `${name} (pid ${child.pid}): ${state}`,
        // Cut long records (stacks): the message and the first of the error are what help.
        ...notable.map((r) => `  ${JSON.stringify(r).slice(0, 400)}`),
        ...(stderr.length > 0 ? [`  stderr: ${stderr.join('').slice(-4000)}`] : []),
      ].join('\n');
    },
  };
}
