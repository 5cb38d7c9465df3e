/**
 * What the rest of the API needs from the database. Implemented once with drizzle over
 * either PGlite (embedded default) or node-postgres (DATABASE_URL); both pass one suite.
 * Rows use camelCase; HTTP/WS code maps them to the snake_case wire payloads.
 */
import type { DeviceType, MessageType, PushPriority, Role } from '@anmei/protocol';
import type { ConversationMatch } from './conversation-search.ts';

export interface UserRow {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  passwordHash: string;
  createdAt: Date;
}

export interface ConversationRow {
  id: string;
  title: string;
  createdBy: string;
  createdAt: Date;
  /** seq of the newest message; 0 when empty. */
  lastSeq: number;
  /** event_seq of the newest durable conversation event (read receipt, notice); 0 when none. */
  lastEventSeq: number;
}

export interface ParticipantRow {
  conversationId: string;
  userId: string;
  role: Role;
  joinedAt: Date;
  /** Everything up to and including this seq has been read by this participant; 0 = nothing. */
  lastReadSeq: number;
}

export interface MessageRow {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  clientMessageId: string | null;
  messageType: MessageType;
  content: string;
  metadata: Record<string, unknown> | null;
  createdAt: Date;
}

export interface ConversationSummary extends ConversationRow {
  participants: Array<{ userId: string; role: Role; displayName: string; lastReadSeq: number }>;
  lastMessage: MessageRow | null;
  /** Messages by others after my lastReadSeq. */
  unreadCount: number;
}

export interface AppendMessageInput {
  conversationId: string;
  senderId: string;
  /** Idempotency key chosen by the client; unique per sender. null = no idempotency. */
  clientMessageId: string | null;
  messageType: MessageType;
  content: string;
  metadata?: Record<string, unknown> | null;
  /** Queue a push decision for this message in the same statement that stores it (staff replies). */
  push?: PushDecisionInput | null;
}

export type AppendMessageResult =
  | { status: 'created'; message: MessageRow }
  /** The same sender already stored this clientMessageId in this conversation: the original is returned. */
  | { status: 'duplicate'; message: MessageRow }
  /** The same sender used this clientMessageId in ANOTHER conversation: nothing stored. */
  | { status: 'conflict'; existingConversationId: string };

export interface HistoryQuery {
  /** Return messages with seq < beforeSeq (newest page first when only this is given). */
  beforeSeq?: number;
  /** Return messages with seq > afterSeq (used to catch up). */
  afterSeq?: number;
  /** 1..200, default 50. */
  limit?: number;
}

/** One user's stream heads: their own stream's end and each of their conversations' newest positions. */
export interface UserStreamHeads {
  userSeq: number;
  conversations: Array<{ conversationId: string; lastSeq: number; lastEventSeq: number }>;
}

export interface StreamHeads {
  globalSeq: number;
  users: Map<string, UserStreamHeads>;
}

/** A stored durable event; `payload` is the frame's `data` as sent live (position included). */
export interface StoredEvent {
  id: string;
  /** The frame action (e.g. read_status, system_notification, direct_message). */
  kind: string;
  /** Position in its stream: event_seq (conversation), seq (user) or seq (global). */
  position: number;
  payload: Record<string, unknown>;
  createdAt: Date;
  /** Conversation events only: replay filters. */
  deviceTypes?: DeviceType[] | null;
  excludeUserId?: string | null;
}

/** What `messages.recordRead` stored. */
export interface ReadRecord {
  /** The named messages found in the conversation, by seq ascending. */
  messageIds: string[];
  /** The reader's position afterwards (as it was when nothing was found; 0 for a non-participant). */
  lastReadSeq: number;
  /** The `read_status` event (payload: conversation_id, user_id, message_ids, last_read_seq, event_seq, event_id). */
  event: StoredEvent | null;
}

export interface NewEvent {
  kind: string;
  /** Builds the stored payload once the position and id are known (they go inside it). */
  payload: (position: number, id: string) => Record<string, unknown>;
  /** Queue a push decision in the same transaction as the event (conversation and user streams). */
  push?: PushDecisionInput;
}

/** Why a push may be owed; each reason has its own rule for who counts as offline (push-rules.ts). */
export type PushReason = 'consultation_reply' | 'customer_message' | 'mobile_notification' | 'direct_message';

/** The notification as a provider gets it (minus the recipient, chosen by the decision). */
export interface PushNotificationSpec {
  title: string;
  content: string;
  priority: PushPriority;
  deviceType: DeviceType;
  data?: Record<string, unknown>;
  /** Pushes with the same key replace each other on a device (one per conversation). */
  collapseKey?: string;
  /** Only to the user's mobile devices (mobile-only notices); the user-level provider still gets it. */
  onlyMobile?: boolean;
}

/**
 * A push decision queued together with the event it is about (same statement or transaction).
 * The event's conversation (or user, for a direct message) is filled in by the store.
 */
export interface PushDecisionInput {
  reason: PushReason;
  notification: PushNotificationSpec;
  /** Never pushed to (the sender of a message). */
  excludeUserId?: string | null;
  /**
   * Messages only: 'message' (default) gives each message its own decision; 'conversation' lets
   * the messages of a burst share one pending decision per conversation (`burst:<id>`).
   */
  key?: 'message' | 'conversation';
  /** Messages only: the decision is due this many ms after the message (a burst's window). Default 0. */
  delayMs?: number;
}

export type PushDevicePlatform = 'android' | 'ios' | 'web';
export type PushDeviceProvider = 'fcm' | 'apns' | 'webpush';

export interface PushDeviceRow {
  id: string;
  userId: string;
  platform: PushDevicePlatform;
  deviceType: DeviceType;
  provider: PushDeviceProvider;
  /** FCM registration token, APNs device token, or the Web Push endpoint: unique. */
  token: string;
  /** Web Push only. */
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } } | null;
  createdAt: Date;
  updatedAt: Date;
}

export type RegisterDeviceInput = Pick<PushDeviceRow, 'userId' | 'platform' | 'deviceType' | 'provider' | 'token'> & {
  subscription?: PushDeviceRow['subscription'];
};

/** One send a decision creates: to a user (user-level provider) or to one of their devices. */
export interface PushSendInput {
  userId: string;
  /** The device, for a device provider; null for logging / webhook. */
  deviceId: string | null;
  provider: string;
  notification: PushNotificationSpec;
}

export interface PushJobRow {
  /** Idempotency key: `message:<id>` / `event:<id>` for a decision, `<that>:<user id>` for a send. */
  id: string;
  kind: 'decide' | 'send';
  reason: PushReason;
  conversationId: string | null;
  userId: string | null;
  excludeUserId: string | null;
  /** send: the device (device providers) or null; decide: null. */
  deviceId: string | null;
  /** send: the provider making the attempt; decide: null. */
  provider: string | null;
  notification: PushNotificationSpec;
  state: PushJobState;
  /** Claims so far, this one included (the fence for finish/complete). */
  attempts: number;
  createdAt: Date;
  lastOutcome: PushAttemptOutcome | null;
  lastError: string | null;
}

export type PushJobState = 'pending' | 'delivered' | 'failed' | 'expired';
export type PushAttemptOutcome = 'success' | 'retryable' | 'permanent' | 'expired';

/** How a claimed job ends or waits; applied only if the job was not claimed again meanwhile. */
export type PushJobResult =
  | { state: 'delivered' | 'failed' | 'expired'; outcome: PushAttemptOutcome; error?: string | null }
  | { state: 'pending'; outcome: 'retryable'; retryInMs: number; error?: string | null };

export interface PushQueueCounts {
  pending: number;
  /** Age in ms of the oldest pending job (database clock), null when none is pending. */
  oldestPendingAgeMs: number | null;
  /** Sends finished and still retained (PUSH_RETENTION), by final state. */
  delivered: number;
  failed: number;
  expired: number;
}

export interface AttachmentRow {
  id: string;
  conversationId: string;
  uploaderId: string;
  fileName: string;
  mimeType: string;
  sizeBytes: number;
  storageKey: string;
  createdAt: Date;
}

export interface Store {
  users: {
    create(input: { username: string; displayName: string; role: Role; passwordHash: string }): Promise<UserRow>;
    findById(id: string): Promise<UserRow | null>;
    findByUsername(username: string): Promise<UserRow | null>;
    list(filter?: { role?: Role }): Promise<UserRow[]>;
    /** Replaces the password hash; false when there is no such user. */
    setPasswordHash(userId: string, passwordHash: string): Promise<boolean>;
  };
  conversations: {
    create(input: {
      title: string;
      createdBy: string;
      participants: Array<{ userId: string; role: Role }>;
    }): Promise<ConversationRow>;
    findById(id: string): Promise<ConversationRow | null>;
    /** Conversations the user takes part in, newest activity first. */
    listForUser(userId: string): Promise<ConversationSummary[]>;
    participants(conversationId: string): Promise<ParticipantRow[]>;
    isParticipant(conversationId: string, userId: string): Promise<boolean>;
    /** Idempotent: adding an existing participant changes nothing. */
    addParticipant(conversationId: string, userId: string, role: Role): Promise<void>;
    /** Those of `candidates` who take part in at least one conversation with `userId` (one statement). */
    sharingWith(userId: string, candidates: readonly string[]): Promise<string[]>;
    /** Admin search by title, participant display name or username (conversation-search.ts); newest activity first. */
    search(query: string, limit: number): Promise<ConversationMatch[]>;
    /** Takes the user out of the conversation; false when they were not in it. */
    removeParticipant(conversationId: string, userId: string): Promise<boolean>;
    /** Sets the title; false when there is no such conversation. */
    rename(conversationId: string, title: string): Promise<boolean>;
  };
  messages: {
    /** Assigns the conversation's next seq atomically; safe under concurrent appends. */
    append(input: AppendMessageInput): Promise<AppendMessageResult>;
    /** Ordered by seq ascending. */
    history(conversationId: string, query?: HistoryQuery): Promise<MessageRow[]>;
    /**
     * A read receipt, in one statement (read-receipt.ts): of `messageIds`, those in the
     * conversation move the reader's position forward to the newest of them (never backwards)
     * and are stored as the `read_status` event for the others. None of them there, or the
     * reader no participant: nothing changes and `event` is null.
     */
    recordRead(conversationId: string, readerId: string, messageIds: readonly string[]): Promise<ReadRecord>;
  };
  /**
   * Durable non-message events, each stream numbered 1, 2, 3 … (global may skip numbers).
   * `*After` return events with position > after, ascending, at most `limit`.
   */
  events: {
    appendToConversation(
      conversationId: string,
      event: NewEvent & { deviceTypes?: DeviceType[] | null; excludeUserId?: string | null },
    ): Promise<StoredEvent>;
    conversationAfter(conversationId: string, after: number, limit: number): Promise<StoredEvent[]>;
    appendToUser(userId: string, event: NewEvent): Promise<StoredEvent>;
    userAfter(userId: string, after: number, limit: number): Promise<StoredEvent[]>;
    appendGlobal(event: NewEvent): Promise<StoredEvent>;
    globalAfter(after: number, limit: number): Promise<StoredEvent[]>;
    /** Current end of the user's stream and of the global stream (0 when empty). */
    heads(userId: string): Promise<{ userSeq: number; globalSeq: number }>;
    /**
     * `heads` for many users in one statement: each known user's stream end (unknown users are
     * left out) and the global stream's end. Registrations of one event-loop turn share it. No
     * users: nothing is read (global 0).
     */
    userHeads(userIds: readonly string[]): Promise<{ globalSeq: number; userSeqs: Map<string, number> }>;
    /**
     * Every stream head of each of `userIds` (unknown users are left out): their conversations'
     * newest `seq` and `event_seq`, their own stream's end, and the global stream's end. Two
     * statements whatever the number of users (the `positions` frames, docs/delivery.md).
     */
    headsOf(userIds: readonly string[]): Promise<StreamHeads>;
  };
  /**
   * The durable push queue (docs/architecture.md, "Push queue"). Jobs are claimed with a lease:
   * a claimed job is invisible to other claims until `leaseMs` pass, so an instance that dies
   * mid-job leaves it to be claimed again. Every result is fenced by the claim's `attempts`: a
   * worker whose lease ran out and whose job was claimed again changes nothing.
   */
  pushJobs: {
    /**
     * Queue a decision on its own, for an event stored by someone else (prefer storing it with the
     * event: `messages.append({push})`, `events.append*({push})`). An existing id is kept: false.
     */
    enqueue(
      id: string,
      decision: PushDecisionInput & { conversationId?: string | null; userId?: string | null },
    ): Promise<boolean>;
    /** Up to `limit` due pending jobs, oldest due first, each leased for `leaseMs` (attempts + 1). */
    claim(limit: number, leaseMs: number): Promise<PushJobRow[]>;
    /**
     * A decision ran: store its sends (id `<decision>:<user>`, or `<decision>:<user>:<device>` for a
     * device; existing ids are kept as they are) and delete it, atomically. False, and nothing
     * stored, when its `attempts` no longer match (another claim owns it).
     */
    completeDecision(
      decision: Pick<PushJobRow, 'id' | 'attempts'>,
      sends: ReadonlyArray<PushSendInput>,
    ): Promise<boolean>;
    /**
     * Decisions that send nothing (every recipient was online), deleted by one statement; each
     * only while its `attempts` still match (as completeDecision with no sends). Resolves with the
     * ids deleted.
     */
    completeEmptyDecisions(decisions: ReadonlyArray<Pick<PushJobRow, 'id' | 'attempts'>>): Promise<Set<string>>;
    /** A decision could not run (e.g. presence unreachable): due again in `retryInMs`. */
    postponeDecision(decision: Pick<PushJobRow, 'id' | 'attempts'>, retryInMs: number, error: string): Promise<boolean>;
    /** Record a send's attempt: finished, or pending again in `retryInMs`. False if fenced off. */
    finish(job: Pick<PushJobRow, 'id' | 'attempts'>, result: PushJobResult): Promise<boolean>;
    find(id: string): Promise<PushJobRow | null>;
    counts(): Promise<PushQueueCounts>;
    /**
     * Pending jobs (decisions and sends) and the age in seconds of the oldest (null when none),
     * from at most `cap` pending rows (the due index), so a scrape's cost stays bounded however
     * long the queue grows (the metrics' queue gauges).
     */
    pendingSummary(cap: number): Promise<{ pending: number; oldestAgeSeconds: number | null }>;
    /** Finished sends still retained, by provider and final state (admin figures per provider). */
    countsByProvider(): Promise<Array<{ provider: string; delivered: number; failed: number; expired: number }>>;
    /** Deletes finished sends older than `olderThanMs`; returns how many. */
    prune(olderThanMs: number): Promise<number>;
  };
  /** Push targets users registered (POST /api/v1/devices). */
  devices: {
    /** Upsert by token: a known token is updated and moves to `userId`. `created` is false then. */
    register(input: RegisterDeviceInput): Promise<{ device: PushDeviceRow; created: boolean }>;
    listForUser(userId: string): Promise<PushDeviceRow[]>;
    /** The devices of several users, for one decision (one query). */
    listForUsers(userIds: readonly string[]): Promise<PushDeviceRow[]>;
    find(id: string): Promise<PushDeviceRow | null>;
    /** Deletes the device; with `userId`, only if it is theirs. Returns whether a row went. */
    delete(id: string, userId?: string): Promise<boolean>;
  };
  attachments: {
    create(input: Omit<AttachmentRow, 'createdAt'>): Promise<AttachmentRow>;
    findById(id: string): Promise<AttachmentRow | null>;
    delete(id: string): Promise<void>;
  };
  /** Simple liveness probe used by /health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
