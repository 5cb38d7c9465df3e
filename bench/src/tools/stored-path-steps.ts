/**
 * Where a stored message's server time goes, by step of the send_message path, from a V8
 * .cpuprofile of ours (scenario 2 or 7, `--cpu-prof`). Each sample is given to the innermost frame
 * on its stack that names a step (so ws's sender under the ack's write counts as "ack write",
 * zod under decodeClientFrame as "validate"); samples with no such frame fall to the library
 * whose code is at the leaf (pg parsing a reply, ws reading a frame) or to "other".
 *   node --conditions=@anmei/source --import tsx bench/src/tools/stored-path-steps.ts <file.cpuprofile> [messages]
 * With `messages` (stored messages during the profile: messages/s handled × the profile's
 * seconds, printed first) it also prints µs per message.
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

/**
 * Tier 1: steps of the path (our modules and the libraries only they call). The innermost tier-1
 * frame of a sample names its step. Tier 2 only when no tier-1 frame is on the stack: what runs
 * before our code is called (ws parsing a frame, pg parsing a reply) or outside it.
 */
const TIER1: StepRule[] = [
  ...PROFILER_GC_IDLE_RULES,
  [
    'log context (ALS, promise hooks)',
    (fn, url) =>
      url === 'node:async_hooks' ||
      url.includes('observability/log-context.ts') ||
      (url === 'node:internal/async_hooks' && fn !== 'callbackTrampoline'),
  ],
  ['decode: zod validation', inFile('node_modules/zod')],
  ['decode: JSON.parse', fnIn(['parseJson'], 'protocol/src/codec.ts')],
  ['decode: rest (text, action)', fnIn(['decodeWith', 'decodeClientFrame', 'requestIdOf'], 'protocol/src/codec.ts')],
  ['decode: rest (text, action)', fnIn(['rawToString'], 'ws/connection-session.ts')],
  ['rate limit', fnIn(['#takeToken'], 'ws/connection-session.ts')],
  ['participant check (ParticipantDirectory)', inFile('broadcasting/participant-directory.ts')],
  ['participant check (ParticipantDirectory)', fnIn(['assertParticipant', '#hasStaff'], 'chat/chat-service.ts')],
  ['push rule (customer/staff)', inFile('notifications/push-rules.ts')],
  ['append: pg driver (encode, socket, parse)', inPgDriver],
  ['append: drizzle (params, row mapping)', inFile('node_modules/drizzle-orm')],
  ['append: batcher + statement (message-append.ts)', inFile('db/message-append.ts')],
  ['append: batcher + statement (message-append.ts)', inFile('db/open-database.ts')],
  ['ack: build + encode', (fn, url) => url.includes('ws/connection-session.ts') && fn === '#dispatch'],
  ['ack: write (ws send, writev)', fnIn(['writeDirect'], 'ws/socket-writer.ts')],
  ['broadcast: build + encode (both frames)', inFile('broadcasting/broadcasting-service.ts')],
  ['broadcast: build + encode (both frames)', inFile('chat/wire.ts')],
  ['bus publish + deliver (memory bus)', inFile('realtime/bus/')],
  ['deliver: local connections, writer, writev', inFile('ws/local-connections.ts')],
  ['deliver: local connections, writer, writev', inFile('ws/socket-writer.ts')],
  ['deliver: local connections, writer, writev', inFile('ws/gateway.ts')],
  ['metrics (prom-client, app events)', inFile('node_modules/prom-client')],
  ['metrics (prom-client, app events)', inFile('observability/metrics.ts')],
  ['metrics (prom-client, app events)', inFile('src/events.ts')],
  ['chat service (rest)', inFile('chat/chat-service.ts')],
  ['session queue + dispatch (rest)', inFile('ws/connection-session.ts')],
  ['logger (pino)', inFile('node_modules/pino')],
];

const TIER2: StepRule[] = [
  ['ws: read frame (receiver), before our handler', inFile('node_modules/ws/')],
  ['microtask / tick machinery', (fn) => fn === 'runMicrotasks' || fn === 'processTicksAndRejections'],
];

const [file, messagesArg] = process.argv.slice(2);
if (!file) throw new Error('usage: stored-path-steps.ts <file.cpuprofile> [messages stored during the profile]');
const profile = readProfile(file);
const steps = microsByStep(profile, {
  tier1: TIER1,
  tier2: TIER2,
  // The kernel's share of a write: the same per socket write for every server, so shown apart.
  syscalls: { functions: ['writev'], label: 'writev syscall' },
});
const messages = messagesArg ? Number(messagesArg) : undefined;
console.log(`${busyLine(profile, busyMicros(steps))}${messages ? `, ${messages} messages` : ''}`);
printStepTable(steps, messages ? { count: messages, unit: 'message' } : undefined);
