/**
 * fast-check arbitraries for hostile client frames (issue #15): valid-but-hostile values (NUL, lone
 * surrogates, BOM, 2^31 and 2^53 positions, 10 000-character texts), wrong types, random JSON, deep
 * nesting, prototype-pollution keys, unknown actions, binary frames, invalid UTF-8 and oversized frames.
 *
 * Frames built field by field carry the generator's own verdict (`intent`), computed by the rules
 * below from docs/protocol.md and not by the protocol package, so the server's decoder is checked
 * against an independent reading of the docs (lengths excepted: see `length`).
 */
import { LIMITS } from '@anmei/protocol';
import fc from 'fast-check';
import {
  hostileNumber,
  hostileString,
  notAString,
  PROTO_KEYS,
  shortText,
  storable,
  storableText,
} from './support-values.ts';

/** valid: every field follows the documented rules; invalid: one does not; unknown: not built field by field. */
export type Intent = 'valid' | 'invalid' | 'unknown';

export type FuzzInput =
  | { kind: 'text'; text: string; intent: Intent }
  | { kind: 'binary'; bytes: Uint8Array }
  /** A text frame whose bytes are not UTF-8: fails the connection with 1007. */
  | { kind: 'badUtf8'; bytes: Uint8Array }
  /** `size` bytes, more than the frame limit: closes with 1009. Built at send time (cheap to generate). */
  | { kind: 'oversized'; size: number; binary: boolean };

/** Ids the frames should sometimes hit: existing conversations and messages. */
export interface FramePools {
  conversationIds: readonly string[];
  messageIds: readonly string[];
  maxPayloadBytes: number;
}

/**
 * Length as the server measures it: zod 4.6 counts code points (an emoji is 1), while
 * docs/protocol.md and @anmei/client count UTF-16 units (an emoji is 2). The difference is pinned
 * apart in ws-frames.fuzz.test.ts; here the generator follows the server so the fuzz checks the rest.
 */
const length = (v: string) => [...v].length;
const isText = (v: unknown, min: number, max: number): boolean =>
  typeof v === 'string' && length(v) >= min && length(v) <= max && storable(v);
const isId = (v: unknown) => isText(v, 1, 64);
const isPosition = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= LIMITS.positionMax;
/** request_id is echoed, never stored: any 1–64 character string. */
const isRequestId = (v: unknown) => typeof v === 'string' && length(v) >= 1 && length(v) <= 64;

/** Marks a field left out of the frame. */
const MISSING = Symbol('missing');
type Maybe<T> = T | typeof MISSING;

const optional = <T>(arb: fc.Arbitrary<T>, presentWeight = 3): fc.Arbitrary<Maybe<T>> =>
  fc.oneof({ weight: 1, arbitrary: fc.constant(MISSING) }, { weight: presentWeight, arbitrary: arb });

const requestId = optional(
  fc.oneof(
    { weight: 8, arbitrary: fc.uuid().map((u) => `r-${u}`) },
    { weight: 1, arbitrary: hostileString },
    { weight: 1, arbitrary: notAString },
  ),
);
const conversationId = (pools: FramePools) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...pools.conversationIds) },
    { weight: 2, arbitrary: hostileString },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: notAString },
  );
/** Fresh ids, and a few reused on purpose: resending one is a duplicate, or a conflict in another conversation. */
const clientMessageId = fc.oneof(
  { weight: 6, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: fc.constantFrom('dup-a', 'dup-b', 'dup-c', '\ufeffdup-a') },
  { weight: 1, arbitrary: storableText },
  { weight: 1, arbitrary: hostileString },
  { weight: 1, arbitrary: notAString },
);
const position = fc.oneof({ weight: 4, arbitrary: hostileNumber }, { weight: 1, arbitrary: notAString });

const extraKey = fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.constantFrom('extra', 'Action', 'data '), shortText);

/** An own, enumerable property even for "__proto__" (plain assignment would set the prototype). */
function withKey(object: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy = { ...object };
  Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
  return copy;
}

interface Built {
  frame: Record<string, unknown>;
  ok: boolean;
}

function envelope(action: string, id: Maybe<unknown>, data: Maybe<unknown>, dataOk: boolean): Built {
  const frame: Record<string, unknown> = { action };
  if (id !== MISSING) frame.request_id = id;
  if (data !== MISSING) frame.data = data;
  return { frame, ok: dataOk && (id === MISSING || isRequestId(id)) };
}

/** Each field present or not and valid or not; the frame is valid when every field is. */
function sendMessage(pools: FramePools): fc.Arbitrary<Built> {
  const type = optional(
    fc.oneof(
      { weight: 4, arbitrary: fc.constant('text') },
      { weight: 1, arbitrary: fc.constantFrom('image', 'TEXT', '', null, 1) },
    ),
  );
  const content = fc.oneof(
    { weight: 8, arbitrary: storableText },
    { weight: 3, arbitrary: hostileString },
    { weight: 1, arbitrary: notAString },
  );
  return fc
    .record({ id: requestId, conv: conversationId(pools), cmid: clientMessageId, content, type })
    .map(({ id, conv, cmid, content, type }) => {
      const data: Record<string, unknown> = { conversation_id: conv, client_message_id: cmid, content };
      if (type !== MISSING) data.message_type = type;
      const ok =
        isId(conv) && isText(cmid, 1, 64) && isText(content, 1, 10_000) && (type === MISSING || type === 'text');
      return envelope('send_message', id, data, ok);
    });
}

function typing(pools: FramePools): fc.Arbitrary<Built> {
  const flag = fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: notAString });
  return fc
    .record({ id: requestId, conv: conversationId(pools), flag })
    .map(({ id, conv, flag }) =>
      envelope('typing', id, { conversation_id: conv, is_typing: flag }, isId(conv) && typeof flag === 'boolean'),
    );
}

function read(pools: FramePools): fc.Arbitrary<Built> {
  const messageId = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...pools.messageIds) },
    { weight: 2, arbitrary: hostileString },
    { weight: 1, arbitrary: notAString },
  );
  const ids = fc.oneof(
    { weight: 8, arbitrary: fc.array(messageId, { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.constantFrom(499, 500, 501).map((n) => Array.from({ length: n }, (_, i) => `m${i}`)) },
    { weight: 1, arbitrary: notAString },
  );
  return fc.record({ id: requestId, conv: conversationId(pools), ids }).map(({ id, conv, ids }) => {
    const idsOk = Array.isArray(ids) && ids.length >= 1 && ids.length <= 500 && ids.every(isId);
    return envelope('read', id, { conversation_id: conv, message_ids: ids }, isId(conv) && idsOk);
  });
}

function resume(pools: FramePools): fc.Arbitrary<Built> {
  interface Entry {
    value: Record<string, unknown>;
    ok: boolean;
  }
  const entry = fc.record({ conv: conversationId(pools), last: position, event: position }).map(
    ({ conv, last, event }): Entry => ({
      value: { conversation_id: conv, last_seq: last, last_event_seq: event },
      ok: isId(conv) && isPosition(last) && isPosition(event),
    }),
  );
  // Long lists name unknown conversations: 200 real replays per frame would only test the database.
  const many = fc
    .record({ n: fc.constantFrom(199, 200, 201), id: fc.uuid() })
    .map(({ n, id }) =>
      Array.from(
        { length: n },
        (): Entry => ({ value: { conversation_id: id, last_seq: 0, last_event_seq: 0 }, ok: true }),
      ),
    );
  const list = fc.oneof({ weight: 8, arbitrary: fc.array(entry, { maxLength: 3 }) }, { weight: 1, arbitrary: many });
  return fc
    .record({ id: requestId, list, user: optional(position, 1), global: optional(position, 1) })
    .map(({ id, list, user, global }) => {
      const data: Record<string, unknown> = { conversations: list.map((e) => e.value) };
      if (user !== MISSING) data.user_seq = user;
      if (global !== MISSING) data.global_seq = global;
      const ok =
        list.length <= 200 &&
        list.every((e) => e.ok) &&
        (user === MISSING || isPosition(user)) &&
        (global === MISSING || isPosition(global));
      return envelope('resume', id, data, ok);
    });
}

/** Watched users: any ids (strangers are left out of the answer, never refused), up to LIMITS.presenceWatchMax. */
function watchPresence(): fc.Arbitrary<Built> {
  const userId = fc.oneof(
    { weight: 4, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: hostileString },
    { weight: 1, arbitrary: notAString },
  );
  const many = fc
    .record({ n: fc.constantFrom(499, 500, 501), id: fc.uuid() })
    .map(({ n, id }) => Array.from({ length: n }, () => id));
  const ids = fc.oneof(
    { weight: 8, arbitrary: fc.array(userId, { maxLength: 3 }) },
    { weight: 1, arbitrary: many },
    { weight: 1, arbitrary: notAString },
  );
  return fc.record({ id: requestId, ids }).map(({ id, ids }) => {
    const ok = Array.isArray(ids) && ids.length <= 500 && ids.every(isId);
    return envelope('watch_presence', id, { user_ids: ids }, ok);
  });
}

function ping(): fc.Arbitrary<Built> {
  const ts = fc.oneof({ weight: 4, arbitrary: hostileNumber }, { weight: 1, arbitrary: notAString });
  const data = fc.oneof(
    fc.constant(MISSING),
    fc.constant({}),
    ts.map((v) => ({ ts: v })),
    notAString.filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)),
  );
  return fc.record({ id: requestId, data }).map(({ id, data }) => {
    const ok =
      data === MISSING ||
      (typeof data === 'object' &&
        data !== null &&
        !Array.isArray(data) &&
        (!('ts' in data) || typeof data.ts === 'number'));
    return envelope('ping', id, data, ok);
  });
}

/** A well-formed action frame, sometimes with one key too many (top level or in `data`): strict frames refuse it. */
function actionFrame(pools: FramePools): fc.Arbitrary<FuzzInput> {
  const built = fc.oneof(
    { weight: 10, arbitrary: sendMessage(pools) },
    { weight: 2, arbitrary: typing(pools) },
    { weight: 2, arbitrary: read(pools) },
    { weight: 1, arbitrary: resume(pools) },
    { weight: 1, arbitrary: watchPresence() },
    { weight: 3, arbitrary: ping() },
  );
  const extra = fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.record({
        where: fc.constantFrom('top', 'data'),
        key: extraKey,
        value: fc.jsonValue({ maxDepth: 2 }),
      }),
    },
  );
  return fc.record({ built, extra }).map(({ built, extra }) => {
    let { frame, ok } = built;
    if (extra && extra.where === 'top') {
      frame = withKey(frame, extra.key, extra.value);
      ok = false;
    } else if (extra && typeof frame.data === 'object' && frame.data !== null && !Array.isArray(frame.data)) {
      frame = { ...frame, data: withKey(frame.data as Record<string, unknown>, extra.key, extra.value) };
      ok = false;
    }
    return { kind: 'text', text: JSON.stringify(frame), intent: ok ? 'valid' : 'invalid' };
  });
}

/** Number literals JSON.parse reads differently from what a client meant (1e400 is Infinity) or refuses (NaN). */
const numberLiteral = fc.constantFrom(
  '1e400',
  '-1e400',
  '-0',
  '1E+2',
  '0.0',
  '01',
  '1.',
  '.5',
  '+1',
  'NaN',
  'Infinity',
  '0x1F',
  '9007199254740993',
  '2147483648',
  '2147483647.0',
);
const literalFrame = fc
  .record({ literal: numberLiteral, where: fc.constantFrom('ping', 'user_seq', 'last_seq') })
  .map(({ literal, where }): FuzzInput => {
    const text =
      where === 'ping'
        ? `{"action":"ping","data":{"ts":${literal}}}`
        : where === 'user_seq'
          ? `{"action":"resume","data":{"conversations":[],"user_seq":${literal}}}`
          : `{"action":"resume","data":{"conversations":[{"conversation_id":"c","last_seq":${literal},"last_event_seq":0}]}}`;
    return { kind: 'text', text, intent: 'unknown' };
  });

const deepFrame = fc
  .record({
    depth: fc.integer({ min: 1, max: 14_000 }),
    where: fc.constantFrom('top', 'ts', 'data', 'ids', 'request_id'),
  })
  .map(({ depth, where }): FuzzInput => {
    const arrays = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const objects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const text = {
      top: arrays,
      ts: `{"action":"ping","data":{"ts":${arrays}}}`,
      data: `{"action":"send_message","data":${objects}}`,
      ids: `{"action":"read","data":{"conversation_id":"c","message_ids":${arrays}}}`,
      request_id: `{"action":"ping","request_id":${objects}}`,
    }[where];
    return { kind: 'text', text, intent: 'unknown' };
  });

/** Prototype-pollution shapes: as the action, around the frame, inside data. */
const protoFrame = fc
  .record({ key: fc.constantFrom(...PROTO_KEYS), shape: fc.constantFrom('action', 'wrap', 'data', 'nested') })
  .map(({ key, shape }): FuzzInput => {
    const text = {
      action: `{"action":${JSON.stringify(key)},"data":{}}`,
      wrap: `{${JSON.stringify(key)}:{"action":"ping","polluted":true}}`,
      data: `{"action":"ping","data":{${JSON.stringify(key)}:{"ts":1,"polluted":true}}}`,
      nested: `{"action":"send_message","data":{"constructor":{"prototype":{"polluted":true}},"__proto__":{"polluted":true}}}`,
    }[shape];
    return { kind: 'text', text, intent: 'invalid' };
  });

const unknownAction = fc
  .record({
    action: fc.oneof(
      hostileString,
      fc.constantFrom('Send_message', 'send_message ', 'ping\u0000', 'PING', 'subscribe', 'admin'),
    ),
    id: requestId,
  })
  .filter(({ action }) => !['send_message', 'typing', 'read', 'ping', 'resume', 'watch_presence'].includes(action))
  .map(({ action, id }): FuzzInput => {
    const frame: Record<string, unknown> = { action, data: {} };
    if (id !== MISSING) frame.request_id = id;
    return { kind: 'text', text: JSON.stringify(frame), intent: 'invalid' };
  });

/** Sequences that are not UTF-8: 0xFF, an overlong "/", an encoded surrogate, beyond U+10FFFF, a cut 好, a stray continuation byte. */
const BAD_UTF8 = [
  [0xff],
  [0xfe],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe5, 0xa5],
  [0x80],
];
const badUtf8 = fc
  .record({
    bad: fc.constantFrom(...BAD_UTF8),
    before: fc.constantFrom('', '{"action":"ping","data":{"ts":1}}', '{"action":"send_message","data":{"content":"'),
  })
  .map(
    ({ bad, before }): FuzzInput => ({
      kind: 'badUtf8',
      bytes: Buffer.concat([Buffer.from(before), Buffer.from(bad)]),
    }),
  );

export function frameArbitrary(pools: FramePools): fc.Arbitrary<FuzzInput> {
  const text = (arb: fc.Arbitrary<string>) => arb.map((t): FuzzInput => ({ kind: 'text', text: t, intent: 'unknown' }));
  return fc.oneof(
    { weight: 40, arbitrary: actionFrame(pools) },
    { weight: 6, arbitrary: text(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v))) },
    { weight: 5, arbitrary: text(fc.string({ unit: 'binary', maxLength: 40 })) },
    // A valid frame cut short: JSON that ends too early.
    {
      weight: 3,
      arbitrary: fc.record({ frame: actionFrame(pools), cut: fc.nat() }).map(({ frame, cut }): FuzzInput => {
        const whole = frame.kind === 'text' ? frame.text : '{}';
        return { kind: 'text', text: whole.slice(0, cut % whole.length), intent: 'unknown' };
      }),
    },
    { weight: 3, arbitrary: literalFrame },
    { weight: 2, arbitrary: deepFrame },
    { weight: 3, arbitrary: protoFrame },
    { weight: 3, arbitrary: unknownAction },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.uint8Array({ maxLength: 64 }),
          actionFrame(pools).map((f) => new TextEncoder().encode(f.kind === 'text' ? f.text : '')),
        )
        .map((bytes): FuzzInput => ({ kind: 'binary', bytes })),
    },
    // Each of these ends its socket, and replacing a socket costs a ticket and an upgrade: keep them rare.
    { weight: 1, arbitrary: badUtf8 },
    {
      weight: 1,
      arbitrary: fc
        .record({ extra: fc.integer({ min: 1, max: 20_000 }), binary: fc.boolean() })
        .map(({ extra, binary }): FuzzInput => ({ kind: 'oversized', size: pools.maxPayloadBytes + extra, binary })),
    },
  );
}
