/**
 * The seed's BroadcastingService: the one API business code calls to reach users.
 *
 * Every method serializes its frame ONCE and hands the bytes to the Bus, which routes them
 * to the instances holding the recipients' sockets. Pushes to offline users are never made
 * here: a method that owes pushes stores a push decision with its event (same transaction) and
 * nudges the push queue's worker, which decides who is offline and calls the provider after the
 * caller has its answer (docs/architecture.md, "Push queue"). Errors are logged and reported in
 * the returned outcome; they never throw into the caller's request (seed: "the service records
 * the error and keeps running").
 */
import {
  type ConsultationReplyPayload,
  DEVICE_TYPES,
  type DeviceInfo,
  type DeviceType,
  type DirectMessagePayload,
  encodeFrame,
  type MessagePayload,
  type MobileNotificationPayload,
  type ReadStatusPayload,
  ServerAction,
  type SystemNotificationPayload,
  serverFrame,
} from '@anmei/protocol';
import type { StoredEvent } from '../db/store-types.ts';
import { consultationReplyPush, directMessagePush, mobileNotificationPush } from '../notifications/push-rules.ts';
import type { Logger } from '../observability/logger.ts';
import type { BroadcastingDeps, BroadcastOutcome } from './broadcasting-types.ts';
import { othersAnd, othersThan } from './recipients.ts';

export type { BroadcastingDeps, BroadcastOutcome, PushScheduler } from './broadcasting-types.ts';

type SystemNotificationInput = Omit<SystemNotificationPayload, 'conversation_id'>;
type MobileNotificationInput = Omit<MobileNotificationPayload, 'conversation_id'>;
type ConsultationReplyInput = Omit<ConsultationReplyPayload, 'conversation_id' | 'consultant_id'>;
type DirectMessageInput = Omit<DirectMessagePayload, 'user_id'>;

const FAILED: BroadcastOutcome = { ok: false, delivered: 0, pushQueued: false };

/** Every device type a mobile-only notice is not for: they get its `event_skipped` instead. */
const NOT_MOBILE: readonly DeviceType[] = DEVICE_TYPES.filter((d) => d !== 'mobile');

/**
 * The `event_skipped` frame for the sockets a conversation event is filtered away from (docs/
 * delivery.md, "Gap-free positions"): without it their event positions would jump, and a jump
 * must mean a loss.
 */
function skipped(conversationId: string, eventSeq: number): string {
  return encodeFrame(serverFrame(ServerAction.eventSkipped, { conversation_id: conversationId, event_seq: eventSeq }));
}

export class BroadcastingService {
  readonly #deps: BroadcastingDeps;
  readonly #log: Logger;

  constructor(deps: BroadcastingDeps) {
    this.#deps = deps;
    this.#log = deps.logger;
  }

  /** A chat message to every participant (all devices, all instances) except `excludeUserId`. */
  broadcastMessage(conversationId: string, message: MessagePayload, excludeUserId?: string): Promise<BroadcastOutcome> {
    // The hottest path, written without a closure that stays suspended while Redis works: such a
    // closure would keep `message` alive for the whole round trip (see #publishCounted).
    return this.#guard('message', conversationId, () =>
      this.#recipients(conversationId, excludeUserId).then((recipients) =>
        this.#publishCounted(recipients, encodeFrame(serverFrame(ServerAction.newMessage, message))),
      ),
    );
  }

  /**
   * A newly stored message that is not a consultation reply, live to everyone who should see it:
   * what `broadcastMessage` (every other participant) and `syncToSenderDevices` (the sender's
   * other devices) send together, as one frame serialized once and one publish to the
   * participants plus the sender, minus the socket it was sent on (`sentFromConnectionId`, which
   * gets the ack). ChatService's path for every customer's message: two encodes and two publishes
   * of the same frame cost a stored message more than its bus hand-over (docs/benchmarks.md).
   * Counted and logged as `message`.
   */
  broadcastStoredMessage(
    conversationId: string,
    message: MessagePayload,
    senderId: string,
    sentFromConnectionId?: string,
  ): Promise<BroadcastOutcome> {
    // Written like broadcastMessage: no closure stays suspended while the bus works. A cached
    // participant list (almost always) is used at once, without a promise.
    return this.#guard('message', conversationId, () => {
      const frame = encodeFrame(serverFrame(ServerAction.newMessage, message));
      const cached = this.#deps.participants.cached(conversationId);
      if (cached !== undefined) {
        const users = othersAnd(cached, senderId);
        return this.#publishCounted(users, frame, sentFromConnectionId, users.length - 1);
      }
      return this.#recipients(conversationId, senderId).then((recipients) => {
        const others = recipients.length;
        recipients.push(senderId);
        return this.#publishCounted(recipients, frame, sentFromConnectionId, others);
      });
    });
  }

  /**
   * Multi-device sync (not in the seed): the sender's own other devices get the stored message
   * too, so every device of a user converges; the device it was sent from is skipped (it has the
   * ack). Kept apart from `broadcastMessage`, whose seed semantics exclude the sender's user.
   */
  syncToSenderDevices(
    message: MessagePayload,
    senderId: string,
    sentFromConnectionId?: string,
  ): Promise<BroadcastOutcome> {
    return this.#guard('sender_sync', message.conversation_id, async () => {
      await this.#deps.bus.publishToUsers([senderId], {
        frame: encodeFrame(serverFrame(ServerAction.newMessage, message)),
        origin: this.#deps.instanceId,
        ...(sentFromConnectionId ? { excludeConnectionId: sentFromConnectionId } : {}),
      });
      return { ok: true, delivered: 1, pushQueued: false };
    });
  }

  /**
   * A consultant's reply: every other participant's connected devices get it live; those with no
   * connection get a high-priority mobile push ("顾问回复") that opens the conversation, sent by
   * the push queue after this returns. `pushStored`: the caller already stored the push decision
   * together with the message (ChatService does, so a crash cannot separate them); otherwise it
   * is stored here, keyed by the reply's message id so a repeated call queues it once.
   */
  broadcastConsultationReply(
    conversationId: string,
    reply: ConsultationReplyInput,
    consultantId: string,
    options: { pushStored?: boolean } = {},
  ): Promise<BroadcastOutcome> {
    return this.#guard('consultation_reply', conversationId, async () => {
      const recipients = await this.#recipients(conversationId, consultantId);
      const payload = { ...reply, conversation_id: conversationId, consultant_id: consultantId };
      await this.#publish(recipients, encodeFrame(serverFrame(ServerAction.consultationReply, payload)));
      if (!options.pushStored) {
        await this.#deps.store.pushJobs.enqueue(`message:${reply.message.id}`, {
          ...consultationReplyPush(conversationId, reply.content, consultantId),
          conversationId,
        });
      }
      this.#deps.pushes.nudge();
      return { ok: true, delivered: recipients.length, pushQueued: true };
    });
  }

  /**
   * Important notices (e.g. appointment reminders) for mobile devices only: live to every
   * connected mobile socket of each participant; a participant with no mobile socket online
   * gets a mobile push instead (decided and sent by the push queue after this returns).
   */
  sendMobileOnlyNotification(conversationId: string, notice: MobileNotificationInput): Promise<BroadcastOutcome> {
    return this.#guard('mobile_notification', conversationId, async () => {
      const recipients = await this.#recipients(conversationId);
      const stored = await this.#deps.store.events.appendToConversation(conversationId, {
        kind: ServerAction.mobileNotification,
        payload: (event_seq, event_id) => ({ ...notice, conversation_id: conversationId, event_seq, event_id }),
        deviceTypes: ['mobile'],
        push: mobileNotificationPush(conversationId, notice),
      });
      const frame = serverFrame(ServerAction.mobileNotification, stored.payload as MobileNotificationPayload);
      await Promise.all([
        this.#publish(recipients, encodeFrame(frame), ['mobile']),
        this.#publish(recipients, skipped(conversationId, stored.position), NOT_MOBILE),
      ]);
      this.#deps.pushes.nudge();
      return { ok: true, delivered: recipients.length, pushQueued: true };
    });
  }

  /** Typing indicator to the other participants; ephemeral, never stored or pushed. */
  broadcastTypingStatus(conversationId: string, userId: string, isTyping: boolean): Promise<BroadcastOutcome> {
    return this.#guard('typing_status', conversationId, async () => {
      const recipients = await this.#recipients(conversationId, userId);
      const frame = serverFrame(ServerAction.typingStatus, {
        conversation_id: conversationId,
        user_id: userId,
        is_typing: isTyping,
      });
      await this.#publish(recipients, encodeFrame(frame));
      return { ok: true, delivered: recipients.length, pushQueued: false };
    });
  }

  /** Read receipts to the other participants: stores the `read_status` event, then publishes it. */
  broadcastReadStatus(
    conversationId: string,
    userId: string,
    messageIds: readonly string[],
    lastReadSeq: number | null = null,
  ): Promise<BroadcastOutcome> {
    return this.#guard('read_status', conversationId, async () => {
      const stored = await this.#deps.store.events.appendToConversation(conversationId, {
        kind: ServerAction.readStatus,
        payload: (event_seq, event_id) => ({
          conversation_id: conversationId,
          user_id: userId,
          message_ids: [...messageIds],
          last_read_seq: lastReadSeq,
          event_seq,
          event_id,
        }),
        excludeUserId: userId,
      });
      return this.#publishReadStatus(conversationId, userId, stored);
    });
  }

  /**
   * A `read_status` event already stored with the reader's position (`Store.messages.recordRead`,
   * one statement) to the other participants; the reader's own devices get `event_skipped`.
   */
  publishReadStatus(conversationId: string, userId: string, stored: StoredEvent): Promise<BroadcastOutcome> {
    return this.#guard('read_status', conversationId, () => this.#publishReadStatus(conversationId, userId, stored));
  }

  /** Not `async`: a cached participant list (almost always: the reader was just checked) costs no promise. */
  #publishReadStatus(conversationId: string, userId: string, stored: StoredEvent): Promise<BroadcastOutcome> {
    const cached = this.#deps.participants.cached(conversationId);
    if (cached === undefined) {
      return this.#recipients(conversationId, userId).then((recipients) =>
        this.#publishReadTo(recipients, conversationId, userId, stored),
      );
    }
    return this.#publishReadTo(othersThan(cached, userId), conversationId, userId, stored);
  }

  #publishReadTo(recipients: string[], conversationId: string, userId: string, stored: StoredEvent) {
    const frame = encodeFrame(serverFrame(ServerAction.readStatus, stored.payload as ReadStatusPayload));
    const delivered = recipients.length;
    return Promise.all([
      this.#publish(recipients, frame),
      this.#publish([userId], skipped(conversationId, stored.position)),
    ]).then(() => ({ ok: true, delivered, pushQueued: false }));
  }

  /** A system notice (e.g. a maintenance window) to every participant of a conversation. */
  broadcastSystemNotification(conversationId: string, notice: SystemNotificationInput): Promise<BroadcastOutcome> {
    return this.#guard('system_notification', conversationId, async () => {
      const recipients = await this.#recipients(conversationId);
      const stored = await this.#deps.store.events.appendToConversation(conversationId, {
        kind: ServerAction.systemNotification,
        payload: (event_seq, event_id) => ({ ...notice, conversation_id: conversationId, event_seq, event_id }),
      });
      const frame = serverFrame(ServerAction.systemNotification, stored.payload as SystemNotificationPayload);
      await this.#publish(recipients, encodeFrame(frame));
      return { ok: true, delivered: recipients.length, pushQueued: false };
    });
  }

  /** A system notice to every connected socket on every instance (the seed's `ws:broadcast`). */
  broadcastSystemNotificationToAll(notice: SystemNotificationInput): Promise<BroadcastOutcome> {
    return this.#guard('system_notification_all', null, async () => {
      const stored = await this.#deps.store.events.appendGlobal({
        kind: ServerAction.systemNotification,
        payload: (global_seq, event_id) => ({ ...notice, conversation_id: null, global_seq, event_id }),
      });
      const frame = serverFrame(ServerAction.systemNotification, stored.payload as SystemNotificationPayload);
      await this.#deps.bus.publishToAll({ frame: encodeFrame(frame), origin: this.#deps.instanceId });
      return { ok: true, delivered: -1, pushQueued: false };
    });
  }

  /** A message to one user on all their devices; if they have none connected, a normal-priority push. */
  sendDirectMessage(userId: string, message: DirectMessageInput): Promise<BroadcastOutcome> {
    return this.#guard('direct_message', null, async () => {
      // Stored first (with its push decision), so a device that is offline now gets it on its next resume.
      const stored = await this.#deps.store.events.appendToUser(userId, {
        kind: ServerAction.directMessage,
        payload: (user_seq, event_id) => ({ ...message, user_id: userId, user_seq, event_id }),
        push: directMessagePush(message),
      });
      const frame = serverFrame(ServerAction.directMessage, stored.payload as DirectMessagePayload);
      await this.#publish([userId], encodeFrame(frame));
      this.#deps.pushes.nudge();
      return { ok: true, delivered: 1, pushQueued: true };
    });
  }

  /**
   * Tell every instance (this one included) that a conversation's participants changed, so no
   * instance keeps routing by a stale cached list.
   */
  async announceParticipantsChanged(conversationId: string): Promise<void> {
    this.#deps.participants.invalidate(conversationId);
    try {
      await this.#deps.bus.publishToAll({
        frame: '',
        control: { type: 'participants_changed', conversationId },
        origin: this.#deps.instanceId,
      });
    } catch (error) {
      // Other instances still refresh within the cache TTL (60 s).
      this.#log.error({ err: error, conversationId }, 'could not announce a participant change');
    }
  }

  /** Every connected device of a user, on every instance, oldest first. */
  async getUserDeviceInfo(userId: string): Promise<DeviceInfo[]> {
    try {
      const devices = await this.#deps.presence.devicesOf(userId);
      return devices.map((d) => ({
        connection_id: d.connectionId,
        device_type: d.deviceType,
        connected_at: d.connectedAt.toISOString(),
        instance_id: d.instanceId,
      }));
    } catch (error) {
      this.#log.error({ err: error, userId }, 'getUserDeviceInfo failed');
      return [];
    }
  }

  async #recipients(conversationId: string, excludeUserId?: string): Promise<string[]> {
    return othersThan(await this.#deps.participants.of(conversationId), excludeUserId);
  }

  /**
   * #publish, then the outcome. A method of its own so that the pending callback captures only
   * `delivered`: with a cross-instance bus a publish stays pending for a Redis round trip, and
   * under load thousands are; whatever their frames keep alive survives young-generation GCs
   * and gets copied and promoted (measured in scenario 4: docs/benchmarks.md, round 4).
   */
  /** `recipients`: the count reported (logs, metrics); the sender's own devices in `userIds` are not recipients. */
  #publishCounted(
    userIds: readonly string[],
    frame: string,
    excludeConnectionId?: string,
    recipients = userIds.length,
  ): Promise<BroadcastOutcome> {
    const delivered = recipients;
    return this.#publish(userIds, frame, undefined, excludeConnectionId).then(() => ({
      ok: true,
      delivered,
      pushQueued: false,
    }));
  }

  /** Not `async`: returns the bus's promise (see #publishCounted). */
  #publish(
    userIds: readonly string[],
    frame: string,
    deviceTypes?: readonly DeviceType[],
    excludeConnectionId?: string,
  ): Promise<void> {
    if (userIds.length === 0) return Promise.resolve();
    this.#log.debug({ recipients: userIds.length, deviceTypes }, 'routing envelope');
    return this.#deps.bus.publishToUsers(userIds, {
      frame,
      origin: this.#deps.instanceId,
      ...(deviceTypes ? { deviceTypes } : {}),
      ...(excludeConnectionId ? { excludeConnectionId } : {}),
    });
  }

  /**
   * Runs one broadcast: logs and counts its outcome; a failure is logged and becomes FAILED.
   * Not `async`: a suspended async frame would keep `work`, and through its closure the payload,
   * alive until the publish settles (a Redis round trip; see #publishCounted).
   */
  #guard(
    kind: string,
    conversationId: string | null,
    work: () => Promise<BroadcastOutcome>,
  ): Promise<BroadcastOutcome> {
    const started = performance.now();
    let pending: Promise<BroadcastOutcome>;
    try {
      pending = work();
    } catch (error) {
      pending = Promise.reject(error);
    }
    return pending
      .then((outcome) => this.#done(kind, conversationId, started, outcome))
      .catch((error: unknown) => {
        this.#log.error({ err: error, kind, conversationId }, 'broadcast failed');
        this.#deps.events.emit('broadcast.failed', { kind });
        return FAILED;
      });
  }

  #done(kind: string, conversationId: string | null, started: number, outcome: BroadcastOutcome): BroadcastOutcome {
    const durationMs = performance.now() - started;
    this.#deps.events.emit('broadcast.completed', { kind, recipients: outcome.delivered, durationMs });
    // Typing and the sender's device sync are chatty: DEBUG, not the seed's INFO "broadcast done".
    const level = kind === 'typing_status' || kind === 'sender_sync' ? 'debug' : 'info';
    this.#log[level](
      { kind, conversationId, recipients: outcome.delivered, pushQueued: outcome.pushQueued, durationMs },
      'broadcast done',
    );
    return outcome;
  }
}
