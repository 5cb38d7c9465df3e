/**
 * The push device registry over real HTTP: register (idempotent per token, moved to the user
 * who registers it next), list, remove; bad bodies answered 400 with what to fix; the token is
 * never sent back or logged.
 */
import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.ts';

let app: TestApp;
const tokens = new Map<string, string>();

beforeAll(async () => {
  // The test's subscriptions point at push.example.com (a Web Push endpoint must be on an allowed host).
  app = await startTestApp({ WEB_PUSH_ALLOWED_HOSTS: 'push.example.com' });
});
afterAll(async () => {
  await app.close();
});

async function tokenOf(username: string): Promise<string> {
  const known = tokens.get(username);
  if (known) return known;
  const { token } = await app.login(username);
  tokens.set(username, token);
  return token;
}

const fcmToken = () => `fcm:${randomBytes(24).toString('base64url')}`;
const apnsToken = () => randomBytes(32).toString('hex');

/** A subscription as a browser's PushManager makes it. */
function webPushSubscription(endpoint = `https://push.example.com/send/${randomBytes(12).toString('hex')}`) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    endpoint,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') },
  };
}

async function register(username: string, body: unknown) {
  return app.http('POST', '/api/v1/devices', { token: await tokenOf(username), body });
}

async function listed(username: string) {
  const res = await app.http('GET', '/api/v1/devices', { token: await tokenOf(username) });
  expect(res.status).toBe(200);
  return res.body.devices as Array<{ id: string; provider: string; platform: string; token_hint: string }>;
}

describe('POST /api/v1/devices', () => {
  it('registers an Android FCM token (201), and the same token again updates the same device (200)', async () => {
    const token = fcmToken();
    const first = await register('customer_456', { platform: 'android', device_type: 'mobile', fcm_token: token });
    expect(first.status).toBe(201);
    expect(first.body.device).toMatchObject({
      platform: 'android',
      device_type: 'mobile',
      provider: 'fcm',
      token_hint: token.slice(-6),
    });
    const again = await register('customer_456', { platform: 'android', device_type: 'tablet', fcm_token: token });
    expect(again.status).toBe(200);
    expect(again.body.device).toMatchObject({ id: first.body.device.id, device_type: 'tablet' });
    expect((await listed('customer_456')).filter((d) => d.id === first.body.device.id)).toHaveLength(1);
    // The token itself never comes back.
    expect(JSON.stringify(first.body)).not.toContain(token);
  });

  it('registers an iOS APNs token and a browser Web Push subscription', async () => {
    const ios = await register('customer_789', { platform: 'ios', device_type: 'mobile', apns_token: apnsToken() });
    expect(ios.status).toBe(201);
    expect(ios.body.device.provider).toBe('apns');
    // Exactly what a browser's PushSubscription.toJSON() gives, expirationTime included.
    const web = await register('customer_789', {
      platform: 'web',
      device_type: 'desktop',
      web_push: { ...webPushSubscription(), expirationTime: null },
    });
    expect(web.status).toBe(201);
    expect(web.body.device.provider).toBe('webpush');
    expect((await listed('customer_789')).map((d) => d.provider)).toEqual(expect.arrayContaining(['apns', 'webpush']));
  });

  it('moves a token registered by a second user to that user', async () => {
    const token = apnsToken();
    const first = await register('consultant_001', { platform: 'ios', device_type: 'mobile', apns_token: token });
    // The same device token, spelled in upper case by another app build, is the same device.
    const moved = await register('doctor_001', {
      platform: 'ios',
      device_type: 'mobile',
      apns_token: token.toUpperCase(),
    });
    expect(moved.status).toBe(200);
    expect(moved.body.device.id).toBe(first.body.device.id);
    expect((await listed('consultant_001')).map((d) => d.id)).not.toContain(first.body.device.id);
    expect((await listed('doctor_001')).map((d) => d.id)).toContain(first.body.device.id);
  });

  it.each([
    [
      'no target',
      { platform: 'android', device_type: 'mobile' },
      'give exactly one of fcm_token, apns_token, web_push',
    ],
    [
      'two targets',
      { platform: 'android', device_type: 'mobile', fcm_token: 'x'.repeat(30), apns_token: 'a'.repeat(64) },
      'give exactly one of fcm_token, apns_token, web_push',
    ],
    [
      'an APNs token on android',
      { platform: 'android', device_type: 'mobile', apns_token: 'a'.repeat(64) },
      'an android device registers an fcm_token',
    ],
    [
      'a short APNs token',
      { platform: 'ios', device_type: 'mobile', apns_token: 'abc' },
      'must be the device token in hex',
    ],
    [
      'a Web Push endpoint over http',
      { platform: 'web', device_type: 'desktop', web_push: { ...webPushSubscription('http://push.example.com/x') } },
      'web_push.endpoint',
    ],
    [
      'an unknown field',
      { platform: 'web', device_type: 'desktop', web_push: webPushSubscription(), name: 'x' },
      'name',
    ],
  ])('answers %s with 400 VALIDATION_FAILED saying what to fix', async (_case, body, says) => {
    const res = await register('customer_456', body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(res.body.issues ?? res.body.detail)).toContain(says);
  });

  it('refuses a Web Push endpoint that is not on an allowed push service (the server would POST to it)', async () => {
    const res = await register('customer_456', {
      platform: 'web',
      device_type: 'desktop',
      web_push: webPushSubscription('https://169.254.169.254.example.net/latest/meta-data'),
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      detail:
        'web_push.endpoint is not on a known push service (169.254.169.254.example.net); the server accepts push.example.com (WEB_PUSH_ALLOWED_HOSTS).',
    });
    // A subdomain of an allowed host is allowed.
    const sub = await register('customer_456', {
      platform: 'web',
      device_type: 'desktop',
      web_push: webPushSubscription('https://eu.push.example.com/send/abc'),
    });
    expect(sub.status).toBe(201);
  });

  it('answers 401 without a token, before reading the body', async () => {
    const res = await app.http('POST', '/api/v1/devices', { body: '{not json' });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
  });
});

describe('DELETE /api/v1/devices/:id', () => {
  it('removes my own device (204) and answers 404 DEVICE_NOT_FOUND for one that is not mine', async () => {
    const mine = await register('customer_456', { platform: 'android', device_type: 'mobile', fcm_token: fcmToken() });
    const id = mine.body.device.id as string;
    const other = await app.http('DELETE', `/api/v1/devices/${id}`, { token: await tokenOf('customer_789') });
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('DEVICE_NOT_FOUND');
    const removed = await app.http('DELETE', `/api/v1/devices/${id}`, { token: await tokenOf('customer_456') });
    expect(removed.status).toBe(204);
    expect((await listed('customer_456')).map((d) => d.id)).not.toContain(id);
    const again = await app.http('DELETE', `/api/v1/devices/${id}`, { token: await tokenOf('customer_456') });
    expect(again.status).toBe(404);
  });
});

describe('log hygiene', () => {
  it('never logs a registered token or a Web Push endpoint', async () => {
    const token = fcmToken();
    const subscription = webPushSubscription();
    await register('customer_456', { platform: 'android', device_type: 'mobile', fcm_token: token });
    await register('customer_456', { platform: 'web', device_type: 'desktop', web_push: subscription });
    const text = app.logs.text();
    expect(text).not.toContain(token);
    expect(text).not.toContain(subscription.endpoint);
  });
});
