import { describe, expect, it } from 'vitest';
import { createNotificationProvider } from '../../src/notifications/factory.ts';
import { LoggingProvider } from '../../src/notifications/providers/logging.ts';
import { captureLogs } from './log-capture.ts';

describe('createNotificationProvider', () => {
  it('builds the logging provider with the configured redaction', async () => {
    const { logger, records } = captureLogs();
    const provider = createNotificationProvider({ provider: 'logging', redactContent: true }, logger);
    expect(provider).toBeInstanceOf(LoggingProvider);
    await provider.send({ userId: 'u1', title: 't', content: 'secret', deviceType: 'mobile', priority: 'normal' });
    expect(records[0]?.msg).toContain('   content: [redacted, 6 chars]');
  });

  it.each(['firebase', 'apns', 'webpush'] as const)('refuses %s with an actionable message', (name) => {
    const { logger } = captureLogs();
    expect(() => createNotificationProvider({ provider: name, redactContent: true }, logger)).toThrow(
      `NOTIFICATION_PROVIDER=${name} is not available in this build yet; use NOTIFICATION_PROVIDER=logging`,
    );
  });
});
