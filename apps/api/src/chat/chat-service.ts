/**
 * Chat use cases shared by the HTTP routes and the WebSocket gateway: authorize, persist,
 * then hand the live frame to the bus; the caller is answered then. A staff reply's push
 * decision is stored by the same statement as the message, and the push queue sends it later,
 * so no provider is ever on a sender's path. Persistence errors propagate (the caller must know
 * the message was not stored); broadcast errors do not (the message is stored; the service
 * logged the failure).
 */
import { type MessageType, type Role, STAFF_ROLES } from '@anmei/protocol';
import type { BroadcastingService } from '../broadcasting/broadcasting-service.ts';
import type { ParticipantDirectory } from '../broadcasting/participant-directory.ts';
import type { MessageRow, Store } from '../db/store-types.ts';
import { AppError } from '../errors.ts';
import type { AppEvents } from '../events.ts';
import { consultationReplyPush, customerMessagePush } from '../notifications/push-rules.ts';
import { messageToWire } from './wire.ts';

export interface Sender {
  userId: string;
  role: Role;
}

export interface SendInput {
  conversationId: string;
  clientMessageId: string | null;
  content: string;
  messageType?: MessageType;
  metadata?: Record<string, unknown> | null;
  /** The WebSocket connection the message was sent on, if any (skipped by the device sync). */
  sentFromConnectionId?: string;
}

export interface SendResult {
  message: MessageRow;
  /** true when the client message id was already stored; nothing new was created or broadcast. */
  duplicate: boolean;
}

export class ChatService {
  readonly #store: Store;
  readonly #participants: ParticipantDirectory;
  readonly #events: AppEvents;
  readonly #broadcasting: BroadcastingService;

  constructor(deps: {
    store: Store;
    participants: ParticipantDirectory;
    events: AppEvents;
    broadcasting: BroadcastingService;
  }) {
    this.#store = deps.store;
    this.#participants = deps.participants;
    this.#events = deps.events;
    this.#broadcasting = deps.broadcasting;
  }

  /** Throws CONVERSATION_NOT_FOUND or NOT_PARTICIPANT, for admins too: an admin reads and writes a conversation only as a participant (admin routes notify without being one). */
  async assertParticipant(conversationId: string, userId: string): Promise<void> {
    if (await this.#participants.isParticipant(conversationId, userId)) return;
    const conversation = await this.#store.conversations.findById(conversationId);
    if (!conversation) throw new AppError('CONVERSATION_NOT_FOUND');
    throw new AppError('NOT_PARTICIPANT');
  }

  /**
   * Store, then broadcast to the other participants (the sender's user excluded, as in the seed):
   * a consultant's or doctor's message as a consultation reply, whose push decision for offline
   * participants is stored with it; others as a plain new_message. The sender's other devices (not
   * the sending socket) get new_message too; for a plain message that is the same publish as the
   * others'. Returns once the frames are handed to the bus.
   */
  async send(sender: Sender, input: SendInput): Promise<SendResult> {
    // One look-up answers the check and the push rule; no promise when the cache holds it.
    const participants =
      this.#participants.cached(input.conversationId) ?? (await this.#participants.of(input.conversationId));
    // Not one of them: assertParticipant reads the conversation to throw the right refusal.
    if (!participants.some((p) => p.userId === sender.userId)) {
      await this.assertParticipant(input.conversationId, sender.userId);
    }
    const staff = STAFF_ROLES.has(sender.role);
    const result = await this.#store.messages.append({
      conversationId: input.conversationId,
      senderId: sender.userId,
      clientMessageId: input.clientMessageId,
      messageType: input.messageType ?? 'text',
      content: input.content,
      metadata: input.metadata ?? null,
      push: staff
        ? consultationReplyPush(input.conversationId, input.content, sender.userId)
        : participants.some((p) => STAFF_ROLES.has(p.role))
          ? customerMessagePush(input.conversationId, input.content, sender.userId)
          : null,
    });
    if (result.status === 'conflict') throw new AppError('CLIENT_MESSAGE_ID_CONFLICT');
    if (result.status === 'duplicate') return { message: result.message, duplicate: true };

    const message = result.message;
    this.#events.emit('message.created', { message });
    const wire = messageToWire(message, sender.role);
    const broadcasting = this.#broadcasting;
    if (!staff) {
      // The others and the sender's other devices get the same new_message: one frame, one publish.
      await broadcasting.broadcastStoredMessage(input.conversationId, wire, sender.userId, input.sentFromConnectionId);
      return { message, duplicate: false };
    }
    // A consultation reply to the others, new_message to the sender's other devices: both at once
    // (they reach different sockets, and on Redis they then share one routed publish).
    await Promise.all([
      broadcasting.broadcastConsultationReply(
        input.conversationId,
        { content: message.content, reply_type: 'consultation', message: wire },
        sender.userId,
        { pushStored: true },
      ),
      broadcasting.syncToSenderDevices(wire, sender.userId, input.sentFromConnectionId),
    ]);
    return { message, duplicate: false };
  }

  /**
   * Mark the given messages (and everything before them) read, then tell the others.
   * Ids that are not in this conversation are ignored; returns the reader's new position.
   */
  async markRead(
    reader: Sender,
    conversationId: string,
    messageIds: readonly string[],
  ): Promise<{ lastReadSeq: number; messageIds: string[] }> {
    await this.#checkReader(reader, conversationId);
    return this.#storeRead(reader, conversationId, messageIds);
  }

  /**
   * markRead for a socket's `read` frame: the reader is checked now (a refusal rejects this
   * promise); `stored` settles once the read is stored and announced. The read has already
   * taken its place among the reads waiting to be stored, so the socket's next frames need not
   * wait for it (docs/protocol.md, "the frames of one connection").
   */
  async beginRead(
    reader: Sender,
    conversationId: string,
    messageIds: readonly string[],
  ): Promise<{ stored: Promise<unknown> }> {
    await this.#checkReader(reader, conversationId);
    return { stored: this.#storeRead(reader, conversationId, messageIds) };
  }

  /** As in send: a cached participant list answers the check without a promise. */
  async #checkReader(reader: Sender, conversationId: string): Promise<void> {
    const participants = this.#participants.cached(conversationId);
    if (participants === undefined || !participants.some((p) => p.userId === reader.userId)) {
      await this.assertParticipant(conversationId, reader.userId);
    }
  }

  async #storeRead(reader: Sender, conversationId: string, messageIds: readonly string[]) {
    // Called synchronously by its callers, so the read joins its batch in the caller's turn.
    const read = await this.#store.messages.recordRead(conversationId, reader.userId, messageIds);
    // None of the ids is in this conversation: nothing changed; the current position is reported.
    if (read.event) await this.#broadcasting.publishReadStatus(conversationId, reader.userId, read.event);
    return { lastReadSeq: read.lastReadSeq, messageIds: read.messageIds };
  }

  /**
   * Add a user (e.g. a doctor) to a conversation. Staff who take part in it, and admins, may;
   * customers may not. Every instance drops its cached participant list, and the conversation
   * gets a system notice. Adding someone already there changes nothing.
   */
  async addParticipant(
    actor: Sender,
    conversationId: string,
    userId: string,
  ): Promise<{ added: boolean; user: { id: string; role: Role; displayName: string } }> {
    const { user, summary } = await this.#membershipChange(actor, conversationId, userId, 'add');
    if (await this.#store.conversations.isParticipant(conversationId, userId)) return { added: false, user: summary };
    await this.#store.conversations.addParticipant(conversationId, userId, user.role);
    await this.#broadcasting.announceParticipantsChanged(conversationId);
    // The one who joined has never listed this conversation: the notice carries its title and
    // members, so their list adds it from the frame alone (as with `conversation_started`).
    const conversation = await this.#store.conversations.findById(conversationId);
    const members = await Promise.all(
      (await this.#store.conversations.participants(conversationId)).map((p) => this.#store.users.findById(p.userId)),
    );
    await this.#broadcasting.broadcastSystemNotification(conversationId, {
      title: '新成员加入',
      message: `${user.displayName} 加入了会话`,
      type: 'participant_added',
      data: {
        user_id: user.id,
        role: user.role,
        display_name: user.displayName,
        title: conversation?.title ?? '',
        participants: members.flatMap((m) => (m ? [{ user_id: m.id, role: m.role, display_name: m.displayName }] : [])),
      },
    });
    return { added: true, user: summary };
  }

  /**
   * Take a doctor or consultant out of a conversation (the customer stays: the consultation is
   * theirs). Who may is who may add. The notice goes out first, so the one removed gets it too (their
   * list drops the conversation); then every instance drops its cached participant list. Removing
   * someone who is not in it changes nothing.
   */
  async removeParticipant(
    actor: Sender,
    conversationId: string,
    userId: string,
  ): Promise<{ removed: boolean; user: { id: string; role: Role; displayName: string } }> {
    const { user, summary } = await this.#membershipChange(actor, conversationId, userId, 'remove');
    if (!(await this.#store.conversations.isParticipant(conversationId, userId)))
      return { removed: false, user: summary };
    if (!STAFF_ROLES.has(user.role)) {
      throw new AppError(
        'FORBIDDEN',
        `Only doctors and consultants can be removed; ${user.displayName} is a ${user.role}.`,
      );
    }
    await this.#broadcasting.broadcastSystemNotification(conversationId, {
      title: '成员离开',
      message: `${user.displayName} 已离开会话`,
      type: 'participant_removed',
      data: { user_id: user.id, role: user.role, display_name: user.displayName },
    });
    await this.#store.conversations.removeParticipant(conversationId, userId);
    await this.#broadcasting.announceParticipantsChanged(conversationId);
    return { removed: true, user: summary };
  }

  /**
   * Change a conversation's title. Its participants, and admins, may. Every participant's list and
   * header follow from the `conversation_renamed` notice (`data: {title}`). The same title changes nothing.
   */
  async rename(actor: Sender, conversationId: string, title: string): Promise<{ title: string; changed: boolean }> {
    if (actor.role !== 'admin') await this.assertParticipant(conversationId, actor.userId);
    const conversation = await this.#store.conversations.findById(conversationId);
    if (!conversation) throw new AppError('CONVERSATION_NOT_FOUND');
    if (conversation.title === title) return { title, changed: false };
    if (!(await this.#store.conversations.rename(conversationId, title))) throw new AppError('CONVERSATION_NOT_FOUND');
    const who = (await this.#store.users.findById(actor.userId))?.displayName ?? '管理员';
    await this.#broadcasting.broadcastSystemNotification(conversationId, {
      title: '会话已改名',
      message: `${who} 将会话改名为“${title}”`,
      type: 'conversation_renamed',
      data: { title },
    });
    return { title, changed: true };
  }

  async typing(user: Sender, conversationId: string, isTyping: boolean): Promise<void> {
    await this.assertParticipant(conversationId, user.userId);
    await this.#broadcasting.broadcastTypingStatus(conversationId, user.userId, isTyping);
  }

  /**
   * Who may add or remove members (staff who take part, and admins anywhere) and the user in
   * question; throws the catalogued refusal. Shared by addParticipant and removeParticipant.
   */
  async #membershipChange(actor: Sender, conversationId: string, userId: string, verb: 'add' | 'remove') {
    if (actor.role !== 'admin') {
      if (!STAFF_ROLES.has(actor.role)) {
        throw new AppError('FORBIDDEN', `Only consultants, doctors and admins may ${verb} participants.`);
      }
      await this.assertParticipant(conversationId, actor.userId);
    } else if (!(await this.#store.conversations.findById(conversationId))) {
      throw new AppError('CONVERSATION_NOT_FOUND');
    }
    const user = await this.#store.users.findById(userId);
    if (!user) throw new AppError('USER_NOT_FOUND');
    return { user, summary: { id: user.id, role: user.role, displayName: user.displayName } };
  }
}
