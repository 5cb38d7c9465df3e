/** Against the real API: after a dropped connection the client gets exactly what it missed, once, in order. */
import { expect, it } from 'vitest';
import type { ChatMessage } from '../src/index.ts';
import { clientFor, disposeClients, FACIAL, startTestApp, useTestApp, wsOrigin } from './support/real-api.ts';
import { until } from './support/wait.ts';

// Resume tickets off: the test holds the reconnect in getToken, which a resume ticket would skip.
const app = useTestApp({ WS_RESUME_TICKET_TTL: '0' });

async function sendAs(username: string, conversationId: string, content: string): Promise<number> {
  const { token } = await app.login(username);
  const res = await app.http('POST', `/api/v1/chat/${conversationId}/send`, { token, body: { content } });
  return res.body.seq as number;
}

it('replays the messages sent while it was away, then continues live, each exactly once and in seq order', async () => {
  const conversationId = app.conversationId(FACIAL);
  let gate: Promise<void> = Promise.resolve();
  const { client } = clientFor(app, 'customer_456', {
    url: wsOrigin(app),
    reconnectInterval: 1,
    getToken: async () => {
      await gate; // the test holds the reconnect here while it sends what the client will miss
      return (await app.login('customer_456')).token;
    },
  });
  const received: number[] = [];
  client.on('new_message', (frame) => {
    received.push((frame.data as ChatMessage).seq);
  });
  client.on('consultation_reply', (frame) => {
    const seq = frame.data.message?.seq;
    if (seq !== undefined) received.push(seq);
  });
  client.connect();
  await until(() => client.state.status === 'open', 'first connection');
  const start = await sendAs('doctor_001', conversationId, 'live before the drop');
  await until(() => received.includes(start), 'the first live message');

  // Drop the connection from the server side and keep the client from coming back yet.
  let release!: () => void;
  gate = new Promise((resolve) => {
    release = resolve;
  });
  for (const connection of app.built.ctx.local.ofUser(app.userId('customer_456'))) connection.socket.terminate();
  await until(() => client.state.status !== 'open', 'the drop to be noticed');
  const missed: number[] = [];
  for (let i = 0; i < 8; i++) missed.push(await sendAs('consultant_001', conversationId, `missed ${i}`));
  release();
  await until(() => client.state.status === 'open', 'the reconnect');
  const after = await sendAs('consultant_001', conversationId, 'live after the reconnect');
  await until(
    () => received.includes(after),
    'the live message after the reconnect',
    5_000,
    () => `got ${received}`,
  );

  expect(received).toEqual(Array.from({ length: after - start + 1 }, (_, i) => start + i));
  expect(missed).toEqual(Array.from({ length: 8 }, (_, i) => start + 1 + i));
  const stats = client.deliveryStats()!;
  expect(stats.replayed).toBeGreaterThanOrEqual(8);
  expect(stats.duplicates).toBe(0);
});

it('after an absence longer than RESUME_WINDOW gets a reload notice, and reloading over HTTP gives the full history', async () => {
  const small = await startTestApp({ RESUME_WINDOW: '5' });
  try {
    const conversationId = small.conversationId(FACIAL);
    const { client } = clientFor(small, 'customer_456');
    const reloads: Array<string | null> = [];
    client.onEvent('reload', ({ conversationId: id }) => {
      reloads.push(id);
    });
    client.connect();
    await until(() => client.state.status === 'open', 'first connection');
    const { token } = await small.login('customer_456');
    const start = (await small.http('GET', `/api/v1/chat/${conversationId}/messages`, { token })).body
      .messages as Array<{ seq: number }>;
    client.track(conversationId, { lastSeq: start.at(-1)?.seq ?? 0 });

    client.disconnect();
    const { token: consultant } = await small.login('consultant_001');
    for (let i = 0; i < 8; i++) {
      await small.http('POST', `/api/v1/chat/${conversationId}/send`, {
        token: consultant,
        body: { content: `away ${i}` },
      });
    }
    client.connect();
    await until(() => reloads.length === 1, 'the reload notice');
    expect(reloads).toEqual([conversationId]);
    expect(client.deliveryStats()).toMatchObject({ reloads: 1, replayed: 0 });

    // What an app does on `reload`: load history over HTTP and track from there.
    const history = (await small.http('GET', `/api/v1/chat/${conversationId}/messages?limit=200`, { token })).body
      .messages as Array<{ seq: number; content: string }>;
    expect(history.filter((m) => m.content.startsWith('away ')).map((m) => m.content)).toEqual(
      Array.from({ length: 8 }, (_, i) => `away ${i}`),
    );
    client.track(conversationId, { lastSeq: history.at(-1)!.seq });
    // From there, live delivery continues in order.
    const live: number[] = [];
    client.on('consultation_reply', (f) => {
      if (f.data.message) live.push(f.data.message.seq);
    });
    const next = await small.http('POST', `/api/v1/chat/${conversationId}/send`, {
      token: consultant,
      body: { content: 'back' },
    });
    await until(() => live.includes(next.body.seq), 'the next live message');
    expect(next.body.seq).toBe(history.at(-1)!.seq + 1);
  } finally {
    disposeClients();
    await small.close();
  }
});
