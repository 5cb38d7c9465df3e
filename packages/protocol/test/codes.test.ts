import { describe, expect, it } from 'vitest';
import { CloseCode, decodeClientFrame, ErrorCodes, isErrorCode, NON_RETRYABLE_CLOSE_CODES } from '../src/index.ts';

const closeCodeValues: number[] = Object.values(CloseCode);
const errorEntries = Object.entries(ErrorCodes);

describe('error-code table', () => {
  it.each(errorEntries)('%s has an HTTP error status (400-599)', (_code, def) => {
    expect(Number.isInteger(def.status)).toBe(true);
    expect(def.status).toBeGreaterThanOrEqual(400);
    expect(def.status).toBeLessThanOrEqual(599);
  });

  it.each(errorEntries)('%s closes with null or a known CloseCode in 1000-4999', (_code, def) => {
    if (def.closeCode === null) return;
    expect(closeCodeValues).toContain(def.closeCode);
    expect(def.closeCode).toBeGreaterThanOrEqual(1000);
    expect(def.closeCode).toBeLessThanOrEqual(4999);
  });

  it.each(errorEntries)('%s has a non-empty default message', (_code, def) => {
    expect(def.message.trim()).not.toBe('');
  });

  it('codes are SCREAMING_SNAKE_CASE', () => {
    for (const code of Object.keys(ErrorCodes)) expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  });

  it('the codes the decoder returns are catalogued, 400, and keep the socket open', () => {
    const failures = ['{', '42', '{"action":"nope"}', '{"action":"ping","data":null}'].map(decodeClientFrame);
    const codes = failures.map((r) => (r.ok ? 'ok' : r.code));
    expect(codes).toEqual(['MALFORMED_JSON', 'INVALID_FRAME', 'UNKNOWN_ACTION', 'INVALID_FRAME']);
    for (const code of codes) {
      expect(isErrorCode(code)).toBe(true);
      if (!isErrorCode(code)) continue;
      expect(ErrorCodes[code]).toMatchObject({ status: 400, closeCode: null });
    }
  });
});

describe('close codes', () => {
  it('are unique', () => {
    expect(new Set(closeCodeValues).size).toBe(closeCodeValues.length);
  });

  it('are RFC 6455 codes an endpoint may send, or private codes 4000-4999', () => {
    // 1004 reserved, 1005/1006/1015 must never be sent in a Close frame.
    const sendableRfc = new Set([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014]);
    for (const code of closeCodeValues) {
      expect(sendableRfc.has(code) || (code >= 4000 && code <= 4999), `close code ${code}`).toBe(true);
    }
  });

  it('NON_RETRYABLE_CLOSE_CODES is a non-empty subset of the CloseCode values', () => {
    expect(NON_RETRYABLE_CLOSE_CODES.size).toBeGreaterThan(0);
    for (const code of NON_RETRYABLE_CLOSE_CODES) expect(closeCodeValues).toContain(code);
  });

  it('a server shutdown is retryable; a forbidden connection type and invalid-frame abuse are not', () => {
    expect(NON_RETRYABLE_CLOSE_CODES.has(ErrorCodes.SERVER_SHUTTING_DOWN.closeCode)).toBe(false);
    expect(NON_RETRYABLE_CLOSE_CODES.has(ErrorCodes.SLOW_CONSUMER.closeCode)).toBe(false);
    expect(NON_RETRYABLE_CLOSE_CODES.has(ErrorCodes.FORBIDDEN.closeCode)).toBe(true);
    expect(NON_RETRYABLE_CLOSE_CODES.has(ErrorCodes.TOO_MANY_INVALID_FRAMES.closeCode)).toBe(true);
  });
});

describe('isErrorCode', () => {
  it('accepts every catalogued code', () => {
    for (const code of Object.keys(ErrorCodes)) expect(isErrorCode(code)).toBe(true);
  });

  it.each([
    ['lower case', 'invalid_frame'],
    ['an unknown code', 'TEAPOT'],
    ['the empty string', ''],
    ['an inherited property name', 'toString'],
    ['__proto__', '__proto__'],
    ['a number', 400],
    ['null', null],
    ['undefined', undefined],
    ['an object', { code: 'INTERNAL' }],
  ])('rejects %s', (_name, value) => {
    expect(isErrorCode(value)).toBe(false);
  });
});
