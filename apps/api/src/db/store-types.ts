/**
 * What the rest of the API needs from the database. Implemented once with drizzle over
 * either PGlite (embedded default) or node-postgres (DATABASE_URL); both pass one suite.
 * Rows use camelCase; HTTP/WS code maps them to the snake_case wire payloads.
 */
import type { DeviceType, MessageType, Role } from '@anmei/protocol';

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

export interface NewEvent {
  kind: string;
  /** Builds the stored payload once the position and id are known (they go inside it). */
  payload: (position: number, id: string) => Record<string, unknown>;
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
  };
  messages: {
    /** Assigns the conversation's next seq atomically; safe under concurrent appends. */
    append(input: AppendMessageInput): Promise<AppendMessageResult>;
    /** Ordered by seq ascending. */
    history(conversationId: string, query?: HistoryQuery): Promise<MessageRow[]>;
    findByIds(conversationId: string, ids: readonly string[]): Promise<MessageRow[]>;
    /** Moves the reader's position forward to upToSeq (never backwards); returns the new position. */
    markRead(conversationId: string, userId: string, upToSeq: number): Promise<number>;
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
