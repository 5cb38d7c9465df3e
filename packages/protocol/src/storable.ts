/**
 * Values the database can hold, checked at the edge so a client gets VALIDATION_FAILED /
 * INVALID_FRAME instead of the database's refusal surfacing as INTERNAL (issue #15).
 * Every string that is stored or compared with a stored one is `StorableText`; every position
 * a client sends is `Position`.
 */
import { z } from 'zod';
import { LIMITS } from './domain.ts';

/** A lone UTF-16 surrogate: half of a pair, which no UTF-8 (and so no database text) can encode. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Why `text` cannot be stored, or null when it can: Postgres (and PGlite) refuse U+0000 in `text`
 * and in `jsonb` strings, and a lone surrogate is either refused (in `jsonb`) or silently replaced
 * by U+FFFD (in `text`), so it would not come back as sent.
 */
export function unstorableTextProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain U+0000 (NUL)';
  if (LONE_SURROGATE.test(text)) return 'must not contain a lone UTF-16 surrogate (not valid Unicode)';
  return null;
}

/** The refinement behind `StorableText`, for string schemas built otherwise (e.g. `z.url()`). */
export function refineStorableText(text: string, ctx: z.RefinementCtx): void {
  const problem = unstorableTextProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}

/** A string without U+0000 or lone surrogates; chain `.min()`, `.max()`, `.trim()` as on `z.string()`. */
export const StorableText = z.string().superRefine(refineStorableText);

/**
 * Deepest nesting of objects and arrays in free-form JSON (`StorableJsonObject`). Serializing and
 * storing it is recursive (JSON.stringify, the database's JSON parser): thousands of levels overflow
 * the stack there. Metadata needs a few levels.
 */
export const JSON_MAX_DEPTH = 32;

/**
 * Free-form JSON that is stored as `jsonb` (e.g. a notification's `data`): every key and string
 * inside must be storable text, nested at most JSON_MAX_DEPTH levels. Walked with an explicit stack,
 * so deep nesting cannot overflow ours.
 */
export const StorableJsonObject = z.record(z.string(), z.unknown()).superRefine((object, ctx) => {
  // Each entry links to its parent, so the path is built only for the one issue reported.
  interface Entry {
    value: unknown;
    key: PropertyKey | null;
    parent: Entry | null;
    depth: number;
  }
  const pathOf = (entry: Entry | null): PropertyKey[] => {
    const path: PropertyKey[] = [];
    for (let at = entry; at && at.key !== null; at = at.parent) path.push(at.key);
    return path.reverse();
  };
  const stack: Entry[] = [{ value: object, key: null, parent: null, depth: 1 }];
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const value = entry.value;
    if (typeof value === 'string') {
      const problem = unstorableTextProblem(value);
      if (problem) {
        ctx.addIssue({ code: 'custom', path: pathOf(entry), message: problem });
        return;
      }
    } else if (typeof value === 'object' && value !== null) {
      if (entry.depth > JSON_MAX_DEPTH) {
        ctx.addIssue({ code: 'custom', path: pathOf(entry), message: `nested deeper than ${JSON_MAX_DEPTH} levels` });
        return;
      }
      for (const [key, inner] of Object.entries(value)) {
        const problem = unstorableTextProblem(key);
        if (problem) {
          // Reported at the object, so the offending key is not echoed back.
          ctx.addIssue({ code: 'custom', path: pathOf(entry), message: `a key ${problem}` });
          return;
        }
        const innerKey = Array.isArray(value) ? Number(key) : key;
        stack.push({ value: inner, key: innerKey, parent: entry, depth: entry.depth + 1 });
      }
    }
  }
});

/**
 * The position range, 0 … LIMITS.positionMax, on a number schema: `z.number()` for `Position`, or
 * `z.coerce.number()` for a query string. A larger value would fail in the database when compared
 * with an `integer` column.
 */
export function withPositionRange<S extends z._ZodNumber>(schema: S): S {
  return (
    schema
      // Range first, and aborting: 2^53 gets this one issue, not also `.int()`'s safe-integer bound.
      .min(0, { abort: true })
      .max(LIMITS.positionMax, {
        message: `must be at most ${LIMITS.positionMax} (positions are 32-bit integers)`,
        abort: true,
      })
      .int()
  );
}

/** A stream position a client sends (`last_seq`, `last_event_seq`, `user_seq`, `global_seq`). */
export const Position = withPositionRange(z.number());
