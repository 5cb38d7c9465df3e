/** Bad input on an open socket gets a catalogued error frame or close code; the process keeps serving. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barrier, businessFrames } from './support/barrier.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';
import type { TestSocket } from './support/test-socket.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ WS_MAX_PAYLOAD: '4096' });
});
afterAll(async () => {
  await app.close();
});

/** After each abuse, a different client can still send and get its ack. */
async function expectServerStillServes(): Promise<void> {
  const healthy = await app.connect('consultant_001');
  healthy.send({
    action: 'send_message',
    data: { conversation_id: app.conversationId(FACIAL), client_message_id: randomUUID(), content: 'still here' },
  });
  await healthy.waitFor('ack');
  await healthy.close();
}

async function errorFor(socket: TestSocket, frame: unknown) {
  const before = socket.all('error').length;
  socket.send(frame);
  const errors = await socket.waitFor('error', { count: before + 1 });
  return errors[before]!.data;
}

describe('invalid frames', () => {
  it('answers malformed JSON with MALFORMED_JSON and keeps the socket open', async () => {
    const socket = await app.connect('customer_456');
    expect(await errorFor(socket, '{"action": "send_message", ')).toMatchObject({
      code: 'MALFORMED_JSON',
      request_id: null,
    });
    expect(socket.closed).toBeNull();
    await expectServerStillServes();
    await socket.close();
  });

  it('answers an unknown action with UNKNOWN_ACTION, echoing the request_id', async () => {
    const socket = await app.connect('customer_456');
    expect(await errorFor(socket, { action: 'delete_everything', request_id: 'q1', data: {} })).toEqual({
      code: 'UNKNOWN_ACTION',
      message: 'Unknown client action "delete_everything".',
      request_id: 'q1',
    });
    await socket.close();
  });

  it('answers wrong field types with INVALID_FRAME listing where the frame is wrong', async () => {
    const socket = await app.connect('customer_456');
    const error = await errorFor(socket, {
      action: 'send_message',
      request_id: 'q2',
      data: { conversation_id: 42, client_message_id: 'c1', content: true },
    });
    expect(error.code).toBe('INVALID_FRAME');
    expect(error.request_id).toBe('q2');
    expect(error.issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^data\.conversation_id: /),
        expect.stringMatching(/^data\.content: /),
      ]),
    );
    await socket.close();
  });

  it('answers a binary frame with BINARY_FRAME_UNSUPPORTED', async () => {
    const socket = await app.connect('customer_456');
    const before = socket.all('error').length;
    socket.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const [error] = (await socket.waitFor('error', { count: before + 1 })).slice(before);
    expect(error?.data.code).toBe('BINARY_FRAME_UNSUPPORTED');
    await socket.close();
  });

  it('counts binary frames as invalid frames: the 11th within 10 s closes with 4008 after its error', async () => {
    const socket = await app.connect('customer_456');
    for (let i = 0; i < 11; i++) socket.ws.send(Buffer.from([i]), { binary: true });
    expect(await socket.waitForClose()).toEqual({ code: 4008, reason: 'too many invalid frames' });
    expect(socket.all('error').map((e) => e.data.code)).toEqual(Array(11).fill('BINARY_FRAME_UNSUPPORTED'));
  });

  it('closes with 1007 and no error frame when a text frame is not valid UTF-8, and unregisters the socket', async () => {
    const socket = await app.connect('customer_456');
    const connectionId = socket.all('connected')[0]?.data.connection_id;
    // A text frame (opcode 1) whose payload is not UTF-8: 0xff never occurs in UTF-8.
    socket.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await socket.waitForClose()).code).toBe(1007);
    expect(socket.all('error')).toEqual([]);
    const cleanup = await app.logs.waitFor(
      (r) => r.msg === 'websocket disconnected' && r.connectionId === connectionId,
      'cleanup of the socket',
    );
    expect(cleanup.code).toBe(1007);
    expect(app.built.ctx.local.get(connectionId ?? '')).toBeUndefined();
    await expectServerStillServes();
  });

  it('answers a message to a conversation the user is not in with NOT_PARTICIPANT and stores nothing', async () => {
    const socket = await app.connect('customer_789');
    const consultant = await app.connect('consultant_001');
    const conversationId = app.conversationId(FACIAL);
    const before = await app.built.ctx.store.messages.history(conversationId, { limit: 200 });
    const error = await errorFor(socket, {
      action: 'send_message',
      request_id: 'q3',
      data: { conversation_id: conversationId, client_message_id: randomUUID(), content: '我能进来吗' },
    });
    expect(error).toMatchObject({ code: 'NOT_PARTICIPANT', request_id: 'q3' });
    expect(await app.built.ctx.store.messages.history(conversationId, { limit: 200 })).toHaveLength(before.length);
    await barrier(app, [consultant]);
    expect(businessFrames(consultant)).toEqual([]);
    await Promise.all([socket.close(), consultant.close()]);
  });

  it('closes the socket with 1009 when a frame exceeds WS_MAX_PAYLOAD', async () => {
    const socket = await app.connect('customer_456');
    socket.send({ action: 'ping', data: { ts: 1 }, padding: 'x'.repeat(5000) });
    expect((await socket.waitForClose()).code).toBe(1009);
    await expectServerStillServes();
  });

  it('closes the socket with 4008 after more than 10 invalid frames in 10 s', async () => {
    const socket = await app.connect('customer_456');
    for (let i = 0; i < 11; i++) socket.send('not json');
    const closed = await socket.waitForClose();
    expect(closed).toEqual({ code: 4008, reason: 'too many invalid frames' });
    expect(socket.all('error')).toHaveLength(11);
    await expectServerStillServes();
  });
});

describe('answers keep frame order', () => {
  // Regression (issue #15): the MALFORMED_JSON error, which has no request_id, overtook the acks of
  // the sends before it (10 of 10 tries), so a client could not tell which frame it answered.
  it('answers send_message x3, a non-JSON frame and ping with 3 acks, then MALFORMED_JSON, then pong (10 tries)', async () => {
    const conversationId = app.conversationId(FACIAL);
    for (let attempt = 0; attempt < 10; attempt++) {
      const socket = await app.connect('customer_456');
      for (const request of ['s1', 's2', 's3']) {
        socket.send({
          action: 'send_message',
          request_id: request,
          data: { conversation_id: conversationId, client_message_id: randomUUID(), content: `order ${request}` },
        });
      }
      socket.send('this is not JSON');
      socket.send({ action: 'ping', data: { ts: attempt } });
      await socket.waitFor('pong');
      const answers = socket.frames
        .filter((f) => f.action === 'ack' || f.action === 'error' || f.action === 'pong')
        .map((f) => (f.action === 'ack' ? `ack ${f.data.request_id}` : f.action === 'error' ? f.data.code : 'pong'));
      expect(answers, `attempt ${attempt + 1}`).toEqual(['ack s1', 'ack s2', 'ack s3', 'MALFORMED_JSON', 'pong']);
      await socket.close();
    }
  });
});

describe('valid frames', () => {
  it('answers ping with pong echoing ts', async () => {
    const socket = await app.connect('customer_456');
    socket.send({ action: 'ping', data: { ts: 12345 } });
    const [pong] = await socket.waitFor('pong');
    expect(pong?.data.ts).toBe(12345);
    expect(Number.isNaN(Date.parse(pong?.data.server_time ?? ''))).toBe(false);
    await socket.close();
  });

  it('acks send_message with id and seq; resending the same client_message_id is acked as a duplicate and delivered once', async () => {
    const sender = await app.connect('customer_456');
    const receiver = await app.connect('consultant_001');
    const conversationId = app.conversationId(FACIAL);
    const frame = {
      action: 'send_message',
      data: { conversation_id: conversationId, client_message_id: randomUUID(), content: '重复发送测试' },
    };
    sender.send({ ...frame, request_id: 'first' });
    sender.send({ ...frame, request_id: 'second' });
    const [first, second] = await sender.waitFor('ack', { count: 2 });
    expect(first?.data).toMatchObject({ request_id: 'first', duplicate: false });
    expect(second?.data).toMatchObject({
      request_id: 'second',
      duplicate: true,
      message_id: first?.data.message_id,
      seq: first?.data.seq,
    });
    await barrier(app, [receiver]);
    expect(receiver.all('new_message').filter((f) => f.data.content === '重复发送测试')).toHaveLength(1);
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('stores two quick sends from one client in the order they were sent', async () => {
    const sender = await app.connect('customer_456');
    const conversationId = app.conversationId(FACIAL);
    for (const content of ['first', 'second', 'third']) {
      sender.send({
        action: 'send_message',
        request_id: content,
        data: { conversation_id: conversationId, client_message_id: randomUUID(), content },
      });
    }
    const acks = await sender.waitFor('ack', { count: 3 });
    expect(acks.map((a) => a.data.request_id)).toEqual(['first', 'second', 'third']);
    const seqs = acks.map((a) => a.data.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    await sender.close();
  });
});
