/**
 * Against the real API: event positions that match what each device receives (no hole that can
 * never fill), and `positions` frames that bring a device to a stream's head when live frames
 * were lost, without a new message or a reconnect (docs/delivery.md, "Trailing gaps").
 */
import { expect, it } from 'vitest';
import type { WebSocketClient } from '../src/index.ts';
import { clientFor, disposeClients, FACIAL, startTestApp, type TestApp, useTestApp } from './support/real-api.ts';
import { until } from './support/wait.ts';

// Default positions interval (60 s): the mixed-events run below is over before any periodic
// check, so every repair it counted would have been asked for by a hole.
const app = useTestApp();

/** Resolves once the async `check` is true (checked every 20 ms); fails naming `what` after `timeoutMs`. */
async function untilAsync(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The conversation's newest positions, from the database. */
async function heads(conversationId: string, testApp = app): Promise<{ lastSeq: number; lastEventSeq: number }> {
  const store = testApp.built.ctx.store;
  const user = testApp.userId('customer_456');
  const all = await store.events.headsOf([user]);
  const c = all.users.get(user)?.conversations.find((x) => x.conversationId === conversationId);
  if (!c) throw new Error(`customer_456 is not in ${conversationId}`);
  return { lastSeq: c.lastSeq, lastEventSeq: c.lastEventSeq };
}

async function openTracking(deviceType: 'desktop' | 'mobile', conversationId: string, testApp = app) {
  const { client, sockets } = clientFor(testApp, 'customer_456', { deviceType });
  const counts = { mobile_notification: 0, read_status: 0, system_notification: 0, consultation_reply: 0 };
  for (const action of Object.keys(counts) as Array<keyof typeof counts>) {
    client.on(action, () => {
      counts[action]++;
    });
  }
  client.connect();
  await until(() => client.state.status === 'open', `${deviceType} open`);
  client.track(conversationId, await heads(conversationId, testApp));
  return { client, sockets, counts };
}

const atHeads = async (client: WebSocketClient, conversationId: string) => {
  const want = await heads(conversationId);
  const have = client.positions(conversationId);
  return have.lastSeq === want.lastSeq && have.lastEventSeq === want.lastEventSeq;
};

it('a desktop and a mobile device never ask to repair a hole among 1,000 mixed events with mobile-only notices and own read receipts', async () => {
  const conversationId = app.conversationId(FACIAL);
  const desktop = await openTracking('desktop', conversationId);
  const mobile = await openTracking('mobile', conversationId);
  const { broadcasting, chat } = app.built.ctx;
  const customer = app.userId('customer_456');
  const consultant = app.userId('consultant_001');
  const sent = { mobileOnly: 0, ownReads: 0, otherReads: 0, notices: 0, messages: 0 };

  // One after another, so live order is position order and any repair would be a hole.
  for (let i = 0; i < 1_000; i++) {
    switch (i % 5) {
      case 0:
        sent.mobileOnly++;
        expect(
          (await broadcasting.sendMobileOnlyNotification(conversationId, { title: `提醒 ${i}`, content: '预约' })).ok,
        ).toBe(true);
        break;
      case 1:
        sent.ownReads++;
        expect((await broadcasting.broadcastReadStatus(conversationId, customer, [], null)).ok).toBe(true);
        break;
      case 2:
        sent.otherReads++;
        expect((await broadcasting.broadcastReadStatus(conversationId, consultant, [], null)).ok).toBe(true);
        break;
      case 3:
        sent.notices++;
        expect(
          (
            await broadcasting.broadcastSystemNotification(conversationId, {
              title: `通知 ${i}`,
              message: '…',
              type: 'info',
            })
          ).ok,
        ).toBe(true);
        break;
      default:
        sent.messages++;
        await chat.send(
          { userId: consultant, role: 'consultant' },
          { conversationId, content: `消息 ${i}`, clientMessageId: `mixed-${i}` },
        );
    }
  }
  for (const [name, device] of Object.entries({ desktop, mobile })) {
    await untilAsync(() => atHeads(device.client, conversationId), `${name} at the conversation's heads`, 10_000);
  }
  const repairs = {
    desktop: desktop.client.deliveryStats()!.gapRepairs,
    mobile: mobile.client.deliveryStats()!.gapRepairs,
  };
  console.log(`1,000 mixed events (${JSON.stringify(sent)}): gap repairs ${JSON.stringify(repairs)}`);
  expect(repairs).toEqual({ desktop: 0, mobile: 0 });
  expect(desktop.counts).toEqual({
    mobile_notification: 0,
    read_status: sent.otherReads,
    system_notification: sent.notices,
    consultation_reply: sent.messages,
  });
  expect(mobile.counts).toEqual({
    mobile_notification: sent.mobileOnly,
    read_status: sent.otherReads,
    system_notification: sent.notices,
    consultation_reply: sent.messages,
  });
  // Nothing needed a new socket.
  expect([desktop.sockets.created.length, mobile.sockets.created.length]).toEqual([1, 1]);
}, 120_000);

it('a message whose live frame was lost reaches a quiet device through the periodic positions check, without a new message or a reconnect', async () => {
  // Positions checked every second: a socket gets its first check 1–2 s after it connected.
  const quick = await startTestApp({ WS_POSITIONS_INTERVAL: '1000' });
  try {
    await lostFrameRecovered(quick);
  } finally {
    disposeClients();
    await quick.close();
  }
});

async function lostFrameRecovered(quick: TestApp): Promise<void> {
  const conversationId = quick.conversationId(FACIAL);
  const desktop = await openTracking('desktop', conversationId, quick);
  const got: string[] = [];
  desktop.client.on('new_message', (frame) => {
    got.push(frame.data.content);
  });
  // Stored, never published: what an instance that dies between its commit and its publish leaves.
  const stored = await quick.built.ctx.store.messages.append({
    conversationId,
    senderId: quick.userId('consultant_001'),
    clientMessageId: null,
    messageType: 'text',
    content: '发布前实例崩溃的消息',
  });
  const started = Date.now();
  await until(() => got.includes('发布前实例崩溃的消息'), 'the lost message through positions', 5_000);
  console.log(`lost live frame recovered by the periodic check after ${Date.now() - started} ms (interval 1000 ms)`);
  expect(stored.status).toBe('created');
  expect(desktop.sockets.created.length).toBe(1);
  expect(desktop.client.deliveryStats()!.gapRepairs).toBe(1);
}
