/**
 * Against the real API: a gap repair whose `resume` the server refuses (here RATE_LIMITED by the
 * per-connection frame rate) is asked for again, so the held frames are not stuck. Regression
 * for the chaos run where a device held 248 of 501 messages of one conversation for good: its
 * resume had been refused, and the tracker waited for a `resumed` that never came.
 */
import { expect, it } from 'vitest';
import type WebSocket from 'ws';
import { clientFor, FACIAL, useTestApp } from './support/real-api.ts';
import { nextEvent, until } from './support/wait.ts';

// Three frames at once, then one per second: the test spends the burst on purpose.
const app = useTestApp({ WS_FRAME_RATE: '1', WS_FRAME_BURST: '3' });

interface WireError {
  code: string;
  request_id: string | null;
  retry_after_ms?: number;
}

/** Every `error` frame the server wrote to `socket`, as received. */
function wireErrors(socket: WebSocket): WireError[] {
  const errors: WireError[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { action: string; data: WireError };
    if (frame.action === 'error') errors.push(frame.data);
  });
  return errors;
}

it('repairs a gap whose resume was refused with RATE_LIMITED: every message reaches the app once, in order', async () => {
  const conversationId = app.conversationId(FACIAL);
  const { client, sockets } = clientFor(app, 'customer_456');
  // A replayed message arrives as `new_message`, a live one from a consultant as `consultation_reply`.
  const received: number[] = [];
  client.on('new_message', (frame) => {
    received.push(frame.data.seq);
  });
  client.on('consultation_reply', (frame) => {
    if (frame.data.message) received.push(frame.data.message.seq);
  });
  const appErrors: string[] = [];
  client.onEvent('error', (error) => {
    appErrors.push(`${error.code}/${error.serverCode}: ${error.reason}`);
  });
  // The resume sent after `connected` is the first frame of the burst.
  const resumed = nextEvent(client, 'message', (frame) => frame.action === 'resumed');
  client.connect();
  await resumed;
  const errors = wireErrors(sockets.created[0]!);
  const { token: consultant } = await app.login('consultant_001');
  const before = (await app.http('GET', `/api/v1/chat/${conversationId}/messages`, { token: consultant })).body
    .messages as Array<{ seq: number }>;
  const start = before.at(-1)?.seq ?? 0;
  client.track(conversationId, { lastSeq: start });

  // Spend the rest of the burst: four typing frames, at least one refused. From that refusal on
  // the bucket is empty, and it refills one frame per second: the gap repair below comes sooner.
  for (let i = 0; i < 4; i++) expect(client.sendTyping(conversationId, i % 2 === 0)).toBe(true);
  await until(() => errors.length > 0, 'a typing frame refused over WS_FRAME_BURST');
  const typingRefusals = errors.length;
  // The gap: stored but never published (an instance that died between commit and publish),
  // then live messages after it, which the client must hold until the gap is replayed.
  await app.built.ctx.store.messages.append({
    conversationId,
    senderId: app.userId('consultant_001'),
    clientMessageId: null,
    messageType: 'text',
    content: '发布前实例崩溃的消息',
  });
  for (let i = 0; i < 3; i++) {
    await app.http('POST', `/api/v1/chat/${conversationId}/send`, {
      token: consultant,
      body: { content: `后续 ${i}` },
    });
  }
  const want = [start + 1, start + 2, start + 3, start + 4];

  await until(
    () => received.length >= want.length,
    'the gap and the held messages',
    8_000,
    () => `got ${JSON.stringify(received)}, wire errors ${JSON.stringify(errors)}`,
  );
  expect(received).toEqual(want);
  // The repair was refused at least once on the wire, and that refusal was the tracker's own:
  // it names the request and says when to come back, and the app was not told of it.
  const refused = errors.slice(typingRefusals);
  expect(refused.length).toBeGreaterThanOrEqual(1);
  for (const e of refused) {
    expect(e).toMatchObject({ code: 'RATE_LIMITED', request_id: expect.stringMatching(/^resume-\d+$/) });
    expect(e.retry_after_ms).toBeGreaterThan(0);
  }
  // Only the typing refusals reached the app (they answer no request); the resume's did not.
  expect(appErrors).toHaveLength(typingRefusals);
  expect(errors.slice(0, typingRefusals).every((e) => e.request_id === null)).toBe(true);
  // The replay carries the held messages again; those copies are dropped by position.
  const stats = client.deliveryStats()!;
  expect(stats).toMatchObject({ delivered: 4, gapRepairs: 1, resumeRetries: refused.length });
  expect(sockets.created.length).toBe(1);
});
