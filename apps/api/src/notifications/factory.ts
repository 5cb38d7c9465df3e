/**
 * Builds the push providers NOTIFICATION_PROVIDERS names (NOTIFICATION_PROVIDER when it is not
 * set), once at start. Business code depends only on NotificationProvider. A provider whose
 * credentials cannot be read stops start-up with what to fix, instead of failing every push.
 */
import type { Logger } from 'pino';
import { ApnsProvider, loadApnsKey } from './providers/apns.ts';
import { FcmProvider, loadServiceAccount } from './providers/fcm.ts';
import { LoggingProvider } from './providers/logging.ts';
import { WebhookProvider } from './providers/webhook.ts';
import { DEFAULT_VAPID_SUBJECT, loadOrCreateVapidKeys, WebPushProvider } from './providers/webpush.ts';
import type { NotificationProvider } from './types.ts';

export type NotificationProviderName = 'logging' | 'webhook' | 'fcm' | 'apns' | 'webpush';

export interface NotificationProvidersConfig {
  /** Log content length instead of content; see LoggingProvider (on in production). */
  redactContent: boolean;
  /** webhook: config PUSH_WEBHOOK_URL, PUSH_WEBHOOK_TOKEN. */
  webhook?: { url: string; token?: string | undefined } | undefined;
  /** fcm: FIREBASE_CREDENTIALS_PATH, FCM_BASE_URL. */
  fcm?: { credentialsPath: string | undefined; baseUrl: string } | undefined;
  /** apns: APNS_KEY_PATH, APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC, APNS_HOST. */
  apns?: { keyPath: string; keyId: string; teamId: string; topic: string; host: string } | undefined;
  /** webpush: configured VAPID keys, else a pair kept in `dataDir` (vapid.json). */
  vapid?: { publicKey: string; privateKey: string; subject: string | undefined } | undefined;
  /** VAPID_SUBJECT: wins over the subject stored with a generated pair. */
  vapidSubject?: string | undefined;
  dataDir: string;
}

export async function createNotificationProviders(
  names: readonly NotificationProviderName[],
  config: NotificationProvidersConfig,
  logger: Logger,
): Promise<NotificationProvider[]> {
  const providers: NotificationProvider[] = [];
  for (const name of names) providers.push(await createProvider(name, config, logger));
  return providers;
}

async function createProvider(
  name: NotificationProviderName,
  config: NotificationProvidersConfig,
  logger: Logger,
): Promise<NotificationProvider> {
  switch (name) {
    case 'logging':
      return new LoggingProvider({ logger, redactContent: config.redactContent });
    case 'webhook':
      if (!config.webhook) throw new Error('NOTIFICATION_PROVIDER=webhook needs PUSH_WEBHOOK_URL');
      return new WebhookProvider(config.webhook);
    case 'fcm':
      if (!config.fcm?.credentialsPath) throw new Error('the fcm provider needs FIREBASE_CREDENTIALS_PATH');
      return new FcmProvider({
        credentials: loadServiceAccount(config.fcm.credentialsPath),
        baseUrl: config.fcm.baseUrl,
      });
    case 'apns':
      if (!config.apns) throw new Error('the apns provider needs APNS_KEY_PATH, APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC');
      return new ApnsProvider({
        key: loadApnsKey(config.apns.keyPath),
        keyId: config.apns.keyId,
        teamId: config.apns.teamId,
        topic: config.apns.topic,
        host: config.apns.host,
      });
    case 'webpush': {
      const stored = config.vapid ? undefined : await loadOrCreateVapidKeys(config.dataDir);
      const pair = config.vapid ?? stored;
      if (!pair) throw new Error('no VAPID key pair');
      const vapid = {
        publicKey: pair.publicKey,
        privateKey: pair.privateKey,
        subject: config.vapidSubject ?? stored?.subject ?? DEFAULT_VAPID_SUBJECT,
      };
      if (!config.vapid) logger.info({ publicKey: vapid.publicKey }, 'web push: using the VAPID key pair in DATA_DIR');
      return new WebPushProvider({ vapid });
    }
  }
}
