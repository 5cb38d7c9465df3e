/** The push the provider tests send: a consultant's reply to customer_456, with any field replaced. */
import type { PushNotification } from '../../src/notifications/types.ts';

export function samplePush(over: Partial<PushNotification> = {}): PushNotification {
  return {
    userId: 'customer_456',
    title: '顾问回复',
    content: '您好，我来看看',
    deviceType: 'mobile',
    priority: 'high',
    data: { conversation_id: 'c-1', action: 'open_conversation' },
    idempotencyKey: 'message:m-1:customer_456',
    ...over,
  };
}
