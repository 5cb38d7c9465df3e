import { describe, expect, it } from 'vitest';
import { LoggingProvider } from '../../src/notifications/providers/logging.ts';
import type { PushNotification } from '../../src/notifications/types.ts';
import { captureLogs, LEVEL } from './log-capture.ts';

const consultantReply: PushNotification = {
  userId: 'customer_456',
  title: '顾问回复',
  content: '根据您的需求，我推荐以下方案...',
  deviceType: 'mobile',
  priority: 'high',
  data: { conversation_id: 'conv_123', action: 'open_conversation' },
};

describe('LoggingProvider', () => {
  it("logs one INFO record in the seed's multi-line format, then a DEBUG queued line", async () => {
    const { logger, records } = captureLogs();
    const provider = new LoggingProvider({ logger, redactContent: false });
    await expect(provider.send(consultantReply)).resolves.toEqual({ ok: true });
    expect(records.map((r) => [r.level, r.msg])).toEqual([
      [
        LEVEL.info,
        [
          '📱 push notification [mobile] [priority: high]: customer_456',
          '   title: 顾问回复',
          '   content: 根据您的需求，我推荐以下方案...',
          '   [data: {"conversation_id":"conv_123","action":"open_conversation"}]',
        ].join('\n'),
      ],
      [LEVEL.debug, 'mobile push queued: user_id=customer_456'],
    ]);
  });

  it('adds structured push fields without the content', async () => {
    const { logger, records } = captureLogs();
    await new LoggingProvider({ logger, redactContent: false }).send(consultantReply);
    expect(records[0]?.push).toEqual({
      userId: 'customer_456',
      deviceType: 'mobile',
      priority: 'high',
      title: '顾问回复',
    });
  });

  it('omits the data line when the notification carries no data', async () => {
    const { logger, records } = captureLogs();
    const { data: _data, ...withoutData } = consultantReply;
    await new LoggingProvider({ logger, redactContent: false }).send({
      ...withoutData,
      deviceType: 'tablet',
      priority: 'normal',
    });
    expect(records[0]?.msg).toBe(
      [
        '📱 push notification [tablet] [priority: normal]: customer_456',
        '   title: 顾问回复',
        '   content: 根据您的需求，我推荐以下方案...',
      ].join('\n'),
    );
  });

  it('replaces the content with its length in characters when redactContent is on', async () => {
    const { logger, records } = captureLogs();
    await new LoggingProvider({ logger, redactContent: true }).send({ ...consultantReply, content: 'a😀b' });
    const [, , contentLine] = records[0]?.msg.split('\n') ?? [];
    expect(contentLine).toBe('   content: [redacted, 3 chars]');
    expect(JSON.stringify(records)).not.toContain('a😀b');
  });

  it('still succeeds when data cannot be serialized to JSON', async () => {
    const { logger, records } = captureLogs();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const result = await new LoggingProvider({ logger, redactContent: false }).send({
      ...consultantReply,
      data: circular,
    });
    expect(result).toEqual({ ok: true });
    expect(records[0]?.msg.split('\n')[3]).toMatch(/^ {3}\[data: <unserializable: .+>\]$/);
  });

  it('is named "logging" and closes without error', async () => {
    const provider = new LoggingProvider({ logger: captureLogs().logger, redactContent: true });
    expect(provider.name).toBe('logging');
    await expect(provider.close()).resolves.toBeUndefined();
  });
});
