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
  signals: Array<AbortSignal | undefined> = [];
  constructor(private readonly outcomes: Array<PushResult | Error | 'never'>) {}

  send(_notification: PushNotification, signal?: AbortSignal): Promise<PushResult> {
    this.signals.push(signal);
    const next = this.outcomes.shift();
    if (next === undefined) return Promise.reject(new Error('scripted provider ran out of outcomes'));
    if (next === 'never') return new Promise(() => {});
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve(next);
  }

  async close(): Promise<void> {
    this.closed += 1;
  }
}

describe('NotificationService', () => {
  it('passes a successful attempt through and logs nothing of its own', async () => {
    const { logger, records } = captureLogs();
    const service = new NotificationService({
      providers: [new LoggingProvider({ logger, redactContent: true })],
      logger,
    });
    await expect(service.attempt(push)).resolves.toEqual({ ok: true });
    expect(records.filter((r) => r.level >= LEVEL.warn)).toEqual([]);
    expect(service.providerNames).toEqual(['logging']);
  });

  it('turns a provider that throws into a permanent failure and a WARN record, never an exception', async () => {
    const { logger, records } = captureLogs();
    const provider = new ScriptedProvider([new Error('FCM unreachable')]);
    const service = new NotificationService({ providers: [provider], logger });
    await expect(service.attempt(push)).resolves.toEqual({ ok: false, error: 'FCM unreachable', retryable: false });
    expect(records).toEqual([
      expect.objectContaining({
        level: LEVEL.warn,
        msg: 'push notification failed',
        provider: 'scripted',
        userId: 'customer_456',
        reason: 'FCM unreachable',
        retryable: false,
      }),
    ]);
  });

  it("passes a provider's ok:false answer through with its retry hint and logs it at WARN", async () => {
    const { logger, records } = captureLogs();
    const rejected: PushResult = { ok: false, error: 'rate limited', retryable: true, retryAfterMs: 30_000 };
    const service = new NotificationService({ providers: [new ScriptedProvider([rejected])], logger });
    await expect(service.attempt(push)).resolves.toEqual(rejected);
    expect(records.map((r) => [r.msg, r.reason, r.retryable, r.retryAfterMs])).toEqual([
      ['push notification failed', 'rate limited', true, 30_000],
    ]);
  });

  it('abandons a provider call that does not answer within the send timeout as retryable, and aborts it', async () => {
    const { logger } = captureLogs();
    const provider = new ScriptedProvider(['never']);
    const service = new NotificationService({ providers: [provider], logger, sendTimeoutMs: 50 });
    await expect(service.attempt(push)).resolves.toEqual({
      ok: false,
      error: 'no answer from the provider within 50 ms',
      retryable: true,
    });
    expect(provider.signals[0]?.aborted).toBe(true);
  });

  it('treats a provider that returns nothing as a permanent failure', async () => {
    const { logger } = captureLogs();
    const broken: NotificationProvider = {
      name: 'broken',
      send: async () => undefined as unknown as PushResult,
      close: async () => {},
    };
    const service = new NotificationService({ providers: [broken], logger });
    await expect(service.attempt(push)).resolves.toEqual({
      ok: false,
      error: 'provider returned no result',
      retryable: false,
    });
  });

  it('closes the provider once, and fails later attempts as retryable without calling it', async () => {
    const { logger, records } = captureLogs();
    const provider = new ScriptedProvider([]);
    const service = new NotificationService({ providers: [provider], logger });
    await service.close();
    await service.close();
    expect(provider.closed).toBe(1);
    await expect(service.attempt(push)).resolves.toEqual({
      ok: false,
      error: 'notification service is closed',
      retryable: true,
    });
    expect(provider.signals).toEqual([]);
    expect(records.map((r) => r.reason)).toEqual(['notification service is closed']);
  });
});
