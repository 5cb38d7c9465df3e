/** loadConfig(env) for the push settings: the providers, their credentials, the queue's timings, and secrets never echoed. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { configError } from './support/config-error.ts';

describe('push settings', () => {
  it.each([['logging'], ['webpush']] as const)('NOTIFICATION_PROVIDER=%s', (provider) => {
    expect(loadConfig({ NOTIFICATION_PROVIDER: provider }).notificationProvider).toBe(provider);
  });

  it('NOTIFICATION_PROVIDERS enables several providers, reads firebase as fcm, and refuses logging with webhook', () => {
    const apns = { APNS_KEY_PATH: '/k.p8', APNS_KEY_ID: 'ABCDEFGHIJ', APNS_TEAM_ID: 'KLMNOPQRST', APNS_TOPIC: 'com.a' };
    const all = { ...apns, FIREBASE_CREDENTIALS_PATH: '/f.json' };
    expect(
      loadConfig({ ...all, NOTIFICATION_PROVIDERS: 'logging,firebase,apns,webpush,fcm' }).notificationProviders,
    ).toEqual(['logging', 'fcm', 'apns', 'webpush']);
    expect(loadConfig({ NOTIFICATION_PROVIDER: 'webpush' }).notificationProviders).toEqual(['webpush']);
    expect(configError({ NOTIFICATION_PROVIDERS: 'logging,webhook', PUSH_WEBHOOK_URL: 'http://h/p' }).message).toBe(
      'invalid configuration: NOTIFICATION_PROVIDERS may name logging or webhook, not both (each pushes once per user)',
    );
    expect(configError({ NOTIFICATION_PROVIDERS: 'fcm,sms' }).message).toMatch(
      /^invalid configuration: NOTIFICATION_PROVIDERS="fcm,sms": a comma-separated list of/,
    );
  });

  it('refuses a device provider without its credentials, naming what is missing', () => {
    expect(configError({ NOTIFICATION_PROVIDERS: 'logging,fcm' }).message).toBe(
      'invalid configuration: the fcm provider needs FIREBASE_CREDENTIALS_PATH (the service-account key JSON from the Firebase console)',
    );
    expect(configError({ NOTIFICATION_PROVIDERS: 'apns', APNS_KEY_ID: 'ABCDEFGHIJ' }).message).toBe(
      'invalid configuration: the apns provider needs APNS_KEY_PATH, APNS_TEAM_ID, APNS_TOPIC',
    );
    expect(configError({ VAPID_PUBLIC_KEY: 'abc' }).message).toBe(
      'invalid configuration: set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither (a pair is then generated into DATA_DIR)',
    );
    expect(configError({ VAPID_PRIVATE_KEY: 'x', VAPID_SUBJECT: 'admin@clinic' }).message).toBe(
      'invalid configuration: VAPID_SUBJECT="admin@clinic": a mailto: or https: URL',
    );
  });

  it("reads the device providers' settings", () => {
    const config = loadConfig({
      NOTIFICATION_PROVIDERS: 'fcm,apns,webpush',
      FIREBASE_CREDENTIALS_PATH: '/etc/anmei/firebase.json',
      APNS_KEY_PATH: '/etc/anmei/AuthKey.p8',
      APNS_KEY_ID: 'ABCDEFGHIJ',
      APNS_TEAM_ID: 'KLMNOPQRST',
      APNS_TOPIC: 'com.anmei.app',
      APNS_HOST: 'https://api.sandbox.push.apple.com',
      VAPID_PUBLIC_KEY: 'pub',
      VAPID_PRIVATE_KEY: 'priv',
      VAPID_SUBJECT: 'mailto:ops@clinic.example',
    });
    expect(config).toMatchObject({
      notificationProviders: ['fcm', 'apns', 'webpush'],
      fcm: { baseUrl: 'https://fcm.googleapis.com' },
      apns: {
        keyPath: '/etc/anmei/AuthKey.p8',
        keyId: 'ABCDEFGHIJ',
        teamId: 'KLMNOPQRST',
        topic: 'com.anmei.app',
        host: 'https://api.sandbox.push.apple.com',
      },
      vapid: { publicKey: 'pub', privateKey: 'priv', subject: 'mailto:ops@clinic.example' },
    });
  });

  it('NOTIFICATION_PROVIDER=webhook needs PUSH_WEBHOOK_URL, and says so', () => {
    expect(configError({ NOTIFICATION_PROVIDER: 'webhook' }).message).toBe(
      'invalid configuration: NOTIFICATION_PROVIDER=webhook needs PUSH_WEBHOOK_URL (the http(s) URL pushes are POSTed to)',
    );
    expect(
      loadConfig({ NOTIFICATION_PROVIDER: 'webhook', PUSH_WEBHOOK_URL: 'http://127.0.0.1:9/push' }).push.webhook,
    ).toEqual({ url: 'http://127.0.0.1:9/push', token: undefined });
  });

  it('refuses a push lease shorter than twice the send timeout (a live attempt could be run twice)', () => {
    expect(configError({ PUSH_SEND_TIMEOUT: '10000', PUSH_LEASE: '15000' }).message).toBe(
      'invalid configuration: PUSH_LEASE=15000 must be at least twice PUSH_SEND_TIMEOUT=10000 (ms)',
    );
  });

  it('never echoes PUSH_WEBHOOK_TOKEN in a configuration error', () => {
    expect(configError({ PUSH_WEBHOOK_TOKEN: ''.padEnd(5000, 'x') }).message).toBe(
      'invalid configuration: PUSH_WEBHOOK_TOKEN="[redacted]": Too big: expected string to have <=4096 characters',
    );
  });
});
