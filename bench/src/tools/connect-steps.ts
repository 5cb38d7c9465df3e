/**
 * Where a new connection's server time goes, by step of the upgrade path, from a V8 .cpuprofile of
 * ours over scenario 8's phase (a) (`--cpu-prof DIR` writes `ours-a-connect-upgrade.cpuprofile`).
 * Each sample is given to the innermost frame on its stack that names a step (so fast-jwt under
 * the resume ticket's signature counts as "resume ticket", ws's sender under `writeDirect` as the
 * `connected` frame's write); samples with no such frame fall to a tier-2 step (what runs before
 * our code is called: the TCP accept, the HTTP parser, pg parsing a reply) or to "other".
 *   node --import tsx bench/src/tools/connect-steps.ts <file.cpuprofile> [connections=5000]
 * Prints µs per connection: busy samples ÷ connections (the profiler's own work left out).
 */
import { readFileSync } from 'node:fs';

import type { CpuProfile as Profile } from './cpu-profile.ts';

type Rule = [step: string, test: (fn: string, url: string) => boolean];

const inFile = (part: string) => (_fn: string, url: string) => url.includes(part);
const fnIn = (names: string[], part: string) => (fn: string, url: string) => url.includes(part) && names.includes(fn);

/** Innermost tier-1 frame of a sample names its step. */
const TIER1: Rule[] = [
  [
    'profiler (bench artifact, not counted)',
    (_fn, url) => url === 'node:inspector' || url.includes('servers/control.ts'),
  ],
  ['GC', (fn) => fn === '(garbage collector)'],
  ['idle', (fn) => fn === '(idle)'],
  ['client address (TRUST_PROXY walk, normalize)', inFile('http/client-address.ts')],
  ['upgrade limits (per-address claim and rate, per-user cap)', inFile('ws/connection-limits.ts')],
  ['upgrade limits (per-address claim and rate, per-user cap)', inFile('node_modules/rate-limiter-flexible')],
  ['ticket verify (HMAC, claims)', fnIn(['verifyTicket'], 'auth/tokens.ts')],
  ['ticket spend (TicketStore)', inFile('auth/ticket-store.ts')],
  ['ticket spend (TicketStore)', inFile('auth/redis-ticket-store.ts')],
  ['resume ticket (sign)', inFile('ws/resume-tickets.ts')],
  ['resume ticket (sign)', fnIn(['issueResumeTicket'], 'auth/tokens.ts')],
  ['upgrade auth rest (URL, query parameters)', inFile('ws/upgrade-auth.ts')],
  ['ws handshake (key hash, 101 write, WebSocket set-up)', inFile('node_modules/ws/lib/websocket-server.js')],
  ['ws handshake (key hash, 101 write, WebSocket set-up)', fnIn(['setSocket'], 'node_modules/ws/lib/websocket.js')],
  ['`connected` frame: write (ws send, writev)', fnIn(['writeDirect'], 'ws/socket-writer.ts')],
  ['`connected` frame: build + encode', inFile('ws/connected-frame.ts')],
  ['session (ConnectionSession, info, uuid, listeners)', fnIn(['#onConnection'], 'ws/gateway.ts')],
  ['session (ConnectionSession, info, uuid, listeners)', inFile('ws/connection-session.ts')],
  ['registration: local add', inFile('ws/local-connections.ts')],
  ['registration: bus subscribe', inFile('realtime/bus/')],
  ['registration: presence add', inFile('realtime/presence/')],
  [
    'registration: heads (pg driver)',
    (_fn, url) => /node_modules\/(pg|pg-protocol|pg-pool|pg-types|postgres-\w+)\//.test(url),
  ],
  ['registration: heads (drizzle)', inFile('node_modules/drizzle-orm')],
  ['registration: heads (resume service, repo)', inFile('resume/resume-service.ts')],
  ['registration: heads (resume service, repo)', inFile('db/events-repo.ts')],
  ['registration: heads (resume service, repo)', inFile('db/open-database.ts')],
  ['metrics, app events', inFile('node_modules/prom-client')],
  ['metrics, app events', inFile('observability/metrics.ts')],
  ['metrics, app events', inFile('src/events.ts')],
  ['logger (pino, bindings)', inFile('node_modules/pino')],
  ['gateway rest (handleUpgrade, register, close)', inFile('ws/gateway.ts')],
];

/** Only when no tier-1 frame is on the stack: what runs before our code is called, or outside it. */
const TIER2: Rule[] = [
  ['TCP accept (net.Socket, connectionListener)', fnIn(['onconnection'], 'node:net')],
  ['HTTP parse (request line, headers)', inFile('node:_http')],
  ['ws outside our calls (frames read, closes)', inFile('node_modules/ws/lib/')],
  [
    'registration: heads (pg driver)',
    (_fn, url) => /node_modules\/(pg|pg-protocol|pg-pool|pg-types|postgres-\w+)\//.test(url),
  ],
  ['microtask / tick machinery', (fn) => fn === 'runMicrotasks' || fn === 'processTicksAndRejections'],
];

function stepOf(rules: Rule[], fn: string, url: string): string | undefined {
  for (const [step, test] of rules) if (test(fn, url)) return step;
  return undefined;
}

const [file, connectionsArg] = process.argv.slice(2);
if (!file) throw new Error('usage: connect-steps.ts <file.cpuprofile> [connections=5000]');
const connections = Number(connectionsArg ?? 5000);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const stepCache = new Map<number, string>();

function classify(id: number): string {
  const cached = stepCache.get(id);
  if (cached) return cached;
  let step: string | undefined;
  for (const rules of [TIER1, TIER2]) {
    for (let cur: number | undefined = id; cur !== undefined && step === undefined; cur = parent.get(cur)) {
      const { functionName, url } = byId.get(cur)!.callFrame;
      step = stepOf(rules, functionName, url);
    }
  }
  if (step === undefined) {
    const leaf = byId.get(id)!.callFrame;
    step = leaf.url.startsWith('node:')
      ? 'node internals (net, streams, timers)'
      : `other: ${leaf.functionName || '(anonymous)'}`;
  }
  // The kernel's share of a socket write, shown apart: one per write() or writev() call.
  const leaf = byId.get(id)!.callFrame;
  if ((leaf.functionName === 'writev' || leaf.functionName === 'writeUtf8String') && !leaf.url) {
    step = `${step}: write syscall`;
  }
  stepCache.set(id, step);
  return step;
}

const steps = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const step = classify(id);
  steps.set(step, (steps.get(step) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const counted = (s: string) => s !== 'idle' && !s.startsWith('profiler');
const busy = [...steps].filter(([s]) => counted(s)).reduce((a, [, us]) => a + us, 0);
console.log(
  `busy ${(busy / 1e6).toFixed(2)} s sampled of ${((profile.endTime - profile.startTime) / 1e6).toFixed(2)} s, ` +
    `${connections} connections: ${(busy / connections).toFixed(0)} µs per connection`,
);
console.log('| step | share of busy samples | µs per connection |');
console.log('|---|---|---|');
let otherUs = 0;
for (const [step, us] of [...steps].filter(([s]) => counted(s)).sort((a, b) => b[1] - a[1])) {
  if (us / busy < 0.004) {
    otherUs += us;
    continue;
  }
  console.log(`| ${step} | ${((us / busy) * 100).toFixed(1)} % | ${(us / connections).toFixed(1)} |`);
}
console.log(`| (each < 0.4 %) | ${((otherUs / busy) * 100).toFixed(1)} % | ${(otherUs / connections).toFixed(1)} |`);
