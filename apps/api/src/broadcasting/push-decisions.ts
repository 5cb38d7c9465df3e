/**
 * The push each kind of event owes its offline recipients, built in one place so the message
 * path (ChatService, which stores the decision with the message) and BroadcastingService (which
 * stores it with a notice or direct message) cannot drift apart. Who is offline is decided later,
 * by the push queue (notifications/push-decider.ts).
 */
import type { PushPriority } from '@anmei/protocol';
import type { PushDecisionInput } from '../db/store-types.ts';

/** The seed's consultation reply push: "顾问回复", high priority, opens the conversation. */
export function consultationReplyPush(
  conversationId: string,
  content: string,
  consultantId: string,
): PushDecisionInput {
  return {
    reason: 'consultation_reply',
    excludeUserId: consultantId,
    notification: {
      title: '顾问回复',
      content,
      priority: 'high',
      deviceType: 'mobile',
      data: { conversation_id: conversationId, action: 'open_conversation' },
    },
  };
}

/** A mobile-only notice (e.g. an appointment reminder) for participants without a mobile socket. */
export function mobileNotificationPush(
  conversationId: string,
  notice: { title: string; content: string; priority?: PushPriority; action?: string; data?: Record<string, unknown> },
): PushDecisionInput {
  return {
    reason: 'mobile_notification',
    notification: {
      title: notice.title,
      content: notice.content,
      priority: notice.priority ?? 'high',
      deviceType: 'mobile',
      data: { conversation_id: conversationId, ...(notice.action ? { action: notice.action } : {}), ...notice.data },
    },
  };
}

/** A direct message for a user with no connection: normal priority, "新消息" unless titled. */
export function directMessagePush(message: {
  title?: string;
  content: string;
  data?: Record<string, unknown>;
}): PushDecisionInput {
  return {
    reason: 'direct_message',
    notification: {
      title: message.title ?? '新消息',
      content: message.content,
      priority: 'normal',
      deviceType: 'mobile',
      ...(message.data ? { data: message.data } : {}),
    },
  };
}
