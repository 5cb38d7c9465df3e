import { describe, expect, it } from 'vitest';
import { LoggingProvider } from '../../src/notifications/providers/logging.ts';
import { NotificationService } from '../../src/notifications/service.ts';
import type { NotificationProvider, PushNotification, PushResult } from '../../src/notifications/types.ts';
import { captureLogs, LEVEL } from './log-capture.ts';

const push: PushNotification = {
  userId: 'customer_456',
  title: '顾问回复',
  content: 'hello',
  deviceType: 'mobile',
  priority: 'high',
};

/** Stands in for a third-party push service (FCM, APNs, …) that answers with scripted outcomes. */
class ScriptedProvider implements NotificationProvider {
  readonly name = 'scripted';
  closed = 0;
  constructor(private readonly outcomes: Array<PushResult | Error>) {}

  async send(): Promise<PushResult> {
    const next = this.outcomes.shift();
    if (next === undefined) throw new Error('scripted provider ran out of outcomes');
    if (next instanceof Error) throw next;
    return next;
  }

  async close(): Promise<void> {
    this.closed += 1;
  }
}

describe('NotificationService', () => {
  it('counts successful sends and reports no success rate before any attempt', async () => {
    const { logger } = captureLogs();
    const service = new NotificationService({ provider: new LoggingProvider({ logger, redactContent: true }), logger });
    expect(service.stats()).toEqual({ sent: 0, failed: 0, successRate: null });
    await expect(service.notify(push)).resolves.toEqual({ ok: true });
    expect(service.stats()).toEqual({ sent: 1, failed: 0, successRate: 1 });
  });

  it('turns a provider that throws into a failed result and a WARN record, never an exception', async () => {
    const { logger, records } = captureLogs();
    const provider = new ScriptedProvider([new Error('FCM unreachable')]);
    const service = new NotificationService({ provider, logger });
    await expect(service.notify(push)).resolves.toEqual({ ok: false, error: 'FCM unreachable', retryable: false });
    expect(records).toEqual([
      expect.objectContaining({
        level: LEVEL.warn,
        msg: 'push notification failed',
        provider: 'scripted',
        userId: 'customer_456',
        reason: 'FCM unreachable',
      }),
    ]);
    expect(service.stats()).toEqual({ sent: 0, failed: 1, successRate: 0 });
  });

  it('counts an ok:false answer as failed and logs its reason at WARN', async () => {
    const { logger, records } = captureLogs();
    const rejected: PushResult = { ok: false, error: 'device token expired', retryable: false };
    const provider = new ScriptedProvider([{ ok: true }, rejected, { ok: true }, { ok: true }]);
    const service = new NotificationService({ provider, logger });
    const results = [];
    for (let i = 0; i < 4; i += 1) results.push(await service.notify(push));
    expect(results[1]).toEqual(rejected);
    expect(records.filter((r) => r.level === LEVEL.warn).map((r) => [r.msg, r.reason, r.retryable])).toEqual([
      ['push notification failed', 'device token expired', false],
    ]);
    expect(service.stats()).toEqual({ sent: 3, failed: 1, successRate: 0.75 });
  });

  it('closes the provider once, and fails later sends without calling it', async () => {
    const { logger, records } = captureLogs();
    const provider = new ScriptedProvider([]);
    const service = new NotificationService({ provider, logger });
    await service.close();
    await service.close();
    expect(provider.closed).toBe(1);
    await expect(service.notify(push)).resolves.toEqual({
      ok: false,
      error: 'notification service is closed',
      retryable: false,
    });
    expect(records.map((r) => r.reason)).toEqual(['notification service is closed']);
  });
});
