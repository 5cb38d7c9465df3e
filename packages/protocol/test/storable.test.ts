/** What the database can hold, checked by the schemas (issue #15): storable text and the position range. */
import { describe, expect, it } from 'vitest';
import { decodeClientFrame, JSON_MAX_DEPTH, LIMITS, Position, StorableJsonObject, StorableText } from '../src/index.ts';

const messages = (result: { error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

describe('StorableText', () => {
  it('refuses U+0000 and lone surrogates of either half, and keeps the other limits it is chained with', () => {
    const Name = StorableText.min(1).max(5);
    expect(messages(Name.safeParse('a\u0000b'))).toEqual([': must not contain U+0000 (NUL)']);
    for (const lone of ['\ud800', 'x\udfff', '\udc00\ud83d']) {
      expect(messages(Name.safeParse(lone))).toEqual([
        ': must not contain a lone UTF-16 surrogate (not valid Unicode)',
      ]);
    }
    expect(Name.safeParse('abcdef').success).toBe(false);
  });

  it('accepts surrogate pairs, U+FEFF and other control characters unchanged', () => {
    for (const text of ['😀', '\ufeff你好', 'a\u0001\u007fb', ' ']) expect(StorableText.parse(text)).toBe(text);
  });
});

describe('StorableJsonObject', () => {
  it('names the path of a bad string at any depth, and reports a bad key at its object without echoing it', () => {
    expect(messages(StorableJsonObject.safeParse({ a: [1, { b: 'x\u0000' }] }))).toEqual([
      'a.1.b: must not contain U+0000 (NUL)',
    ]);
    expect(messages(StorableJsonObject.safeParse({ a: { 'k\ud800': 1 } }))).toEqual([
      'a: a key must not contain a lone UTF-16 surrogate (not valid Unicode)',
    ]);
    expect(StorableJsonObject.parse({ n: null, t: true, s: '😀', a: [[{}]] })).toEqual({
      n: null,
      t: true,
      s: '😀',
      a: [[{}]],
    });
  });

  it(`refuses nesting deeper than ${JSON_MAX_DEPTH} levels, and walks 100 000 of them without overflowing the stack`, () => {
    const nest = (levels: number) => {
      let value: unknown = 'bottom';
      for (let i = 0; i < levels; i++) value = [value];
      return value;
    };
    // The record itself is level 1.
    expect(StorableJsonObject.safeParse({ d: nest(JSON_MAX_DEPTH - 1) }).success).toBe(true);
    expect(messages(StorableJsonObject.safeParse({ d: nest(JSON_MAX_DEPTH) }))).toEqual([
      `d${'.0'.repeat(JSON_MAX_DEPTH - 1)}: nested deeper than ${JSON_MAX_DEPTH} levels`,
    ]);
    expect(StorableJsonObject.safeParse({ d: nest(100_000) }).success).toBe(false);
  });
});

describe('Position', () => {
  it(`accepts 0 … ${LIMITS.positionMax} (Postgres integer) and refuses what lies outside with one issue`, () => {
    expect(LIMITS.positionMax).toBe(2 ** 31 - 1);
    for (const ok of [0, 1, LIMITS.positionMax]) expect(Position.parse(ok)).toBe(ok);
    const tooBig = `: must be at most ${LIMITS.positionMax} (positions are 32-bit integers)`;
    expect(messages(Position.safeParse(2 ** 31))).toEqual([tooBig]);
    expect(messages(Position.safeParse(2 ** 53))).toEqual([tooBig]);
    expect(Position.safeParse(-1).success).toBe(false);
    expect(Position.safeParse(1.5).success).toBe(false);
  });

  it('makes decodeClientFrame answer a resume position past the range with INVALID_FRAME', () => {
    const frame = { action: 'resume', request_id: 'r', data: { conversations: [], user_seq: 2 ** 31 } };
    const result = decodeClientFrame(JSON.stringify(frame));
    expect(result).toMatchObject({ ok: false, code: 'INVALID_FRAME', requestId: 'r' });
    expect(result.ok ? [] : result.issues).toEqual([
      `data.user_seq: must be at most ${LIMITS.positionMax} (positions are 32-bit integers)`,
    ]);
  });
});
