/**
 * The system under test, for browser tests: the real API as a child process (so it can be killed
 * and restarted on the same port, with its PGlite data on disk), the production build of apps/web
 * (`next build` + `next start`) on a free port, and Debian's Chromium driven by playwright-core.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { freePort } from '../../apps/api/test/support/free-port.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB_DIR = join(ROOT, 'apps/web');
const NEXT_BIN = join(ROOT, 'node_modules/next/dist/bin/next');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface Child {
  process: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function run(command: string, args: string[], options: { cwd: string; env: Record<string, string> }): Child {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, output, exited };
}

async function waitForOutput(child: Child, pattern: RegExp, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void child.exited.then((code) => {
    exitCode = code;
  });
  while (!pattern.test(child.output.join(''))) {
    if (exitCode !== undefined) throw new Error(`${what} exited (${exitCode}) before ready:\n${child.output.join('')}`);
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${child.output.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface ApiServer {
  port: number;
  url: string;
  wsUrl: string;
  pid(): number;
  /** The last `lines` lines the API printed (all of its runs), to explain a failed test. */
  logTail(lines?: number): string;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** Start again on the same port with the same data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startApi(allowedOrigin: string): Promise<ApiServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'anmei-e2e-'));
  let child: Child | null = null;
  const earlierRuns: string[] = [];
  const start = async () => {
    if (child) earlierRuns.push(...child.output, '--- restarted ---\n');
    child = run(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/api/src/main.ts')], {
      cwd: ROOT,
      env: {
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATA_DIR: dataDir,
        SEED_DEMO_DATA: 'true',
        LOG_LEVEL: 'info',
        STATS_INTERVAL: '500',
        ALLOWED_ORIGINS: allowedOrigin,
        INSTANCE_ID: 'e2e-api',
      },
    });
    await waitForOutput(child, /"msg":"api listening"/, 'the API', 60_000);
  };
  await start();
  const stopChild = async (signal: NodeJS.Signals) => {
    const current = child;
    if (!current || current.process.exitCode !== null || current.process.signalCode !== null) return;
    current.process.kill(signal);
    await current.exited;
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    pid: () => child?.process.pid ?? -1,
    logTail: (lines = 80) => [...earlierRuns, ...(child?.output ?? [])].join('').split('\n').slice(-lines).join('\n'),
    kill: () => stopChild('SIGKILL'),
    restart: start,
    async stop() {
      await stopChild('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `next build` once per run (set E2E_SKIP_BUILD=1 to reuse an existing build). */
export async function buildWeb(): Promise<void> {
  if (process.env.E2E_SKIP_BUILD === '1' && existsSync(join(WEB_DIR, '.next/BUILD_ID'))) return;
  const child = run(process.execPath, [NEXT_BIN, 'build'], {
    cwd: WEB_DIR,
    env: { NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
  });
  const code = await child.exited;
  if (code !== 0) throw new Error(`next build failed (${code}):\n${child.output.join('')}`);
}

export interface WebServer {
  url: string;
  stop(): Promise<void>;
}

export async function startWeb(port: number, wsUrl: string): Promise<WebServer> {
  const child = run(process.execPath, [NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: WEB_DIR,
    env: { NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production', NEXT_PUBLIC_WS_URL: wsUrl },
  });
  await waitForOutput(child, /Ready in|started server on/i, 'next start', 60_000);
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGTERM');
        await child.exited;
      }
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH).`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}
