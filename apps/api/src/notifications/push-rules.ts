/**
 * The push rules, in one place: what each kind of event owes its offline recipients (the
 * builders below, used by ChatService, which stores the decision with the message, and by
 * BroadcastingService, which stores it with a notice or direct message), and who is offline
 * (PushDecider, run by the push queue's worker after the sender's answer, never on the ack path).
 * Who counts as offline depends on why the push exists:
 * - consultation_reply: participants other than the sender who have no connection anywhere;
 * - customer_message: the conversation's staff, and only when none of them has a connection;
 * - mobile_notification: participants with no MOBILE connection (a desktop session does not put
 *   the notice on the phone);
 * - direct_message: the one user, if they have no connection.
 */
import { type PushPriority, type Role, STAFF_ROLES } from '@anmei/protocol';
import type { ParticipantDirectory } from '../broadcasting/participant-directory.ts';
import type { PushDecisionInput, PushJobRow, PushSendInput, Store } from '../db/store-types.ts';
import type { Presence } from '../realtime/presence/presence.ts';

export interface PushDeciderDeps {
  participants: ParticipantDirectory;
  presence: Presence;
  /** The registry, for device providers (FCM, APNs, Web Push). */
  devices: Store['devices'];
  /** The enabled provider that addresses users (logging, webhook), if any. */
  userProvider: string | undefined;
  /** The enabled device providers. */
  deviceProviders: ReadonlySet<string>;
}

export class PushDecider {
  readonly #deps: PushDeciderDeps;

  constructor(deps: PushDeciderDeps) {
    this.#deps = deps;
  }

  /**
   * The sends a decision creates: one per offline user for the user-level provider, and one per
   * registered device of an offline user whose provider is enabled (a mobile-only notice: only
   * the user's mobile devices). Throws when presence cannot be asked (the decision is retried).
   */
  async sends(decision: PushJobRow): Promise<PushSendInput[]> {
    const users = await this.recipients(decision);
    if (users.length === 0) return [];
    const { notification } = decision;
    const sends: PushSendInput[] = [];
    const userProvider = this.#deps.userProvider;
    if (userProvider)
      for (const userId of users) sends.push({ userId, deviceId: null, provider: userProvider, notification });
    if (this.#deps.deviceProviders.size > 0) {
      for (const device of await this.#deps.devices.listForUsers(users)) {
        if (!this.#deps.deviceProviders.has(device.provider)) continue;
        if (notification.onlyMobile && device.deviceType !== 'mobile') continue;
        sends.push({ userId: device.userId, deviceId: device.id, provider: device.provider, notification });
      }
    }
    return sends;
  }

  /** The users to push to; throws when presence cannot be asked (the decision is retried). */
  async recipients(decision: PushJobRow): Promise<string[]> {
    switch (decision.reason) {
      case 'direct_message': {
        const userId = decision.userId;
        if (!userId) return [];
        return (await this.#deps.presence.isOnline(userId)) ? [] : [userId];
      }
      case 'consultation_reply': {
        const users = await this.#participants(decision);
        const online = await this.#deps.presence.onlineAmong(users);
        return users.filter((u) => !online.has(u));
      }
      case 'mobile_notification': {
        const users = await this.#participants(decision);
        const devices = await Promise.all(users.map((u) => this.#deps.presence.devicesOf(u)));
        return users.filter((_, i) => !devices[i]?.some((d) => d.deviceType === 'mobile'));
      }
      case 'customer_message': {
        // Staff who are online will answer from the app; only when none of them is there do the
        // others learn of the message from their phones.
        const staff = await this.#participants(decision, (role) => STAFF_ROLES.has(role));
        const online = await this.#deps.presence.onlineAmong(staff);
        return online.size > 0 ? [] : staff;
      }
    }
  }

  async #participants(decision: PushJobRow, roleFits: (role: Role) => boolean = () => true): Promise<string[]> {
    if (!decision.conversationId) return [];
    const participants = await this.#deps.participants.of(decision.conversationId);
    return participants.filter((p) => p.userId !== decision.excludeUserId && roleFits(p.role)).map((p) => p.userId);
  }
}

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
      // A burst of replies in one conversation is one notification that updates, not ten.
      collapseKey: `conversation:${conversationId}`,
    },
  };
}

/** How long the messages of a customer's burst wait for one decision (ms): one push for the burst. */
export const CUSTOMER_BURST_WINDOW_MS = 2_000;

/**
 * A customer's message, for the conversation's staff when none of them is online: one pending
 * decision per conversation (messages within CUSTOMER_BURST_WINDOW_MS share it), and one
 * notification per conversation on each device, which later messages replace.
 */
export function customerMessagePush(conversationId: string, content: string, customerId: string): PushDecisionInput {
  return {
    reason: 'customer_message',
    excludeUserId: customerId,
    key: 'conversation',
    delayMs: CUSTOMER_BURST_WINDOW_MS,
    notification: {
      title: '客户消息',
      content,
      priority: 'high',
      deviceType: 'mobile',
      data: { conversation_id: conversationId, action: 'open_conversation' },
      collapseKey: `conversation:${conversationId}`,
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
      onlyMobile: true,
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
