import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotificationProviders, type NotificationProvidersConfig } from '../../src/notifications/factory.ts';
import { LoggingProvider } from '../../src/notifications/providers/logging.ts';
import { WebPushProvider } from '../../src/notifications/providers/webpush.ts';
import { captureLogs } from './log-capture.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anmei-providers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = (): NotificationProvidersConfig => ({ redactContent: true, dataDir: 'memory://' });

describe('createNotificationProviders', () => {
  it('builds the logging provider with the configured redaction', async () => {
    const { logger, records } = captureLogs();
    const [provider] = await createNotificationProviders(['logging'], base(), logger);
    expect(provider).toBeInstanceOf(LoggingProvider);
    await provider?.send({ userId: 'u1', title: 't', content: 'secret', deviceType: 'mobile', priority: 'normal' });
    expect(records[0]?.msg).toContain('   content: [redacted, 6 chars]');
  });

  it('builds several at once: one user-level provider and the device providers', async () => {
    const { logger } = captureLogs();
    const keyPath = join(dir, 'apns.p8');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const accountPath = join(dir, 'service-account.json');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(
      accountPath,
      JSON.stringify({
        type: 'service_account',
        project_id: 'anmei-test',
        client_email: 'push@anmei-test.iam.gserviceaccount.com',
        private_key: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }),
        token_uri: 'https://oauth2.googleapis.com/token',
      }),
    );
    const providers = await createNotificationProviders(
      ['logging', 'fcm', 'apns', 'webpush'],
      {
        ...base(),
        fcm: { credentialsPath: accountPath, baseUrl: 'https://fcm.googleapis.com' },
        apns: {
          keyPath,
          keyId: 'ABCDEFGHIJ',
          teamId: 'KLMNOPQRST',
          topic: 'com.anmei.app',
          host: 'https://api.push.apple.com',
        },
      },
      logger,
    );
    expect(providers.map((p) => [p.name, p.addresses ?? 'users'])).toEqual([
      ['logging', 'users'],
      ['fcm', 'devices'],
      ['apns', 'devices'],
      ['webpush', 'devices'],
    ]);
    await Promise.all(providers.map((p) => p.close()));
  });

  it('keeps a generated VAPID key pair in the data folder, so browsers stay subscribed across restarts', async () => {
    const { logger } = captureLogs();
    const config = { ...base(), dataDir: dir };
    const [first] = await createNotificationProviders(['webpush'], config, logger);
    const [second] = await createNotificationProviders(['webpush'], config, logger);
    expect(first).toBeInstanceOf(WebPushProvider);
    expect((first as WebPushProvider).publicKey).toBe((second as WebPushProvider).publicKey);
    // VAPID_SUBJECT applies to a generated pair too (it is what push services see in the JWT's sub).
    const [withSubject] = await createNotificationProviders(
      ['webpush'],
      { ...config, vapidSubject: 'mailto:ops@clinic.example' },
      logger,
    );
    expect((withSubject as WebPushProvider).subject).toBe('mailto:ops@clinic.example');
    expect((first as WebPushProvider).subject).toBe('mailto:admin@localhost');
  });

  it('stops start-up with what to fix when a provider lacks its credentials', async () => {
    const { logger } = captureLogs();
    await expect(createNotificationProviders(['fcm'], base(), logger)).rejects.toThrow(
      'the fcm provider needs FIREBASE_CREDENTIALS_PATH',
    );
    await expect(
      createNotificationProviders(
        ['fcm'],
        { ...base(), fcm: { credentialsPath: join(dir, 'missing.json'), baseUrl: 'https://x' } },
        logger,
      ),
    ).rejects.toThrow(/FIREBASE_CREDENTIALS_PATH/);
    await expect(createNotificationProviders(['apns'], base(), logger)).rejects.toThrow(
      'the apns provider needs APNS_KEY_PATH, APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC',
    );
  });
});
