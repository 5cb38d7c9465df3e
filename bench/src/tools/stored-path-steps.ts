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
import { readFileSync } from 'node:fs';

import type { CpuProfile as Profile } from './cpu-profile.ts';

type Rule = [step: string, test: (fn: string, url: string) => boolean];

const inFile = (part: string) => (_fn: string, url: string) => url.includes(part);
const fnIn = (names: string[], part: string) => (fn: string, url: string) => url.includes(part) && names.includes(fn);

/**
 * Tier 1: steps of the path (our modules and the libraries only they call). The innermost tier-1
 * frame of a sample names its step. Tier 2 only when no tier-1 frame is on the stack: what runs
 * before our code is called (ws parsing a frame, pg parsing a reply) or outside it.
 */
const TIER1: Rule[] = [
  [
    'profiler (bench artifact, not counted)',
    (_fn, url) => url === 'node:inspector' || url.includes('servers/control.ts'),
  ],
  ['GC', (fn) => fn === '(garbage collector)'],
  ['idle', (fn) => fn === '(idle)'],
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
  [
    'append: pg driver (encode, socket, parse)',
    (_fn, url) => /node_modules\/(pg|pg-protocol|pg-pool|pg-types|postgres-\w+)\//.test(url),
  ],
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

const TIER2: Rule[] = [
  ['ws: read frame (receiver), before our handler', inFile('node_modules/ws/')],
  ['append: pg driver (encode, socket, parse)', (_fn, url) => /node_modules\/(pg|pg-protocol|pg-pool)\//.test(url)],
  ['microtask / tick machinery', (fn) => fn === 'runMicrotasks' || fn === 'processTicksAndRejections'],
];

function stepOf(rules: Rule[], fn: string, url: string): string | undefined {
  for (const [step, test] of rules) if (test(fn, url)) return step;
  return undefined;
}

const [file, messagesArg] = process.argv.slice(2);
if (!file) throw new Error('usage: stored-path-steps.ts <file.cpuprofile> [messages stored during the profile]');
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
  // The kernel's share of a write: the same per socket write for every server, so shown apart.
  if (byId.get(id)!.callFrame.functionName === 'writev' && !byId.get(id)!.callFrame.url)
    step = `${step}: writev syscall`;
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
const messages = messagesArg ? Number(messagesArg) : undefined;
console.log(
  `busy ${(busy / 1e6).toFixed(2)} s sampled of ${((profile.endTime - profile.startTime) / 1e6).toFixed(2)} s${messages ? `, ${messages} messages` : ''}`,
);
console.log(`| step | share of busy samples |${messages ? ' µs per message |' : ''}`);
console.log(`|---|---|${messages ? '---|' : ''}`);
const rows = [...steps].filter(([s]) => counted(s)).sort((a, b) => b[1] - a[1]);
let otherUs = 0;
for (const [step, us] of rows) {
  if (us / busy < 0.004) {
    otherUs += us;
    continue;
  }
  console.log(`| ${step} | ${((us / busy) * 100).toFixed(1)} % |${messages ? ` ${(us / messages).toFixed(1)} |` : ''}`);
}
console.log(
  `| (each < 0.4 %) | ${((otherUs / busy) * 100).toFixed(1)} % |${messages ? ` ${(otherUs / messages).toFixed(1)} |` : ''}`,
);
