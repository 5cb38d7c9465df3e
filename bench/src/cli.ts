/**
 * `npm run bench` / `npm run bench:quick`: runs the scenarios against every target side by
 * side in one run, prints a Markdown table with ratios to the peers, and writes the raw
 * results as JSON under bench/results/.
 *
 * Flags: --profile quick|full  --scenarios 1,...,8 or names (default quick: 1,3,4; full: all)  --targets ours,socketio,rawws
 *        --repeat N  --body-bytes N (payload size in scenarios 1 and 4, default 1024)  --persisted (adds ours' send_message row to scenario 1)  --no-pin
 *        --cross-open-rate N (scenario 4's open-loop msg/s per room; the profile's: quick 8, full 2)
 *        --chatmix-reads (scenario 7: ours' members mark every message they receive read, through the
 *        SDK's ReadReceipts with its default interval, as the web app does)
 *        --chatmix-read-interval N (the same with an interval of N ms; 0: a `read` frame per message)
 *        --chatmix-staff (scenario 7: ours' first member of each conversation is a consultant)
 *        --cpu-prof <dir> (a .cpuprofile of every target instance for each measured phase;
 *        summarise with bench/src/tools/profile-summary.ts)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLIENT_DEFAULTS } from '@anmei/client';
import { BENCH_ROOT, childFileLimit, cpuCount, hasTaskset } from './common/spawn.ts';
import { TARGETS, type TargetKind } from './common/types.ts';
import { openBenchDatabase } from './harness/database.ts';
import type { BenchEnv } from './harness/deploy.ts';
import { setNoisePolicy } from './harness/measure.ts';
import { type RunResults, renderMarkdown } from './report/markdown.ts';
import { runChatMix } from './scenarios/chatmix.ts';
import { runConnect } from './scenarios/connect.ts';
import { runCross } from './scenarios/cross.ts';
import { runFanout } from './scenarios/fanout.ts';
import { runIdle } from './scenarios/idle.ts';
import { runPersisted } from './scenarios/persisted.ts';
import { PROFILES } from './scenarios/profile.ts';
import { runSlow } from './scenarios/slow.ts';
import { runStorm } from './scenarios/storm.ts';

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'quick' },
    scenarios: { type: 'string' },
    targets: { type: 'string', default: TARGETS.join(',') },
    repeat: { type: 'string', default: '1' },
    persisted: { type: 'boolean' },
    'no-pin': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'body-bytes': { type: 'string' },
    'cross-open-rate': { type: 'string' },
    'chatmix-reads': { type: 'boolean' },
    'chatmix-read-interval': { type: 'string' },
    'chatmix-staff': { type: 'boolean' },
  },
});

const base = PROFILES[values.profile as keyof typeof PROFILES];
if (!base) throw new Error(`unknown profile ${values.profile}; use quick or full`);
const withBody = values['body-bytes']
  ? { ...base, fanout: { ...base.fanout, bodyBytes: Number(values['body-bytes']) } }
  : base;
const crossOpenRate = values['cross-open-rate'] === undefined ? undefined : Number(values['cross-open-rate']);
if (crossOpenRate !== undefined && !(crossOpenRate > 0)) {
  throw new Error(`--cross-open-rate must be a positive number of msg/s per room, got ${values['cross-open-rate']}`);
}
const withCross =
  crossOpenRate === undefined
    ? withBody
    : { ...withBody, cross: { ...withBody.cross, openRatePerRoom: crossOpenRate } };
const readIntervalArg = values['chatmix-read-interval'];
const readIntervalMs =
  readIntervalArg !== undefined
    ? Number(readIntervalArg)
    : values['chatmix-reads']
      ? CLIENT_DEFAULTS.readReceiptInterval
      : undefined;
if (readIntervalMs !== undefined && !(Number.isInteger(readIntervalMs) && readIntervalMs >= 0)) {
  throw new Error(`--chatmix-read-interval must be a whole number of ms >= 0, got ${readIntervalArg}`);
}
const profile = {
  ...withCross,
  chatmix: {
    ...withCross.chatmix,
    ...(readIntervalMs !== undefined ? { readIntervalMs } : {}),
    ...(values['chatmix-staff'] ? { staff: true } : {}),
  },
};
// Numbers as in docs/benchmarks.md; 2 is the persisted path, so the issue's "chat mix" is 7.
const SCENARIO_NAMES: Record<string, string> = {
  fanout: '1',
  persisted: '2',
  idle: '3',
  cross: '4',
  slow: '5',
  storm: '6',
  chatmix: '7',
  connect: '8',
};
// quick: the acceptance set (1, 3, 4); full adds the persisted path (2), ours' send_message row in 1, and 5–8.
const scenarios = new Set(
  (values.scenarios ?? (profile.name === 'full' ? '1,2,3,4,5,6,7,8' : '1,3,4'))
    .split(',')
    .map((s) => SCENARIO_NAMES[s.trim()] ?? s.trim()),
);
for (const s of scenarios) {
  if (!Object.values(SCENARIO_NAMES).includes(s))
    throw new Error(`unknown scenario ${s}; use 1-8 or ${Object.keys(SCENARIO_NAMES).join(', ')}`);
}
const persistedRow = values.persisted ?? profile.name === 'full';
const targets = values.targets!.split(',').map((t) => t.trim()) as TargetKind[];
for (const t of targets) if (!TARGETS.includes(t)) throw new Error(`unknown target ${t}`);
const repeat = Math.max(1, Number(values.repeat));

const t0 = performance.now();
const log = (line: string) =>
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const pin = !values['no-pin'] && hasTaskset() && cpuCount() > 1;
const files = childFileLimit();
const loadBefore = os.loadavg();
const started = new Date();

log(
  `bench ${profile.name}: ${cpuCount()} cores, node ${process.version}, ` +
    `${pin ? 'servers on core 0, generator on core 1 (taskset)' : 'not pinned'}, ` +
    `ulimit -n ${files.soft}${files.soft < profile.idle.connections + 1_000 ? ' (TOO LOW for the idle scenario; raise the hard limit)' : ''}, ` +
    `load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
);

const db = await openBenchDatabase();
log(
  `database for ours: ${db.kind === 'postgres' ? `Postgres schema ${db.schema}` : 'PGlite in memory (Postgres unreachable)'}`,
);
if (values['cpu-prof']) mkdirSync(values['cpu-prof'], { recursive: true });
const env: BenchEnv = {
  db,
  ...(pin ? { serverCpus: '0', generatorCpus: '1' } : {}),
  ...(values['cpu-prof'] ? { profileDir: values['cpu-prof'] } : {}),
  // Extra Node/V8 flags for every target instance (not the generator), e.g. "--log-deopt --logfile=/tmp/v8-%p.log".
  ...(process.env.BENCH_SERVER_NODE_ARGS
    ? { nodeArgs: process.env.BENCH_SERVER_NODE_ARGS.split(' ').filter(Boolean) }
    : {}),
  log,
};

// Full runs re-measure a phase disturbed by other processes (a shared machine); quick has no time for it.
if (profile.name === 'full') setNoisePolicy({ maxForeignUtil: 0.25, retries: 2, pauseMs: 5_000, log });

const runs: RunResults[] = [];
let failed = false;
try {
  for (let i = 0; i < repeat; i++) {
    const run: Required<RunResults> = {
      fanout: [],
      idle: [],
      cross: [],
      persisted: [],
      slow: [],
      storm: [],
      chatmix: [],
      connect: [],
    };
    runs.push(run);
    if (repeat > 1) log(`-- run ${i + 1} of ${repeat}`);
    // Rotate the order per run so a disturbance at a given moment does not always hit the same target.
    const order = targets.map((_, k) => targets[(k + i) % targets.length]!);
    if (scenarios.has('1')) {
      log('scenario 1: fan-out');
      for (const t of order) run.fanout.push(await runFanout(env, profile, t, 'ingress'));
      if (persistedRow && targets.includes('ours')) run.fanout.push(await runFanout(env, profile, 'ours', 'chat'));
    }
    if (scenarios.has('2')) {
      log('scenario 2: persisted chat path (conversations of 2)');
      for (const t of order) run.persisted.push(await runPersisted(env, profile, t));
    }
    if (scenarios.has('3')) {
      log('scenario 3: idle connections');
      for (const t of order) run.idle.push(await runIdle(env, profile, t));
    }
    if (scenarios.has('4')) {
      log('scenario 4: cross-instance');
      for (const t of order) {
        run.cross.push(await runCross(env, profile, t, 'single'));
        run.cross.push(await runCross(env, profile, t, 'dual'));
      }
    }
    if (scenarios.has('5')) {
      log('scenario 5: slow consumer');
      for (const t of order) run.slow.push(await runSlow(env, profile, t));
    }
    if (scenarios.has('6')) {
      log('scenario 6: reconnect storm');
      for (const t of order) run.storm.push(await runStorm(env, profile, t));
    }
    if (scenarios.has('7')) {
      log('scenario 7: chat mix (conversations of 2–5, every member sends)');
      for (const t of order) run.chatmix.push(await runChatMix(env, profile, t));
    }
    if (scenarios.has('8')) {
      log(`scenario 8: connect rate (${profile.connect.connections} new connections per phase)`);
      for (const t of order) run.connect.push(await runConnect(env, profile, t));
    }
  }
} catch (error) {
  failed = true;
  log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await db.drop().catch((error: unknown) => log(`dropping schema ${db.schema} failed: ${String(error)}`));
}

const loadAfter = os.loadavg();
const versions = readVersions();
const header = [
  `## Bench (${profile.name}) — ${started.toISOString()}`,
  '',
  `${os.cpus()[0]?.model ?? 'cpu'} × ${cpuCount()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${versions}; ` +
    `${pin ? 'servers + Redis pinned to core 0, generator to core 1' : 'no pinning'}; ulimit -n ${files.soft}; ` +
    `ours on ${db.kind}; load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
  '',
].join('\n');
const markdown = `${header}${renderMarkdown(runs, { profile: profile.name, openRate: profile.fanout.openRate, persistedRate: profile.persisted.openRate })}\n`;
process.stdout.write(markdown);

const dir = join(BENCH_ROOT, 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `${started.toISOString().replace(/[:.]/g, '-')}-${profile.name}.json`);
writeFileSync(file, JSON.stringify({ profile, started, loadBefore, loadAfter, versions, runs }, null, 2));
log(`raw results: ${file}`);
process.exit(failed ? 1 : 0);

function readVersions(): string {
  const v = (pkg: string) => {
    try {
      return execFileSync(process.execPath, ['-p', `require('${pkg}/package.json').version`], {
        cwd: BENCH_ROOT,
        encoding: 'utf8',
      }).trim();
    } catch {
      return '?';
    }
  };
  return `ws ${v('ws')}, socket.io ${v('socket.io')}, @socket.io/redis-adapter ${v('@socket.io/redis-adapter')}, redis-server ${redisVersion()}`;
}

function redisVersion(): string {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    return 'not installed';
  }
}
