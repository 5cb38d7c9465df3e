/**
 * Where a new connection's server time goes, by step of the upgrade path, from a V8 .cpuprofile of
 * ours over scenario 8's phase (a) (`--cpu-prof DIR` writes `ours-a-connect-upgrade.cpuprofile`).
 * Each sample is given to the innermost frame on its stack that names a step (so fast-jwt under
 * the resume ticket's signature counts as "resume ticket", ws's sender under `writeDirect` as the
 * `connected` frame's write); samples with no such frame fall to a tier-2 step (what runs before
 * our code is called: the TCP accept, the HTTP parser, pg parsing a reply) or to "other".
 *   node --conditions=@anmei/source --import tsx bench/src/tools/connect-steps.ts <file.cpuprofile> [connections=5000]
 * Prints µs per connection: busy samples ÷ connections (the profiler's own work left out).
 */
import {
  busyLine,
  busyMicros,
  fnIn,
  inFile,
  inPgDriver,
  microsByStep,
  PROFILER_GC_IDLE_RULES,
  printStepTable,
  readProfile,
  type StepRule,
} from './cpu-profile.ts';

/** Innermost tier-1 frame of a sample names its step. */
const TIER1: StepRule[] = [
  ...PROFILER_GC_IDLE_RULES,
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
  ['registration: heads (pg driver)', inPgDriver],
  ['registration: heads (drizzle)', inFile('node_modules/drizzle-orm')],
  ['registration: heads (resume service, repo)', inFile('resume/resume-service.ts')],
  ['registration: heads (resume service, repo)', inFile('db/events-repo.ts')],
  ['registration: heads (resume service, repo)', inFile('db/open-database.ts')],
  ['metrics, app events', inFile('node_modules/prom-client')],
  ['metrics, app events', inFile('observability/metrics.ts')],
  ['metrics, app events', inFile('src/events.ts')],
  ['logger (pino, bindings)', inFile('node_modules/pino')],
  ['gateway rest (handleUpgrade, register, close)', inFile('ws/gateway.ts')],
  ['gateway rest (handleUpgrade, register, close)', inFile('ws/upgrade-refusals.ts')],
];

/** Only when no tier-1 frame is on the stack: what runs before our code is called, or outside it. */
const TIER2: StepRule[] = [
  ['TCP accept (net.Socket, connectionListener)', fnIn(['onconnection'], 'node:net')],
  ['HTTP parse (request line, headers)', inFile('node:_http')],
  ['ws outside our calls (frames read, closes)', inFile('node_modules/ws/lib/')],
  ['microtask / tick machinery', (fn) => fn === 'runMicrotasks' || fn === 'processTicksAndRejections'],
];

const [file, connectionsArg] = process.argv.slice(2);
if (!file) throw new Error('usage: connect-steps.ts <file.cpuprofile> [connections=5000]');
const connections = Number(connectionsArg ?? 5000);
const profile = readProfile(file);
const steps = microsByStep(profile, {
  tier1: TIER1,
  tier2: TIER2,
  // The kernel's share of a socket write, shown apart: one per write() or writev() call.
  syscalls: { functions: ['writev', 'writeUtf8String'], label: 'write syscall' },
});
const busy = busyMicros(steps);
console.log(
  `${busyLine(profile, busy)}, ${connections} connections: ${(busy / connections).toFixed(0)} µs per connection`,
);
printStepTable(steps, { count: connections, unit: 'connection' });
