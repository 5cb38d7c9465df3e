/**
 * Picks the push provider named by config NOTIFICATION_PROVIDER. Business code depends only
 * on NotificationProvider, so adding FCM/APNs/web-push later changes this file and nothing else.
 */
import type { Logger } from 'pino';
import { LoggingProvider } from './providers/logging.ts';
import { WebhookProvider } from './providers/webhook.ts';
import type { NotificationProvider } from './types.ts';

export const NOTIFICATION_PROVIDERS = ['logging', 'webhook', 'firebase', 'fcm', 'apns', 'webpush'] as const;
export type NotificationProviderName = (typeof NOTIFICATION_PROVIDERS)[number];

export interface NotificationProviderConfig {
  /** Default in config: 'logging'. */
  provider: NotificationProviderName;
  /** Log content length instead of content; see LoggingProvider. */
  redactContent: boolean;
  /** Required for 'webhook' (config PUSH_WEBHOOK_URL, PUSH_WEBHOOK_TOKEN). */
  webhook?: { url: string; token?: string | undefined } | undefined;
}

/** Throws at startup for a provider this build lacks, so a misconfiguration cannot go unnoticed. */
export function createNotificationProvider(config: NotificationProviderConfig, logger: Logger): NotificationProvider {
  switch (config.provider) {
    case 'logging':
      return new LoggingProvider({ logger, redactContent: config.redactContent });
    case 'webhook':
      if (!config.webhook) throw new Error('NOTIFICATION_PROVIDER=webhook needs PUSH_WEBHOOK_URL');
      return new WebhookProvider(config.webhook);
    case 'firebase':
    case 'fcm':
    case 'apns':
    case 'webpush':
      throw new Error(
        `NOTIFICATION_PROVIDER=${config.provider} is not available in this build yet; use NOTIFICATION_PROVIDER=logging or webhook`,
      );
  }
}

/** Every provider config.notificationProviders names (NOTIFICATION_PROVIDERS), built once at start. */
export function createNotificationProviders(
  names: readonly NotificationProviderName[],
  config: Omit<NotificationProviderConfig, 'provider'>,
  logger: Logger,
): NotificationProvider[] {
  return names.map((provider) => createNotificationProvider({ ...config, provider }, logger));
}
