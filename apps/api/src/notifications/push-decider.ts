/**
 * Who gets a push for a stored event, decided by the push queue's worker after the sender's ack
 * (never on the ack path). The rule depends on why the push exists:
 * - consultation_reply: participants other than the sender who have no connection anywhere;
 * - mobile_notification: participants with no MOBILE connection (a desktop session does not put
 *   the notice on the phone);
 * - direct_message: the one user, if they have no connection.
 */
import type { ParticipantDirectory } from '../broadcasting/participant-directory.ts';
import type { PushJobRow } from '../db/store-types.ts';
import type { Presence } from '../realtime/presence/presence.ts';

export interface PushDeciderDeps {
  participants: ParticipantDirectory;
  presence: Presence;
}

export class PushDecider {
  readonly #deps: PushDeciderDeps;

  constructor(deps: PushDeciderDeps) {
    this.#deps = deps;
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
    }
  }

  async #participants(decision: PushJobRow): Promise<string[]> {
    if (!decision.conversationId) return [];
    const participants = await this.#deps.participants.of(decision.conversationId);
    return participants.map((p) => p.userId).filter((u) => u !== decision.excludeUserId);
  }
}
