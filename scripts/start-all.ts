/**
 * `npm start` for the whole product: the API on :8000 and the web app on :3000 (production build:
 * `next build`, then `next start`). Ctrl-C (or SIGTERM) stops both; if either exits, the other is
 * stopped too. The web app reaches the API at NEXT_PUBLIC_WS_URL (default ws://localhost:8000).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SOURCE_NODE_ARGS } from './source-node-args.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };

const build = spawnSync(npm, ['run', 'build', '--workspace', '@anmei/web'], { cwd: ROOT, env, stdio: 'inherit' });
if (build.status !== 0) {
  process.stderr.write('start: building the web app failed (see above)\n');
  process.exit(build.status ?? 1);
}

// Node itself, not `npm run` wrappers: signals must reach the servers, not only npm.
const children: ChildProcess[] = [
  spawn(process.execPath, [...SOURCE_NODE_ARGS, 'src/main.ts'], { cwd: `${ROOT}apps/api`, env, stdio: 'inherit' }),
  spawn(process.execPath, [`${ROOT}node_modules/next/dist/bin/next`, 'start', '-p', process.env.WEB_PORT ?? '3000'], {
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
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopAll(signal));
let remaining = children.length;
let exitCode = 0;
for (const child of children) {
  child.once('exit', (code) => {
    if (code) exitCode = code;
    stopAll('SIGTERM');
    if (--remaining === 0) process.exit(exitCode);
  });
}
