/** Wire frame <-> UI model: camelCase keys, Dates, app data untouched, and the outbound frames. */
import { decodeClientFrame, type ServerFrameOf } from '@anmei/protocol';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type ChatMessage, camelCase, jsonCodec, toUiFrame, toUiModel, type UiFrameOf } from '../src/index.ts';
import { toPingFrame, toReadFrame, toSendMessageFrame, toTypingFrame } from '../src/message-adapter.ts';

const reply: ServerFrameOf<'consultation_reply'> = {
  action: 'consultation_reply',
  data: {
    conversation_id: 'conv-1',
    consultant_id: 'usr-2',
    content: '你好',
    consultant_name: '李顾问',
    message: {
      id: 'msg-1',
      conversation_id: 'conv-1',
      seq: 43,
      sender_id: 'usr-2',
      sender_role: 'consultant',
      client_message_id: null,
      message_type: 'text',
      content: '你好',
      metadata: { file_name: 'x.png', nested_key: { keep_me: 1 } },
      created_at: '2025-03-01T08:30:12.104Z',
    },
  },
  timestamp: '2025-03-01T08:30:12.110Z',
};

describe('messageAdapter', () => {
  it('turns snake_case into camelCase and ISO strings into Dates, at every depth', () => {
    const ui = toUiFrame(reply) as UiFrameOf<'consultation_reply'>;
    expect(ui.action).toBe('consultation_reply');
    expect(ui.timestamp).toEqual(new Date('2025-03-01T08:30:12.110Z'));
    expect(ui.data).toMatchObject({ conversationId: 'conv-1', consultantId: 'usr-2', consultantName: '李顾问' });
    expect(ui.data.message).toMatchObject({
      senderRole: 'consultant',
      clientMessageId: null,
      messageType: 'text',
      seq: 43,
    });
    expect(ui.data.message?.createdAt).toEqual(new Date('2025-03-01T08:30:12.104Z'));
  });

  it('passes app-defined metadata and data through untouched', () => {
    const ui = toUiFrame(reply) as UiFrameOf<'consultation_reply'>;
    expect(ui.data.message?.metadata).toEqual({ file_name: 'x.png', nested_key: { keep_me: 1 } });
    const notice = toUiFrame({
      action: 'system_notification',
      data: { conversation_id: null, title: 't', message: 'm', type: 'maintenance', data: { starts_at: 'x' } },
      timestamp: '2025-03-01T09:00:00.000Z',
    }) as UiFrameOf<'system_notification'>;
    expect(notice.data).toEqual({
      conversationId: null,
      title: 't',
      message: 'm',
      type: 'maintenance',
      data: { starts_at: 'x' },
    });
  });

  it('cannot be tricked into changing prototypes by a "__proto__" key', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "a_b": 1}');
    const ui = toUiModel(hostile) as Record<string, unknown>;
    expect(ui.aB).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(ui)).toBe(Object.prototype);
  });

  it('has types that follow the same rule', () => {
    expectTypeOf<ChatMessage['createdAt']>().toEqualTypeOf<Date>();
    expectTypeOf<ChatMessage['clientMessageId']>().toEqualTypeOf<string | null>();
    expectTypeOf<ChatMessage['metadata']>().toEqualTypeOf<Record<string, unknown> | null>();
    expectTypeOf<UiFrameOf<'pong'>['data']['serverTime']>().toEqualTypeOf<Date>();
    expect(camelCase('last_read_seq')).toBe('lastReadSeq');
  });

  it('builds outbound frames the server accepts', () => {
    const frames = [
      toSendMessageFrame({ conversationId: 'c1', clientMessageId: 'id-1', content: 'hi' }, 'r1'),
      toTypingFrame('c1', true),
      toReadFrame('c1', ['m1', 'm2']),
      toPingFrame(123),
    ];
    for (const frame of frames) expect(decodeClientFrame(jsonCodec.encode(frame))).toMatchObject({ ok: true, frame });
  });

  it('the JSON codec reports undecodable server text instead of throwing', () => {
    expect(jsonCodec.decode('{oops')).toMatchObject({ ok: false, code: 'MALFORMED_JSON' });
    expect(jsonCodec.decode('{"action":"brand_new","data":{}}')).toMatchObject({ ok: false, code: 'UNKNOWN_ACTION' });
  });
});

describe('stats maps', () => {
  it('keeps the keys of by_instance / by_role / by_device_type as they are (they are ids, not field names)', async () => {
    const { serverFrame } = await import('@anmei/protocol');
    const { toUiFrame } = await import('../src/message-adapter.ts');
    const ui = toUiFrame(
      serverFrame('stats', {
        online_users: 1,
        connections: 1,
        by_device_type: { mobile: 1 },
        by_role: { customer: 1 },
        by_instance: { api_eu_1: 1 },
        instance_id: 'api_eu_1',
        messages_per_second: 0,
        broadcast_latency_ms: { p50: 0, p99: 0 },
        push: { sent: 0, failed: 0, success_rate: null },
      }),
    );
    expect(ui.data).toMatchObject({
      byInstance: { api_eu_1: 1 },
      instanceId: 'api_eu_1',
      broadcastLatencyMs: { p50: 0 },
    });
  });
});
