/**
 * Frame fuzzing against a live server (issue #15, "Acceptance"). fast-check generates hostile client
 * frames (see support-frames.ts); five users send them, pipelined, over many sockets (one replaced
 * whenever the server closes it with 1007, 1009 or 4008), while a well-behaved pair of sockets
 * exchanges messages in a conversation of its own. Asserted: every frame is answered in frame order
 * with the catalogued answer the docs promise, or ends its socket with the documented close code;
 * no INTERNAL and no ERROR log line; the pair sees every message, promptly and nothing else; history
 * holds exactly the messages whose send was acknowledged; the server still answers /health and logins.
 *
 * FUZZ_RUNS (default 10 000, about 15 s here) sets the number of generated frames; `npm run fuzz` runs
 * 100 000. FUZZ_SEED replays a run (the seed is printed).
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../support/api-client.ts';
import { LEVEL } from '../support/log-capture.ts';
import { FACIAL, FOLLOW_UP, startTestApp, type TestApp } from '../support/test-app.ts';
import type { TestSocket } from '../support/test-socket.ts';
import { type FuzzInput, frameArbitrary } from './support-frames.ts';
import { FuzzStats, Lane } from './support-lane.ts';
import type { StoredMessage } from './support-oracle.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Frames per fast-check run, spread over the lanes; every lane is drained between runs. */
const BATCH = Math.min(250, RUNS);
const UNLIMITED = '1000000';
const LANE_USERS = ['customer_456', 'customer_789', 'consultant_001', 'doctor_001', 'admin'] as const;

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({
    // At the tests' usual debug level every invalid frame is a log line; warnings and errors are what we check.
    LOG_LEVEL: 'warn',
    // A resume from position 0 replays at most 50 messages per stream (then answers `reload`), so resumes
    // stay cheap while the fuzz fills the history.
    RESUME_WINDOW: '50',
    // Each lane sends as fast as answers come back and replaces its socket after every 11th invalid
    // frame: at the default limits (20 frames/s, 60 tickets and 300 upgrades a minute) nearly every
    // frame would be answered RATE_LIMITED and every lane would wait for tickets. The fuzz checks the
    // answers to frames; the limits have their own tests (rate-limits-ws.test.ts).
    WS_FRAME_RATE: UNLIMITED,
    WS_FRAME_BURST: UNLIMITED,
    RATE_LIMIT_TICKETS_PER_USER: UNLIMITED,
    WS_UPGRADES_PER_IP: UNLIMITED,
  });
});
afterAll(async () => {
  await app?.close();
});

interface PairResult {
  exchanged: number;
  slowestMs: number;
  stored: StoredMessage[];
}

/**
 * The well-behaved pair: a customer and a consultant take turns, each waiting for the ack and for the
 * other side to receive the message before the next one, until `stop()`.
 */
async function converse(
  pair: Record<'customer' | 'consultant', { socket: TestSocket; userId: string }>,
  conversationId: string,
  stop: () => boolean,
) {
  const result: PairResult = { exchanged: 0, slowestMs: 0, stored: [] };
  const { customer, consultant } = { customer: pair.customer.socket, consultant: pair.consultant.socket };
  for (let i = 0; !stop(); i++) {
    const fromCustomer = i % 2 === 0;
    const [from, to] = fromCustomer ? [customer, consultant] : [consultant, customer];
    const request_id = `pair-${i}`;
    const client_message_id = randomUUID();
    const content = `pair message ${i} 你好 😀`;
    const started = performance.now();
    from.send({
      action: 'send_message',
      request_id,
      data: { conversation_id: conversationId, client_message_id, content },
    });
    const [ack] = await from.waitFor('ack', { where: (f) => f.data.request_id === request_id, timeoutMs: 10_000 });
    const messageId = ack!.data.message_id;
    if (fromCustomer) await to.waitFor('new_message', { where: (f) => f.data.id === messageId, timeoutMs: 10_000 });
    else await to.waitFor('consultation_reply', { where: (f) => f.data.message.id === messageId, timeoutMs: 10_000 });
    result.slowestMs = Math.max(result.slowestMs, performance.now() - started);
    result.exchanged++;
    const senderId = fromCustomer ? pair.customer.userId : pair.consultant.userId;
    result.stored.push({ messageId, conversationId, senderId, clientMessageId: client_message_id, content });
  }
  return result;
}

/** Every message stored after `afterSeq`, paged over HTTP as a participant. */
async function historyAfter(conversationId: string, as: string, afterSeq: number) {
  const { token } = await app.login(as);
  const messages: Array<{
    id: string;
    seq: number;
    sender_id: string;
    client_message_id: string | null;
    content: string;
  }> = [];
  for (let after = afterSeq; ; ) {
    const res = await app.http('GET', `/api/v1/chat/${conversationId}/messages?after_seq=${after}&limit=200`, {
      token,
    });
    expect(res.status).toBe(200);
    messages.push(...res.body.messages);
    if (!res.body.has_more) return messages;
    after = res.body.messages.at(-1).seq;
  }
}

it(`answers ${RUNS} fuzzed frames in order with catalogued codes, and other clients never notice`, {
  timeout: 90_000 + RUNS * 10,
}, async () => {
  const started = performance.now();
  const prototypes = [Object.prototype, Array.prototype].map((p) => Object.getOwnPropertyNames(p).sort().join());
  const admin = (await app.login('admin')).token;
  const pairIds: Record<string, string> = {};
  for (const role of ['customer', 'consultant'] as const) {
    const body = { username: `pair_${role}`, password: DEMO_PASSWORD, display_name: `pair ${role}`, role };
    const res = await app.http('POST', '/api/v1/admin/users', { token: admin, body });
    expect(res.status).toBe(201);
    pairIds[role] = res.body.id;
  }
  const created = await app.http('POST', '/api/v1/conversations', {
    token: admin,
    body: { customer_id: pairIds.customer, consultant_id: pairIds.consultant },
  });
  const pairConversation: string = created.body.id;
  const facial = app.conversationId(FACIAL);
  const followUp = app.conversationId(FOLLOW_UP);
  const reader: Record<string, string> = {
    [facial]: 'consultant_001',
    [followUp]: 'consultant_001',
    [pairConversation]: 'pair_customer',
  };
  const before: Record<string, number> = {};
  const messageIds: string[] = [];
  for (const [conversationId, as] of Object.entries(reader)) {
    const all = await historyAfter(conversationId, as, 0);
    before[conversationId] = all.at(-1)?.seq ?? 0;
    messageIds.push(...all.map((m) => m.id));
  }

  const world = {
    maxPayloadBytes: app.built.ctx.config.ws.maxPayloadBytes,
    conversations: new Set(Object.keys(reader)),
  };
  const own: Record<string, string[]> = {
    customer_456: [facial],
    customer_789: [followUp],
    consultant_001: [facial, followUp],
    doctor_001: [facial],
    admin: [],
  };
  const stats = new FuzzStats();
  const stored: StoredMessage[] = [];
  const lanes = LANE_USERS.map(
    (username) =>
      new Lane({
        client: app.client,
        username,
        userId: app.userId(username),
        own: new Set(own[username]),
        world,
        stats,
        stored,
      }),
  );

  const customer = await app.connect('pair_customer');
  const consultant = await app.connect('pair_consultant');
  let fuzzing = true;
  const pair = converse(
    {
      customer: { socket: customer, userId: pairIds.customer! },
      consultant: { socket: consultant, userId: pairIds.consultant! },
    },
    pairConversation,
    () => !fuzzing,
  );

  const pools = { conversationIds: Object.keys(reader), messageIds, maxPayloadBytes: world.maxPayloadBytes };
  const batches = fc.array(frameArbitrary(pools), { minLength: BATCH, maxLength: BATCH });
  try {
    await fc.assert(
      fc.asyncProperty(batches, async (inputs: FuzzInput[]) => {
        await Promise.all(lanes.map((lane, l) => lane.run(inputs.filter((_, i) => i % lanes.length === l))));
        const failures = lanes.flatMap((lane) => lane.failures);
        if (failures.length > 0) throw new Error(failures.slice(0, 5).join('\n'));
      }),
      // The server keeps state from run to run, so a failing batch is reported as it is, not shrunk.
      { numRuns: Math.ceil(RUNS / BATCH), seed: SEED, endOnFailure: true },
    );
  } finally {
    fuzzing = false;
  }
  const talk = await pair;
  await Promise.all(lanes.map((lane) => lane.close()));
  const seconds = (performance.now() - started) / 1000;

  console.log(
    `ws fuzz: ${stats.frames} frames tried (${JSON.stringify(stats.kinds)}) by ${lanes.length} users on ` +
      `${stats.sockets} sockets in ${seconds.toFixed(1)} s, seed ${SEED}; answers ${JSON.stringify(stats.answers)}; ` +
      `silent frames confirmed ${stats.silent}; closes ${JSON.stringify(stats.closes)}; frames dropped by a close ${stats.droppedByClose}; ` +
      `throttled and retried ${stats.throttled}; messages stored ${stored.length}; ` +
      `pair exchanged ${talk.exchanged} messages, slowest ${talk.slowestMs.toFixed(0)} ms`,
  );
  expect(stats.frames).toBeGreaterThanOrEqual(RUNS);
  expect(stats.answers.INTERNAL).toBeUndefined();

  // The pair: nothing but its own conversation, no error, no close, every message of the other side.
  expect(talk.exchanged).toBeGreaterThan(0);
  for (const socket of [customer, consultant]) {
    expect(socket.closed).toBeNull();
    expect(socket.all('error')).toEqual([]);
    const foreign = socket.frames.filter((f) => {
      const data = f.data as { conversation_id?: unknown };
      return typeof data.conversation_id === 'string' && data.conversation_id !== pairConversation;
    });
    expect(foreign).toEqual([]);
  }
  const seqs = [...customer.all('ack').map((f) => f.data.seq), ...consultant.all('ack').map((f) => f.data.seq)].sort(
    (a, b) => a - b,
  );
  expect(seqs).toEqual(Array.from({ length: talk.exchanged }, (_, i) => i + 1));

  // History changed by exactly the acknowledged sends, stored as sent.
  const isPglite = app.built.ctx.databaseKind === 'pglite';
  // docs/protocol.md: the embedded PGlite drops a leading U+FEFF of a text value when reading it back.
  const asRead = (text: string) => (isPglite ? text.replace(/^\ufeff/, '') : text);
  const expected = [...stored, ...talk.stored];
  const mismatches: string[] = [];
  for (const [conversationId, as] of Object.entries(reader)) {
    const now = await historyAfter(conversationId, as, before[conversationId]!);
    const wanted = new Map(expected.filter((m) => m.conversationId === conversationId).map((m) => [m.messageId, m]));
    for (const message of now) {
      const sent = wanted.get(message.id);
      wanted.delete(message.id);
      if (!sent) mismatches.push(`stored without an ack: ${JSON.stringify(message).slice(0, 200)}`);
      else if (
        message.content !== asRead(sent.content) ||
        message.sender_id !== sent.senderId ||
        message.client_message_id !== asRead(sent.clientMessageId)
      ) {
        mismatches.push(`stored differently than sent: ${JSON.stringify({ sent, message }).slice(0, 300)}`);
      }
    }
    for (const missing of wanted.values()) mismatches.push(`acknowledged but not stored: ${missing.messageId}`);
  }
  expect(mismatches).toEqual([]);

  // Still serving: health, a fresh login (not the cached token), and nothing polluted in this process.
  const health = await app.http('GET', '/health');
  expect([health.status, health.body.status]).toEqual([200, 'ok']);
  const login = await app.http('POST', '/api/v1/auth/login', {
    body: { username: 'doctor_001', password: DEMO_PASSWORD },
  });
  expect(login.status).toBe(200);
  expect([Object.prototype, Array.prototype].map((p) => Object.getOwnPropertyNames(p).sort().join())).toEqual(
    prototypes,
  );
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(app.logs.records.filter((r) => r.level >= LEVEL.error).map((r) => r.msg)).toEqual([]);
});

/**
 * Lengths count code points on both sides (docs/protocol.md "Limits", `textLength`): found by this
 * fuzz when the docs and @anmei/client counted UTF-16 units while the schemas counted code points.
 */
it('counts text lengths in code points: 10 000 with an emoji is stored, 10 001 refused, and a request_id of 33 emoji is echoed', async () => {
  const conversation_id = app.conversationId(FACIAL);
  const socket = await app.connect('customer_456');
  const send = (request_id: string, content: string) =>
    socket.send({
      action: 'send_message',
      request_id,
      data: { conversation_id, client_message_id: randomUUID(), content },
    });
  send('fits', `${'a'.repeat(9_999)}😀`);
  send('over', `${'a'.repeat(10_000)}😀`);
  const emojiId = '😀'.repeat(33);
  socket.send({ action: 'typing', request_id: emojiId, data: { conversation_id, is_typing: 'yes' } });
  // Answers come in frame order: once the pong is here, the answers before it are too.
  socket.send({ action: 'ping', data: { ts: 1 } });
  await socket.waitFor('pong');
  const answers = socket.frames
    .filter((f) => f.action === 'ack' || f.action === 'error')
    .map((f) => [f.action, f.data.request_id, f.action === 'error' ? f.data.code : null]);
  expect(answers).toEqual([
    ['ack', 'fits', null],
    ['error', 'over', 'INVALID_FRAME'],
    ['error', emojiId, 'INVALID_FRAME'],
  ]);
});
