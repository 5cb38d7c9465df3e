import { describe, expect, it } from 'vitest';
import {
  type DecodeResult,
  decodeServerFrame,
  encodeFrame,
  type MessagePayload,
  ServerAction,
  type ServerDataOf,
  type ServerFrame,
  serverFrame,
} from '../src/index.ts';

const NOW = new Date('2025-03-01T08:30:00.000Z');
const CONV = 'conv_7f3c2a9e-4b1d-4c8e-9f2a-6d5e8b1c0a47';

const message: MessagePayload = {
  id: 'msg_5b2e9c1a-3d4f-4a6b-8c7d-9e0f1a2b3c4d',
  conversation_id: CONV,
  seq: 42,
  sender_id: 'usr_consultant_01',
  sender_role: 'consultant',
  sender_name: '李顾问',
  client_message_id: '0b9d6c8e-2f4a-4e1b-9c3d-5a6b7c8d9e0f',
  message_type: 'text',
  content: '你好，有什么可以帮助您的吗？',
  metadata: null,
  created_at: '2025-03-01T08:29:59.812Z',
};

/** One realistic `data` for every server action; the Record type makes a new action a compile error here. */
const SAMPLES: { [A in ServerAction]: ServerDataOf<A> } = {
  connected: {
    connection_id: 'conn_1a2b3c',
    user_id: 'usr_customer_01',
    role: 'customer',
    device_type: 'mobile',
    connection_type: 'chat',
    heartbeat_interval_ms: 45_000,
    max_payload_bytes: 65_536,
    max_reconnect_attempts: 15,
    user_seq: 0,
    global_seq: 3,
  },
  new_message: message,
  consultation_reply: {
    conversation_id: CONV,
    consultant_id: 'usr_consultant_01',
    content: '你好，有什么可以帮助您的吗？',
    consultant_name: '李顾问',
    reply_type: 'text',
    message,
  },
  typing_status: { conversation_id: CONV, user_id: 'usr_customer_01', is_typing: true },
  read_status: { conversation_id: CONV, user_id: 'usr_customer_01', message_ids: [message.id], last_read_seq: 42 },
  system_notification: {
    conversation_id: null,
    title: '系统维护通知',
    message: '系统将于今晚 23:00 进行维护。',
    type: 'maintenance',
    data: { starts_at: '2025-03-01T15:00:00Z' },
  },
  direct_message: {
    user_id: 'usr_customer_01',
    title: '预约提醒',
    content: '您明天上午 10 点有一个预约。',
    type: 'reminder',
  },
  mobile_notification: {
    conversation_id: CONV,
    title: '新消息',
    content: '李顾问：你好，有什么可以帮助您的吗？',
    action: 'open_conversation',
    priority: 'high',
    data: { conversation_id: CONV },
  },
  pong: { ts: 1_740_817_800_000, server_time: '2025-03-01T08:30:00.000Z' },
  ack: {
    request_id: 'req-0001',
    message_id: message.id,
    conversation_id: CONV,
    seq: 42,
    client_message_id: '0b9d6c8e-2f4a-4e1b-9c3d-5a6b7c8d9e0f',
    duplicate: false,
    created_at: message.created_at,
  },
  error: {
    code: 'INVALID_FRAME',
    message: 'Invalid "send_message" frame: data.content: Too small',
    request_id: 'req-0002',
    issues: ['data.content: Too small'],
  },
  reconnect: { reason: 'server_draining', retry_after_ms: 1830 },
  resumed: {
    request_id: 'resume-1',
    conversations: [{ conversation_id: CONV, status: 'recovered', replayed_messages: 3, replayed_events: 1 }],
    user: { status: 'recovered', replayed: 0 },
    global: { status: 'reload', replayed: 0 },
  },
  stats: {
    online_users: 3,
    connections: 4,
    by_device_type: { mobile: 2, desktop: 2, tablet: 0 },
    by_role: { customer: 2, consultant: 1, doctor: 0, admin: 1 },
    by_instance: { 'api-1': 4 },
    instance_id: 'api-1',
    messages_per_second: 1.5,
    broadcast_latency_ms: { p50: 0.8, p99: 3.2 },
    push: { sent: 5, failed: 0, success_rate: 1 },
  },
  event_skipped: { conversation_id: CONV, event_seq: 4 },
  positions: {
    reason: 'bus_recovered',
    conversations: [{ conversation_id: CONV, last_seq: 12, last_event_seq: 3 }],
    user_seq: 2,
    global_seq: 0,
  },
  presence: {
    request_id: null,
    reason: 'change',
    users: [{ user_id: 'usr_consultant_01', online: true }],
  },
};

function expectOk(result: DecodeResult<ServerFrame>): ServerFrame {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}: ${result.message}`);
  return result.frame;
}

function expectFailure(result: DecodeResult<ServerFrame>) {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.frame)}`);
  return result;
}

const actions = Object.values(ServerAction);

describe('serverFrame', () => {
  it('stamps the frame with the given time in ISO 8601 UTC', () => {
    expect(serverFrame('pong', SAMPLES.pong, NOW)).toEqual({
      action: 'pong',
      data: SAMPLES.pong,
      timestamp: '2025-03-01T08:30:00.000Z',
    });
  });

  it('defaults the timestamp to the current time', () => {
    const before = Date.now();
    const frame = serverFrame('pong', SAMPLES.pong);
    const stamped = Date.parse(frame.timestamp);
    expect(stamped).toBeGreaterThanOrEqual(before);
    expect(stamped).toBeLessThanOrEqual(Date.now());
  });
});

describe('decodeServerFrame', () => {
  it.each(actions)('accepts a "%s" frame built with serverFrame() and round-trips it through encodeFrame', (action) => {
    const frame = serverFrame(action, SAMPLES[action] as never, NOW);
    const decoded = expectOk(decodeServerFrame(encodeFrame(frame)));
    expect(decoded).toEqual(frame);
  });

  it('accepts frames with only the required fields', () => {
    const minimal: Partial<{ [A in ServerAction]: ServerDataOf<A> }> = {
      new_message: { ...message, sender_role: undefined, sender_name: undefined, client_message_id: null },
      consultation_reply: { conversation_id: CONV, consultant_id: 'usr_c', content: '好的', message },
      direct_message: { user_id: 'usr_1', content: '您好' },
      mobile_notification: { conversation_id: CONV, title: '新消息', content: '您好' },
      pong: { server_time: '2025-03-01T08:30:00.000Z' },
      ack: { ...SAMPLES.ack, request_id: null },
      error: { code: 'MALFORMED_JSON', message: 'The frame is not valid JSON.', request_id: null },
    };
    for (const [action, data] of Object.entries(minimal)) {
      const frame = serverFrame(action as ServerAction, data as never, NOW);
      expect(expectOk(decodeServerFrame(encodeFrame(frame)))).toEqual(JSON.parse(encodeFrame(frame)));
    }
  });

  it('refuses a consultation_reply without its message (the message is its position)', () => {
    const { message: _, ...withoutMessage } = SAMPLES.consultation_reply;
    const frame = { action: 'consultation_reply', data: withoutMessage, timestamp: NOW.toISOString() };
    expect(expectFailure(decodeServerFrame(JSON.stringify(frame))).ok).toBe(false);
  });

  it('accepts frames with unknown fields at every level (forward compatibility)', () => {
    const frame = serverFrame('new_message', SAMPLES.new_message, NOW);
    const extended = { ...frame, trace_id: 'abc', data: { ...message, reactions: [], metadata: { width: 10 } } };
    expect(expectOk(decodeServerFrame(JSON.stringify(extended)))).toMatchObject({
      ...frame,
      data: { ...message, metadata: { width: 10 } },
    });

    const reply = serverFrame('consultation_reply', SAMPLES.consultation_reply, NOW);
    const extendedReply = {
      ...reply,
      data: { ...SAMPLES.consultation_reply, urgency: 2, message: { ...message, edited: false } },
    };
    expect(expectOk(decodeServerFrame(JSON.stringify(extendedReply)))).toMatchObject(reply);

    const ack = serverFrame('ack', SAMPLES.ack, NOW);
    const extendedAck = { ...ack, data: { ...SAMPLES.ack, server_instance: 'api-1' } };
    expect(expectOk(decodeServerFrame(JSON.stringify(extendedAck)))).toMatchObject(ack);
  });

  it('rejects unknown actions, naming them', () => {
    const failure = expectFailure(
      decodeServerFrame(JSON.stringify({ action: 'user_presence', data: {}, timestamp: '' })),
    );
    expect(failure.code).toBe('UNKNOWN_ACTION');
    expect(failure.message).toContain('"user_presence"');
  });

  it('rejects client actions and Object.prototype names as unknown server actions', () => {
    for (const action of ['send_message', 'ping', 'toString', '__proto__']) {
      const failure = expectFailure(decodeServerFrame(JSON.stringify({ action, data: {}, timestamp: '' })));
      expect(failure.code).toBe('UNKNOWN_ACTION');
    }
  });

  it('reports MALFORMED_JSON and a missing action like the client decoder', () => {
    expect(expectFailure(decodeServerFrame('{')).code).toBe('MALFORMED_JSON');
    expect(expectFailure(decodeServerFrame('[]')).code).toBe('INVALID_FRAME');
  });

  it('requires the timestamp', () => {
    const { timestamp: _ignored, ...rest } = serverFrame('pong', SAMPLES.pong, NOW);
    const failure = expectFailure(decodeServerFrame(JSON.stringify(rest)));
    expect(failure.code).toBe('INVALID_FRAME');
    expect(failure.issues).toEqual([expect.stringMatching(/^timestamp: /)]);
  });

  it('reports wrong data with its path', () => {
    const frame = serverFrame('new_message', { ...message, seq: 0 }, NOW);
    const failure = expectFailure(decodeServerFrame(encodeFrame(frame)));
    expect(failure.code).toBe('INVALID_FRAME');
    expect(failure.issues).toEqual([expect.stringMatching(/^data\.seq: /)]);

    const ack = JSON.parse(encodeFrame(serverFrame('ack', SAMPLES.ack, NOW)));
    delete ack.data.duplicate;
    expect(expectFailure(decodeServerFrame(JSON.stringify(ack))).issues).toEqual([
      expect.stringMatching(/^data\.duplicate: /),
    ]);
  });

  it('accepts only catalogued error codes in error frames', () => {
    const frame = serverFrame('error', { ...SAMPLES.error, code: 'NOPE' as 'INTERNAL' }, NOW);
    expect(expectFailure(decodeServerFrame(encodeFrame(frame))).issues).toEqual([
      expect.stringMatching(/^data\.code: /),
    ]);
  });
});
