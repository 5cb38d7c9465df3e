/**
 * `npm start` for the whole product: the API on PORT (default 8000) and the web app on WEB_PORT
 * (default 3000), a production build (`next build`, then `next start`; `npm start -- --no-build`
 * reuses the last build). Ctrl-C (or SIGTERM) stops both; if either exits, the other is stopped too.
 *
 * Settings follow the two ports, so `WEB_PORT=3001 npm start` alone works: unless set,
 * ALLOWED_ORIGINS becomes the web app's origins (plus the API's own, for /docs) and
 * NEXT_PUBLIC_WS_URL the API's address. An ALLOWED_ORIGINS that leaves the web app out is kept,
 * with a warning that says what to set. Once both answer, a banner prints where to go.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SOURCE_NODE_ARGS } from './source-node-args.ts';
import { startupPlan } from './start-plan.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const plan = startupPlan(process.env);
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...plan.apiEnv, ...plan.webEnv };
for (const warning of plan.warnings) process.stderr.write(`start: ${warning}\n`);

if (process.argv.includes('--no-build')) {
  if (!existsSync(`${ROOT}apps/web/.next/BUILD_ID`)) {
    process.stderr.write('start: --no-build, but apps/web has no build yet: run `npm start` once without it.\n');
    process.exit(1);
  }
} else {
  const build = spawnSync(npm, ['run', 'build', '--workspace', '@anmei/web'], { cwd: ROOT, env, stdio: 'inherit' });
  if (build.status !== 0) {
    process.stderr.write('start: building the web app failed (see above)\n');
    process.exit(build.status ?? 1);
  }
}

// Node itself, not `npm run` wrappers: signals must reach the servers, not only npm.
const children: ChildProcess[] = [
  spawn(process.execPath, [...SOURCE_NODE_ARGS, 'src/main.ts'], { cwd: `${ROOT}apps/api`, env, stdio: 'inherit' }),
  spawn(process.execPath, [`${ROOT}node_modules/next/dist/bin/next`, 'start', '-p', plan.webPort], {
    cwd: `${ROOT}apps/web`,
    env,
    stdio: 'inherit',
  }),
];
let stopping = false;
const stopAll = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
/** Stopped on request (Ctrl-C, SIGTERM): a clean exit, whatever the servers answer to the signal (`next start`: 143). */
let requested = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    requested ||= !stopping;
    stopAll(signal);
  });
}
let remaining = children.length;
let exitCode = 0;
for (const child of children) {
  child.once('exit', (code) => {
    if (code && !requested) exitCode ||= code;
    stopAll('SIGTERM');
    if (--remaining === 0) process.exit(exitCode);
  });
}

/** ms between readiness checks, and how long to wait for both servers before saying so. */
const POLL_MS = 250;
const READY_DEADLINE_MS = 120_000;

/** Resolves when `url` answers at all (any status): the server is listening. */
async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

async function announceWhenReady(): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  while (!stopping) {
    if ((await answers(`${plan.apiUrl}/health`)) && (await answers(`${plan.webUrl}/login`))) {
      process.stdout.write(plan.banner);
      return;
    }
    if (Date.now() > deadline) {
      process.stderr.write(
        `start: after ${READY_DEADLINE_MS / 1000} s the API (${plan.apiUrl}) or the web app (${plan.webUrl}) still does not answer; see the output above.\n`,
      );
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
void announceWhenReady();
