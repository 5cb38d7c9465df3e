/**
 * Pushes through the whole pipeline to the real providers (FCM HTTP v1, APNs over HTTP/2, Web
 * Push), each talking to a local double of its service over real TLS: the devices a user
 * registered over HTTP get the push of a consultant's reply when the user is offline, one per
 * device; a retryable answer is retried after the delay it asked for; a dead token deletes the
 * device. The doubles check each protocol (OAuth grant, ES256 provider token, VAPID, aes128gcm).
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApnsProvider } from '../src/notifications/providers/apns.ts';
import { FcmProvider } from '../src/notifications/providers/fcm.ts';
import { generateVapidKeys, WebPushProvider } from '../src/notifications/providers/webpush.ts';
import { ApnsDouble, makeApnsKey } from './support/apns-double.ts';
import { FcmDouble } from './support/fcm-double.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';
import { makeTestTls } from './support/test-tls.ts';
import { eventually } from './support/wait.ts';
import { WebPushDouble } from './support/webpush-double.ts';

const PROJECT_ID = 'anmei-e2e';
const CLIENT_EMAIL = 'push@anmei-e2e.iam.gserviceaccount.com';
const APNS = { keyId: 'ABC123DEFG', teamId: 'DEF123GHIJ', topic: 'com.anmei.smart' };

let app: TestApp;
let fcm: FcmDouble;
let apns: ApnsDouble;
let webPush: WebPushDouble;

beforeAll(async () => {
  const tls = await makeTestTls();
  const serviceKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  fcm = await FcmDouble.start({
    tls,
    publicKey: serviceKey.publicKey,
    clientEmail: CLIENT_EMAIL,
    projectId: PROJECT_ID,
  });
  const apnsKey = makeApnsKey();
  apns = await ApnsDouble.start({ publicKey: apnsKey.publicKey, ...APNS });
  webPush = await WebPushDouble.start();
  const vapid = generateVapidKeys();
  app = await startTestApp(
    // The Web Push double listens on 127.0.0.1, which is no known push service.
    { PUSH_POLL_INTERVAL: '50', PUSH_RETRY_BASE: '50', WEB_PUSH_ALLOWED_HOSTS: '127.0.0.1' },
    {
      notificationProviders: [
        new FcmProvider({
          credentials: {
            project_id: PROJECT_ID,
            client_email: CLIENT_EMAIL,
            private_key: serviceKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
            token_uri: fcm.tokenUri,
          },
          baseUrl: fcm.baseUrl,
          ca: tls.ca,
        }),
        new ApnsProvider({ key: apnsKey.pem, ...APNS, host: apns.url, ca: apns.ca }),
        new WebPushProvider({ vapid: { ...vapid, subject: 'mailto:ops@clinic.example' }, ca: webPush.ca }),
      ],
    },
  );
});
afterAll(async () => {
  await app?.close();
  await Promise.all([fcm?.stop(), apns?.stop(), webPush?.stop()]);
});

async function registerDevice(username: string, body: Record<string, unknown>): Promise<string> {
  const { token } = await app.login(username);
  const res = await app.http('POST', '/api/v1/devices', { token, body });
  expect(res.status).toBe(201);
  return res.body.device.id as string;
}

async function reply(content: string) {
  const { token } = await app.login('consultant_001');
  const res = await app.http('POST', `/api/v1/chat/${app.conversationId(FACIAL)}/send`, {
    token,
    body: { content },
  });
  expect(res.status).toBe(200);
}

const fcmToken = () => `doctor-android:${randomBytes(16).toString('hex')}`;

describe('a consultant reply to an offline doctor with three devices', () => {
  it('reaches the Android phone through FCM, the iPhone through APNs and the browser through Web Push, once each', async () => {
    const android = fcmToken();
    const iphone = randomBytes(32).toString('hex');
    const browser = webPush.subscribe();
    await registerDevice('doctor_001', { platform: 'android', device_type: 'mobile', fcm_token: android });
    await registerDevice('doctor_001', { platform: 'ios', device_type: 'mobile', apns_token: iphone });
    await registerDevice('doctor_001', { platform: 'web', device_type: 'desktop', web_push: browser.subscription });
    // The customer is online: no push for her, although she has a phone registered.
    const customerPhone = fcmToken();
    await registerDevice('customer_456', { platform: 'android', device_type: 'mobile', fcm_token: customerPhone });
    const customer = await app.connect('customer_456', { deviceType: 'mobile' });

    const content = `术后第三天可以洗脸 ${randomUUID()}`;
    await reply(content);
    await customer.waitFor('consultation_reply', { where: (f) => f.data.content === content });

    await fcm.until(
      () => fcm.messages.some((m) => m.message.token === android),
      'the FCM message for the Android phone',
    );
    const android1 = fcm.messages.filter((m) => m.message.token === android);
    expect(android1).toHaveLength(1);
    expect(android1[0]?.message).toMatchObject({
      notification: { title: '顾问回复', body: content },
      android: { priority: 'high' },
    });
    await apns.until(() => apns.pushes.some((p) => p.deviceToken === iphone), 'the APNs push for the iPhone');
    const iphone1 = apns.pushes.filter((p) => p.deviceToken === iphone);
    expect(iphone1).toHaveLength(1);
    expect(iphone1[0]?.headers['apns-priority']).toBe('10');
    expect(iphone1[0]?.body).toMatchObject({ aps: { alert: { title: '顾问回复', body: content } } });
    await webPush.until((d) => d.some((x) => x.path === browser.path), 'the Web Push delivery for the browser');
    const plaintext = JSON.parse(webPush.last(browser.path).plaintext ?? '{}');
    expect(plaintext).toMatchObject({ title: '顾问回复', body: content });
    expect(fcm.messages.filter((m) => m.message.token === customerPhone)).toEqual([]);
    await customer.close();
  });

  it('retries a push the service throttled after the delay it asked for (429 with Retry-After)', async () => {
    const token = fcmToken();
    const deviceId = await registerDevice('doctor_001', {
      platform: 'android',
      device_type: 'tablet',
      fcm_token: token,
    });
    fcm.retryAfter = '1';
    fcm.script(token, 'quota');
    const content = `稍后重试 ${randomUUID()}`;
    await reply(content);
    await fcm.until(
      () => fcm.messages.filter((m) => m.message.token === token).length >= 2,
      'the throttled push to be sent again',
    );
    const [throttled, retried] = fcm.messages.filter((m) => m.message.token === token);
    // Retry-After: 1 → not before 1 s (the double stamps each message when it arrives).
    expect((retried?.receivedAt ?? 0) - (throttled?.receivedAt ?? 0)).toBeGreaterThanOrEqual(1_000);
    // Throttling is not the device's fault: it stays registered.
    expect(await app.built.ctx.store.devices.find(deviceId)).not.toBeNull();
    expect((await app.built.ctx.figures.push()).byProvider.fcm?.retryable).toBeGreaterThanOrEqual(1);
  });

  it('deletes a device whose token FCM reports as unregistered, and sends to it no more', async () => {
    const token = fcmToken();
    const deviceId = await registerDevice('doctor_001', {
      platform: 'android',
      device_type: 'mobile',
      fcm_token: token,
    });
    fcm.script(token, 'unregistered');
    await reply(`卸载了 ${randomUUID()}`);
    await eventually(
      () => app.built.ctx.store.devices.find(deviceId),
      (device) => device === null,
      'the unregistered device to be deleted',
    );
    const sent = fcm.messages.filter((m) => m.message.token === token).length;
    const content = `再发一条 ${randomUUID()}`;
    await reply(content);
    // The next reply reaches the doctor's other Android phone (registered in the first test) …
    await fcm.until(() => fcm.messages.some((m) => m.message.notification?.body === content), 'the next reply');
    // … and not the deleted one.
    expect(fcm.messages.filter((m) => m.message.token === token)).toHaveLength(sent);
  });
});

describe('a device that changed hands', () => {
  it("gets none of the previous owner's pending pushes", async () => {
    const token = fcmToken();
    const deviceId = await registerDevice('doctor_001', {
      platform: 'android',
      device_type: 'mobile',
      fcm_token: token,
    });
    const store = app.built.ctx.store;
    const doctor = app.userId('doctor_001');
    // The doctor's decision was made while the phone was hers; then the phone is logged in by
    // another user (the same token registers again: 200, moved) before the send runs.
    const decisionId = `test:${randomUUID()}`;
    await store.pushJobs.enqueue(decisionId, {
      reason: 'direct_message',
      userId: doctor,
      notification: { title: '私信', content: `换手 ${randomUUID()}`, priority: 'normal', deviceType: 'mobile' },
    });
    const claimed = await eventually(
      async () => (await store.pushJobs.claim(1_000, 60_000)).find((j) => j.id === decisionId),
      (job) => job !== undefined,
      'the test decision to be claimable',
    );
    if (!claimed) throw new Error('decision not claimed');
    const { token: customerToken } = await app.login('customer_789');
    const moved = await app.http('POST', '/api/v1/devices', {
      token: customerToken,
      body: { platform: 'android', device_type: 'mobile', fcm_token: token },
    });
    expect(moved.status).toBe(200);
    await store.pushJobs.completeDecision(claimed, [
      { userId: doctor, deviceId, provider: 'fcm', notification: claimed.notification },
    ]);
    app.built.ctx.pushes.nudge();
    const sendId = `${decisionId}:${doctor}:${deviceId}`;
    const finished = await eventually(
      () => store.pushJobs.find(sendId),
      (job) => job !== null && job.state !== 'pending',
      'the send to the moved device to finish',
    );
    expect(finished).toMatchObject({ state: 'failed', lastError: 'the device now belongs to another user' });
    expect(fcm.messages.filter((m) => m.message.token === token)).toEqual([]);
  });
});
