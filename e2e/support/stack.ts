/**
 * The system under test, for browser tests: the real API as a child process (so it can be killed
 * and restarted on the same port, with its PGlite data on disk), the production build of apps/web
 * (`next build` + `next start`) on a free port, and Debian's Chromium driven by playwright-core.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { freePort } from '../../apps/api/test/support/free-port.ts';
import { SOURCE_NODE_ARGS } from '../../scripts/source-node-args.ts';

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

/** `env`: settings that replace the defaults below, e.g. `{NOTIFICATION_PROVIDERS: 'logging'}`. */
export async function startApi(allowedOrigin: string, env: Record<string, string> = {}): Promise<ApiServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'anmei-e2e-'));
  let child: Child | null = null;
  const earlierRuns: string[] = [];
  const start = async () => {
    if (child) earlierRuns.push(...child.output, '--- restarted ---\n');
    child = run(process.execPath, [...SOURCE_NODE_ARGS, join(ROOT, 'apps/api/src/main.ts')], {
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
        // Web Push on (the web app's "消息通知" switch needs its VAPID key); logging stays so the
        // seed's log lines remain. Browsers here cannot reach a real push service: a push the
        // server sends fails fast and is dropped after PUSH_MAX_AGE ms instead of retried for an hour.
        NOTIFICATION_PROVIDERS: 'logging,webpush',
        // The tests' subscriptions point at push.invalid (Chromium here cannot reach a real push service).
        WEB_PUSH_ALLOWED_HOSTS: 'push.invalid',
        PUSH_MAX_AGE: '10000',
        PUSH_SEND_TIMEOUT: '2000',
        // Every page of every test signs in through the one address 127.0.0.1, many times a minute per
        // demo user: far above the login and ticket limits meant for people (docs/security.md).
        RATE_LIMIT_LOGIN_PER_IP: '10000',
        RATE_LIMIT_LOGIN_PER_USERNAME: '10000',
        RATE_LIMIT_TICKETS_PER_USER: '10000',
        ...env,
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

// The e2e files of one Vitest run may start at the same time in two workers: one builds, the
// other waits for that build (a lock directory) and reuses it (a marker naming the run).
const BUILD_TAG = createHash('sha256').update(WEB_DIR).digest('hex').slice(0, 12);
const BUILD_LOCK = join(tmpdir(), `anmei-e2e-build-${BUILD_TAG}.lock`);
const BUILD_MARKER = join(tmpdir(), `anmei-e2e-build-${BUILD_TAG}.json`);
const BUILD_LOCK_TIMEOUT_MS = 600_000;

/** The Vitest run this worker belongs to: its parent (Vitest's main process) and when that started. */
function runKey(): string {
  try {
    const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    return `${process.ppid}:${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`; // field 22: starttime
  } catch {
    return String(process.ppid);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + BUILD_LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      writeFileSync(join(BUILD_LOCK, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(join(BUILD_LOCK, 'pid'), 'utf8'));
      } catch {
        // Just created, pid not written yet.
      }
      if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(BUILD_LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline)
        throw new Error(`timed out after ${BUILD_LOCK_TIMEOUT_MS} ms waiting for the web build lock ${BUILD_LOCK}`);
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

/** `next build` once per run (set E2E_SKIP_BUILD=1 to reuse an existing build). */
export async function buildWeb(): Promise<void> {
  const buildId = join(WEB_DIR, '.next/BUILD_ID');
  if (process.env.E2E_SKIP_BUILD === '1' && existsSync(buildId)) return;
  const key = runKey();
  await withBuildLock(async () => {
    try {
      const marker = JSON.parse(readFileSync(BUILD_MARKER, 'utf8')) as { run: string; buildId: string };
      if (marker.run === key && readFileSync(buildId, 'utf8') === marker.buildId) return; // built by this run
    } catch {
      // No marker or no build: build.
    }
    const child = run(process.execPath, [NEXT_BIN, 'build'], {
      cwd: WEB_DIR,
      env: { NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
    });
    const code = await child.exited;
    if (code !== 0) throw new Error(`next build failed (${code}):\n${child.output.join('')}`);
    writeFileSync(BUILD_MARKER, JSON.stringify({ run: key, buildId: readFileSync(buildId, 'utf8') }));
  });
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

/** API, production web app and browser of one e2e file: started together, stopped in reverse. */
export interface Stack {
  api: ApiServer;
  web: WebServer;
  browser: Browser;
  stop(): Promise<void>;
}

/** `apiEnv`: extra environment of the API (e.g. a rate limit a test needs low), over startApi's. */
export async function startStack(apiEnv: Record<string, string> = {}): Promise<Stack> {
  const webPort = await freePort();
  const [api] = await Promise.all([startApi(`http://127.0.0.1:${webPort}`, apiEnv), buildWeb()]);
  const web = await startWeb(webPort, api.wsUrl);
  const browser = await launchBrowser();
  return {
    api,
    web,
    browser,
    async stop() {
      await browser.close();
      await web.stop();
      await api.stop();
    },
  };
}
