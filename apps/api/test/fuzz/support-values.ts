/**
 * Hostile values for the fuzz tests (issue #15), shared by the frame and the HTTP arbitraries:
 * strings that are valid but hostile (BOM, RTL override, emoji, control characters,
 * injection-looking text), strings the database cannot store (U+0000, lone surrogates), lengths
 * around the documented limits, numbers around the 32- and 53-bit edges, values of every other
 * JSON type, and the keys of prototype pollution.
 */
import { LIMITS } from '@anmei/protocol';
import fc from 'fast-check';

/** Independent reading of "Text and ids: no U+0000 and no lone UTF-16 surrogate". */
export function storable(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit === 0) return false;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return false;
  }
  return true;
}

const SPICE = [
  '\ufeff',
  '\u202e',
  '\u200b',
  '\u2028',
  '\u2029',
  '\uffff',
  '\ufffe',
  '\u0085',
  '😀',
  '👩‍👩‍👧',
  '\u{10ffff}',
  'e\u0301',
  '\\',
  '"',
  '\n\r\t',
  '\x7f\x01',
  '%00',
  "' OR '1'='1",
  '<script>alert(1)</script>',
  '{{7*7}}',
  '__proto__',
  '../',
  '好',
];
export const LONE = fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff');
/** Valid but hostile: BOM, RTL override, emoji, control characters, injection-looking text. */
const storableChunk = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).filter((s) => !s.includes('\u0000')),
  },
  { weight: 3, arbitrary: fc.constantFrom(...SPICE) },
);
export const storableText = fc.array(storableChunk, { minLength: 1, maxLength: 8 }).map((parts) => parts.join(''));
/** Now and then a U+0000 or a lone surrogate among them. */
export const shortText = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: storableChunk },
      { weight: 1, arbitrary: LONE },
      { weight: 1, arbitrary: fc.constant('\u0000') },
    ),
    {
      maxLength: 8,
    },
  )
  .map((parts) => parts.join(''));
/** Around the documented lengths (64 for ids, 10 000 for content), in 1-, 2- and 3-byte characters; an emoji cut in half leaves a lone surrogate. */
const longText = fc
  .record({
    length: fc.oneof(fc.constantFrom(63, 64, 65, 9_999, 10_000, 10_001), fc.integer({ min: 1, max: 12_000 })),
    fill: fc.constantFrom('a', '好', '😀', '\ufeff', ' '),
  })
  .map(({ length, fill }) => fill.repeat(Math.ceil(length / fill.length)).slice(0, length));
export const hostileString = fc.oneof(
  { weight: 6, arbitrary: storableText },
  { weight: 4, arbitrary: shortText },
  { weight: 1, arbitrary: longText },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\ufeff', '\ufeff\ufeffhi') },
);
/** Anything JSON can hold that is not a string. */
export const notAString = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);
const HOSTILE_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 31),
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e21,
];
export const hostileNumber = fc.oneof(
  fc.constantFrom(...HOSTILE_NUMBERS),
  fc.integer({ min: 0, max: LIMITS.positionMax }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Keys whose handling goes wrong when code copies JSON into objects naively. */
export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
