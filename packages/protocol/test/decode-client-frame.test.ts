import { describe, expect, it } from 'vitest';
import { type ClientFrame, decodeClientFrame, ErrorCodes, LIMITS } from '../src/index.ts';

const CONV = 'conv_7f3c2a9e-4b1d-4c8e-9f2a-6d5e8b1c0a47';
const CMID = '0b9d6c8e-2f4a-4e1b-9c3d-5a6b7c8d9e0f';

const text = (value: unknown): string => JSON.stringify(value);

function expectOk(input: unknown): ClientFrame {
  const result = decodeClientFrame(text(input));
  if (!result.ok) throw new Error(`expected ok, got ${result.code}: ${result.message}`);
  return result.frame;
}

function expectFailure(input: string) {
  const result = decodeClientFrame(input);
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.frame)}`);
  return result;
}

function sendMessage(data: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    action: 'send_message',
    data: { conversation_id: CONV, client_message_id: CMID, content: '你好，有什么可以帮助您的吗？', ...data },
    ...extra,
  };
}

describe('decodeClientFrame: valid frames of every client action', () => {
  it('accepts a minimal send_message and returns it unchanged', () => {
    const input = sendMessage();
    expect(expectOk(input)).toEqual(input);
  });

  it('accepts a full send_message with request_id and message_type "text"', () => {
    const input = sendMessage({ message_type: 'text' }, { request_id: 'req-0001' });
    expect(expectOk(input)).toEqual(input);
  });

  it('accepts typing with is_typing true and false', () => {
    for (const is_typing of [true, false]) {
      const input = { action: 'typing', data: { conversation_id: CONV, is_typing } };
      expect(expectOk(input)).toEqual(input);
    }
    const full = { action: 'typing', request_id: 'req-2', data: { conversation_id: CONV, is_typing: true } };
    expect(expectOk(full)).toEqual(full);
  });

  it('accepts read with one id and with a request_id', () => {
    const minimal = { action: 'read', data: { conversation_id: CONV, message_ids: ['msg_1'] } };
    expect(expectOk(minimal)).toEqual(minimal);
    const full = {
      action: 'read',
      request_id: 'req-3',
      data: { conversation_id: CONV, message_ids: ['msg_1', 'msg_2'] },
    };
    expect(expectOk(full)).toEqual(full);
  });

  it('accepts ping without data, with empty data and with a ts', () => {
    expect(expectOk({ action: 'ping' })).toEqual({ action: 'ping' });
    expect(expectOk({ action: 'ping', data: {} })).toEqual({ action: 'ping', data: {} });
    const full = { action: 'ping', request_id: 'req-4', data: { ts: 1_714_000_000_000 } };
    expect(expectOk(full)).toEqual(full);
  });
});

describe('decodeClientFrame: malformed JSON', () => {
  it.each([
    ['empty text', ''],
    ['truncated object', '{"action":"ping"'],
    ['single quotes', "{'action':'ping'}"],
    ['trailing comma', '{"action":"ping",}'],
    ['bare word', 'ping'],
  ])('reports MALFORMED_JSON for %s, with no request_id and no issues', (_name, input) => {
    const failure = expectFailure(input);
    expect(failure.code).toBe('MALFORMED_JSON');
    expect(failure.requestId).toBeNull();
    expect(failure.issues).toEqual([]);
    expect(failure.message).toBe(ErrorCodes.MALFORMED_JSON.message);
  });

  it('does not try to recover a request_id from text that is not JSON', () => {
    expect(expectFailure('{"action":"ping","request_id":"req-1"').requestId).toBeNull();
  });
});

describe('decodeClientFrame: not an object, or no string action', () => {
  it.each([
    ['a number', '42'],
    ['a string', '"send_message"'],
    ['null', 'null'],
    ['a boolean', 'true'],
    ['an array', '[{"action":"ping"}]'],
    ['an empty object', '{}'],
    ['a numeric action', '{"action":1}'],
    ['a null action', '{"action":null}'],
    ['an object action', '{"action":{"name":"ping"}}'],
  ])('reports INVALID_FRAME for %s', (_name, input) => {
    const failure = expectFailure(input);
    expect(failure.code).toBe('INVALID_FRAME');
    expect(failure.issues).toEqual(['action: expected string']);
    expect(failure.message).toContain('"action"');
  });

  it('echoes a valid request_id even when the action is missing', () => {
    expect(expectFailure(text({ request_id: 'req-9', data: {} })).requestId).toBe('req-9');
  });
});

describe('decodeClientFrame: unknown actions', () => {
  it('reports UNKNOWN_ACTION naming the action', () => {
    const failure = expectFailure(text({ action: 'delete_message', data: {} }));
    expect(failure.code).toBe('UNKNOWN_ACTION');
    expect(failure.message).toContain('"delete_message"');
    expect(failure.issues).toEqual([]);
  });

  it('treats actions case-sensitively', () => {
    expect(expectFailure(text(sendMessage({}, { action: 'SEND_MESSAGE' }))).code).toBe('UNKNOWN_ACTION');
  });

  it('rejects server-only actions sent by a client', () => {
    for (const action of ['new_message', 'pong', 'ack', 'error', 'connected']) {
      expect(expectFailure(text({ action, data: {} })).code).toBe('UNKNOWN_ACTION');
    }
  });

  it('truncates the action named in the message to 64 characters', () => {
    const head = 'x'.repeat(64);
    const failure = expectFailure(text({ action: `${head}TAIL`, data: {} }));
    expect(failure.code).toBe('UNKNOWN_ACTION');
    expect(failure.message).toContain(`"${head}"`);
    expect(failure.message).not.toContain('TAIL');
  });

  it('rejects Object.prototype member names instead of throwing', () => {
    for (const action of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf']) {
      const result = decodeClientFrame(text({ action, request_id: 'req-p', data: {} }));
      expect(result).toMatchObject({ ok: false, code: 'UNKNOWN_ACTION', requestId: 'req-p' });
    }
  });

  it('echoes a valid request_id', () => {
    expect(expectFailure(text({ action: 'nope', request_id: 'req-7' })).requestId).toBe('req-7');
  });
});

describe('decodeClientFrame: wrong field types', () => {
  it('reports INVALID_FRAME with a path per issue and names the action in the message', () => {
    const failure = expectFailure(text(sendMessage({ conversation_id: 123 }, { request_id: 'req-1' })));
    expect(failure.code).toBe('INVALID_FRAME');
    expect(failure.issues).toHaveLength(1);
    expect(failure.issues[0]).toMatch(/^data\.conversation_id: .*string/);
    expect(failure.message).toContain('"send_message"');
    expect(failure.message).toContain(failure.issues[0]);
    expect(failure.requestId).toBe('req-1');
  });

  it('reports every wrong field, not only the first', () => {
    const failure = expectFailure(text({ action: 'typing', data: { conversation_id: 1, is_typing: 'yes' } }));
    expect(failure.issues.map((issue) => issue.split(':')[0]).sort()).toEqual([
      'data.conversation_id',
      'data.is_typing',
    ]);
  });

  it('includes array indexes in paths', () => {
    const failure = expectFailure(text({ action: 'read', data: { conversation_id: CONV, message_ids: ['m1', 7] } }));
    expect(failure.issues).toHaveLength(1);
    expect(failure.issues[0]).toMatch(/^data\.message_ids\.1: /);
  });

  it('reports a missing data object at path "data"', () => {
    const failure = expectFailure(text({ action: 'typing' }));
    expect(failure.code).toBe('INVALID_FRAME');
    expect(failure.issues[0]).toMatch(/^data: /);
  });

  it('reports missing required fields', () => {
    const failure = expectFailure(text({ action: 'send_message', data: { conversation_id: CONV } }));
    expect(failure.issues.map((issue) => issue.split(':')[0]).sort()).toEqual([
      'data.client_message_id',
      'data.content',
    ]);
  });

  it('rejects a null ping data', () => {
    expect(expectFailure(text({ action: 'ping', data: null })).issues[0]).toMatch(/^data: /);
  });

  it('accepts only "text" as message_type over the socket', () => {
    const failure = expectFailure(text(sendMessage({ message_type: 'image' })));
    expect(failure.issues[0]).toMatch(/^data\.message_type: /);
  });

  it('lists at most 10 issues', () => {
    const ids = Array.from({ length: 25 }, (_, i) => i);
    const failure = expectFailure(text({ action: 'read', data: { conversation_id: CONV, message_ids: ids } }));
    expect(failure.issues).toHaveLength(10);
  });
});

describe('decodeClientFrame: extra fields are rejected (strict)', () => {
  it('rejects an unknown top-level field, reported at "(frame)"', () => {
    const failure = expectFailure(text(sendMessage({}, { timestamp: '2024-01-01T00:00:00Z' })));
    expect(failure.code).toBe('INVALID_FRAME');
    expect(failure.issues).toHaveLength(1);
    expect(failure.issues[0]).toMatch(/^\(frame\): .*"timestamp"/);
  });

  it.each([
    ['send_message', sendMessage({ conversationId: CONV })],
    ['typing', { action: 'typing', data: { conversation_id: CONV, is_typing: true, user_id: 'usr_1' } }],
    ['read', { action: 'read', data: { conversation_id: CONV, message_ids: ['m1'], all: true } }],
    ['ping', { action: 'ping', data: { ts: 1, nonce: 'x' } }],
  ])('rejects an unknown field inside %s data, naming it', (_action, input) => {
    const failure = expectFailure(text(input));
    expect(failure.code).toBe('INVALID_FRAME');
    expect(failure.issues).toHaveLength(1);
    expect(failure.issues[0]).toMatch(/^data: /);
    const extraKey = Object.keys(input.data).at(-1);
    expect(failure.issues[0]).toContain(`"${extraKey}"`);
  });
});

describe('decodeClientFrame: request_id', () => {
  it('is echoed on schema failures when it is a 1-64 character string', () => {
    const id = 'r'.repeat(64);
    const failure = expectFailure(text(sendMessage({ content: '' }, { request_id: id })));
    expect(failure.code).toBe('INVALID_FRAME');
    expect(failure.requestId).toBe(id);
  });

  it.each([
    ['too long', 'r'.repeat(65)],
    ['empty', ''],
    ['a number', 42],
    ['null', null],
  ])('is not echoed when it is %s, and makes the frame invalid', (_name, requestId) => {
    const failure = expectFailure(text(sendMessage({}, { request_id: requestId })));
    expect(failure.code).toBe('INVALID_FRAME');
    expect(failure.requestId).toBeNull();
    expect(failure.issues[0]).toMatch(/^request_id: /);
  });

  it('is null when the frame had none', () => {
    expect(expectFailure(text(sendMessage({ content: '' }))).requestId).toBeNull();
  });
});

describe('decodeClientFrame: limits', () => {
  it(`accepts content of exactly ${LIMITS.messageContentMaxChars} characters and rejects one more`, () => {
    expectOk(sendMessage({ content: '好'.repeat(LIMITS.messageContentMaxChars) }));
    const failure = expectFailure(text(sendMessage({ content: '好'.repeat(LIMITS.messageContentMaxChars + 1) })));
    expect(failure.issues).toHaveLength(1);
    expect(failure.issues[0]).toMatch(/^data\.content: /);
  });

  it('rejects empty content', () => {
    expect(expectFailure(text(sendMessage({ content: '' }))).issues[0]).toMatch(/^data\.content: /);
  });

  it(`accepts a read receipt of ${LIMITS.readReceiptMaxIds} ids and rejects one more`, () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `msg_${i}`);
    expectOk({ action: 'read', data: { conversation_id: CONV, message_ids: ids(LIMITS.readReceiptMaxIds) } });
    const failure = expectFailure(
      text({ action: 'read', data: { conversation_id: CONV, message_ids: ids(LIMITS.readReceiptMaxIds + 1) } }),
    );
    expect(failure.issues).toEqual([expect.stringMatching(/^data\.message_ids: /)]);
  });

  it('rejects an empty read receipt', () => {
    const failure = expectFailure(text({ action: 'read', data: { conversation_id: CONV, message_ids: [] } }));
    expect(failure.issues[0]).toMatch(/^data\.message_ids: /);
  });

  it(`accepts a client_message_id of ${LIMITS.clientMessageIdMaxChars} characters and rejects one more or an empty one`, () => {
    expectOk(sendMessage({ client_message_id: 'c'.repeat(LIMITS.clientMessageIdMaxChars) }));
    for (const client_message_id of ['c'.repeat(LIMITS.clientMessageIdMaxChars + 1), '']) {
      const failure = expectFailure(text(sendMessage({ client_message_id })));
      expect(failure.issues[0]).toMatch(/^data\.client_message_id: /);
    }
  });

  it('limits ids to 64 characters', () => {
    expectOk(sendMessage({ conversation_id: 'c'.repeat(64) }));
    expect(expectFailure(text(sendMessage({ conversation_id: 'c'.repeat(65) }))).issues[0]).toMatch(
      /^data\.conversation_id: /,
    );
    expect(expectFailure(text(sendMessage({ conversation_id: '' }))).issues[0]).toMatch(/^data\.conversation_id: /);
  });
});
