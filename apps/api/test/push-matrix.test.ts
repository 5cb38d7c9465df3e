/**
 * The push policy as a matrix over real sockets (issue #14): for each method and each state of
 * the recipient (offline, online on a phone, online on a desktop only), who gets the live frame
 * and which of their registered devices (Android via FCM, iPhone via APNs, a browser via Web
 * Push) get a push. Device provider doubles record the pushes (they stand in for the push
 * services; their own protocols are tested against real-protocol doubles elsewhere).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationProvider, PushNotification, PushResult } from '../src/notifications/types.ts';
import { barrier } from './support/barrier.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';
import type { TestSocket } from './support/test-socket.ts';
import { eventually } from './support/wait.ts';

/** Records every push it is given, by the device it names. */
class DeviceProviderDouble implements NotificationProvider {
  readonly addresses = 'devices' as const;
  readonly pushes: PushNotification[] = [];
  constructor(readonly name: 'fcm' | 'apns' | 'webpush') {}
  async send(notification: PushNotification): Promise<PushResult> {
    this.pushes.push(notification);
    return { ok: true };
  }
  async close(): Promise<void> {}
}

const doubles = [
  new DeviceProviderDouble('fcm'),
  new DeviceProviderDouble('apns'),
  new DeviceProviderDouble('webpush'),
];
let app: TestApp;
/** Device label (e.g. "customer android") by device id. */
const labels = new Map<string, string>();

beforeAll(async () => {
  app = await startTestApp(
    { PUSH_POLL_INTERVAL: '20', WEB_PUSH_ALLOWED_HOSTS: 'push.example.com' },
    { notificationProviders: doubles },
  );
  const register = async (username: string, label: string, body: Record<string, unknown>) => {
    const { token } = await app.login(username);
    const res = await app.http('POST', '/api/v1/devices', { token, body });
    expect(res.status).toBe(201);
    labels.set(res.body.device.id, `${username} ${label}`);
  };
  const endpoint = () => `https://push.example.com/${randomUUID()}`;
  const keys = { p256dh: `B${'A'.repeat(86)}`, auth: 'A'.repeat(22) };
  await register('customer_456', 'android', {
    platform: 'android',
    device_type: 'mobile',
    fcm_token: `c-${randomUUID()}`,
  });
  await register('customer_456', 'browser', {
    platform: 'web',
    device_type: 'desktop',
    web_push: { endpoint: endpoint(), keys },
  });
  await register('doctor_001', 'iphone', { platform: 'ios', device_type: 'mobile', apns_token: 'ab'.repeat(32) });
  await register('doctor_001', 'browser', {
    platform: 'web',
    device_type: 'desktop',
    web_push: { endpoint: endpoint(), keys },
  });
});
afterAll(async () => {
  await app.close();
});

type State = 'offline' | 'phone' | 'desktop';

/** Connects `username` as the state says; returns its sockets (none when offline). */
async function put(username: string, state: State): Promise<TestSocket[]> {
  if (state === 'offline') return [];
  return [await app.connect(username, { deviceType: state === 'phone' ? 'mobile' : 'desktop' })];
}

/** Runs `act` and returns the devices that got a push with `content`, once the queue is idle. */
async function pushedDevices(content: string, act: () => Promise<unknown>): Promise<string[]> {
  await act();
  await eventually(
    () => app.built.ctx.store.pushJobs.counts(),
    (c) => c.pending === 0,
    `the push queue to be idle after "${content}"`,
  );
  const store = app.built.ctx.store;
  const devices: string[] = [];
  for (const double of doubles) {
    for (const p of double.pushes.filter((x) => x.content === content)) {
      const id = (p.idempotencyKey ?? '').split(':').pop() ?? '';
      devices.push(labels.get(id) ?? `unknown ${double.name}`);
      expect(await store.devices.find(id)).toMatchObject({ provider: double.name });
    }
  }
  return devices.sort();
}

async function closeAll(sockets: TestSocket[]) {
  await Promise.all(sockets.map((s) => s.close()));
  await eventually(
    async () => app.built.ctx.local.size,
    (n) => n === 0,
    'every socket to be unregistered',
  );
}

const asConsultant = async (content: string) => {
  const { token } = await app.login('consultant_001');
  await app.http('POST', `/api/v1/chat/${app.conversationId(FACIAL)}/send`, { token, body: { content } });
};

describe('consultation reply (consultant → customer, doctor)', () => {
  it.each([
    ['offline', ['customer_456 android', 'customer_456 browser', 'doctor_001 browser', 'doctor_001 iphone']],
    ['phone', ['doctor_001 browser', 'doctor_001 iphone']],
    ['desktop', ['doctor_001 browser', 'doctor_001 iphone']],
  ] as const)(
    'customer %s: live frame if online, pushes to every device of whoever is offline',
    async (state, expected) => {
      const sockets = await put('customer_456', state);
      const content = `回复 ${state} ${randomUUID()}`;
      expect(await pushedDevices(content, () => asConsultant(content))).toEqual(expected);
      for (const s of sockets) await s.waitFor('consultation_reply', { where: (f) => f.data.content === content });
      await closeAll(sockets);
    },
  );
});

describe('mobile-only notice (admin → every participant)', () => {
  it.each([
    ['offline', ['customer_456 android', 'doctor_001 iphone']],
    ['phone', ['doctor_001 iphone']],
    ['desktop', ['customer_456 android', 'doctor_001 iphone']],
  ] as const)(
    'customer %s: frame on a phone only; pushes to the mobile devices of whoever has no phone online',
    async (state, expected) => {
      const sockets = await put('customer_456', state);
      const title = `提醒 ${state} ${randomUUID()}`;
      const { token } = await app.login('admin');
      const devices = await pushedDevices(title, () =>
        app.http('POST', '/api/v1/admin/mobile-notifications', {
          token,
          body: { conversation_id: app.conversationId(FACIAL), title, content: title },
        }),
      );
      expect(devices).toEqual(expected);
      if (state === 'phone') await sockets[0]?.waitFor('mobile_notification', { where: (f) => f.data.title === title });
      if (state === 'desktop') {
        await barrier(app, sockets);
        expect(sockets[0]?.all('mobile_notification')).toEqual([]);
      }
      await closeAll(sockets);
    },
  );
});

describe('direct message (admin → customer)', () => {
  it.each([
    ['offline', ['customer_456 android', 'customer_456 browser']],
    ['phone', []],
    ['desktop', []],
  ] as const)('customer %s: frame on every connected device, else pushes to every device', async (state, expected) => {
    const sockets = await put('customer_456', state);
    const content = `私信 ${state} ${randomUUID()}`;
    const { token } = await app.login('admin');
    const devices = await pushedDevices(content, () =>
      app.http('POST', '/api/v1/admin/direct-messages', {
        token,
        body: { user_id: app.userId('customer_456'), content },
      }),
    );
    expect(devices).toEqual(expected);
    for (const s of sockets) await s.waitFor('direct_message', { where: (f) => f.data.content === content });
    await closeAll(sockets);
  });
});

describe("customer's message (customer → consultant, doctor)", () => {
  it.each([
    ['offline', ['doctor_001 browser', 'doctor_001 iphone']],
    ['desktop', []],
  ] as const)(
    'doctor %s (consultant offline): the staff get pushes only when none of them is online',
    async (state, expected) => {
      const sockets = await put('doctor_001', state);
      const content = `咨询 ${state} ${randomUUID()}`;
      const { token } = await app.login('customer_456');
      const devices = await pushedDevices(content, () =>
        app.http('POST', `/api/v1/chat/${app.conversationId(FACIAL)}/send`, { token, body: { content } }),
      );
      expect(devices).toEqual(expected);
      await closeAll(sockets);
    },
  );
});

describe('typing, read receipts and system notices', () => {
  it('never push, whoever is offline', async () => {
    const title = `维护 ${randomUUID()}`;
    const { token } = await app.login('admin');
    const devices = await pushedDevices(title, () =>
      app.http('POST', '/api/v1/admin/notifications', {
        token,
        body: { conversation_id: app.conversationId(FACIAL), title, message: title },
      }),
    );
    expect(devices).toEqual([]);
  });
});
