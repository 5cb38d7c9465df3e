/**
 * Drizzle schema for the API's tables. Tables are declared with `pgTable` (no pgSchema) so the
 * generated SQL is unqualified and lands in whatever schema the connection's search_path selects;
 * that is how tests isolate themselves inside a shared Postgres database.
 */

import type { DeviceType } from '@anmei/protocol';
import { MESSAGE_TYPES, type MessageType, ROLES, type Role } from '@anmei/protocol';
import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  integer,
  json,
  jsonb,
  pgSequence,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
} from 'drizzle-orm/pg-core';

/** `'a', 'b', ...` for an IN (...) check; the values are compile-time constants, never user input. */
const inList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(', '));

const newId = () => crypto.randomUUID();

/** Source of conversations.activity_seq (see there). */
export const conversationActivitySeq = pgSequence('conversation_activity_seq');

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    username: text('username').notNull().unique('users_username_unique'),
    displayName: text('display_name').notNull(),
    role: text('role').$type<Role>().notNull(),
    passwordHash: text('password_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** seq of the newest event in the user's own stream (direct messages). */
    lastEventSeq: integer('last_event_seq').notNull().default(0),
  },
  (t) => [check('users_role_check', sql`${t.role} in (${inList(ROLES)})`)],
);

export const conversations = pgTable('conversations', {
  id: text('id').primaryKey().$defaultFn(newId),
  title: text('title').notNull(),
  createdBy: text('created_by')
    .notNull()
    .references(() => users.id),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /** seq of the newest message (0 = empty); the row is the lock that serialises appends. */
  lastSeq: integer('last_seq').notNull().default(0),
  /**
   * Orders conversations by newest activity. Taken from one database sequence on create and on
   * every message, so ties cannot happen (timestamps can: PGlite's clock has 1 ms resolution).
   */
  activitySeq: bigint('activity_seq', { mode: 'number' }).notNull().default(sql`nextval('conversation_activity_seq')`),
});

/**
 * event_seq of the newest durable non-message event (read receipt, notice) of a conversation; no
 * row = 0. A table of its own, not a column of `conversations`: bumping it takes this row's lock,
 * and on the conversation's row every read receipt waited for the message appends (which take that
 * row's lock) and they for it, so a chat where everyone reads what arrives fell behind
 * (docs/benchmarks.md, round 6, "Tenth pass").
 */
export const conversationEventHeads = pgTable('conversation_event_heads', {
  conversationId: text('conversation_id')
    .primaryKey()
    .references(() => conversations.id, { onDelete: 'cascade' }),
  lastEventSeq: integer('last_event_seq').notNull(),
});

export const participants = pgTable(
  'participants',
  {
    conversationId: text('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    /** The participant's role in this conversation (usually their user role). */
    role: text('role').$type<Role>().notNull(),
    joinedAt: timestamp('joined_at', { withTimezone: true }).notNull().defaultNow(),
    lastReadSeq: integer('last_read_seq').notNull().default(0),
  },
  (t) => [
    primaryKey({ name: 'participants_pk', columns: [t.conversationId, t.userId] }),
    index('participants_user_id_idx').on(t.userId),
    check('participants_role_check', sql`${t.role} in (${inList(ROLES)})`),
  ],
);

export const messages = pgTable(
  'messages',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    conversationId: text('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    senderId: text('sender_id')
      .notNull()
      .references(() => users.id),
    /** Client-chosen idempotency key; NULLs never collide in the unique constraint below. */
    clientMessageId: text('client_message_id'),
    messageType: text('message_type').$type<MessageType>().notNull(),
    content: text('content').notNull(),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique('messages_conversation_seq_unique').on(t.conversationId, t.seq),
    unique('messages_sender_client_message_unique').on(t.senderId, t.clientMessageId),
    check('messages_message_type_check', sql`${t.messageType} in (${inList(MESSAGE_TYPES)})`),
  ],
);

/**
 * Durable conversation events other than messages (read receipts, system and mobile notices),
 * numbered per conversation by event_seq so a reconnecting client can replay what it missed.
 * `payload` is the frame's `data` exactly as it was sent live.
 */
export const conversationEvents = pgTable(
  'conversation_events',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    conversationId: text('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    eventSeq: integer('event_seq').notNull(),
    kind: text('kind').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    /** Replay only to these device types (mobile-only notices); null = every device. */
    deviceTypes: jsonb('device_types').$type<DeviceType[]>(),
    /** Not replayed to this user (the reader of a read receipt). */
    excludeUserId: text('exclude_user_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('conversation_events_seq_unique').on(t.conversationId, t.eventSeq)],
);

/** Durable events for one user (direct messages), numbered per user. */
export const userEvents = pgTable(
  'user_events',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    kind: text('kind').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('user_events_seq_unique').on(t.userId, t.seq)],
);

/** Durable notices to everyone; `seq` is increasing (it may skip numbers after a rollback). */
export const globalEvents = pgTable('global_events', {
  seq: integer('seq').primaryKey().generatedAlwaysAsIdentity(),
  id: text('id').notNull().unique('global_events_id_unique').$defaultFn(newId),
  kind: text('kind').notNull(),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Uploaded files (images, documents, voice notes); the bytes live in AttachmentStorage under storage_key. */
export const attachments = pgTable(
  'attachments',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    conversationId: text('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    uploaderId: text('uploader_id')
      .notNull()
      .references(() => users.id),
    fileName: text('file_name').notNull(),
    mimeType: text('mime_type').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    storageKey: text('storage_key').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('attachments_conversation_idx').on(t.conversationId)],
);

/**
 * The durable push queue (a transactional outbox; docs/architecture.md "Push queue"). A `decide`
 * row is written in the same statement or transaction that stores the event it is about, so a
 * stored event can never lose its pushes to a crash; a worker later expands it into one `send`
 * row per offline recipient. `id` is the idempotency key: `<event key>` for a decision,
 * `<event key>:<user id>` for a send, so running a decision twice creates each send once.
 */
export const pushJobs = pgTable(
  'push_jobs',
  {
    id: text('id').primaryKey(),
    kind: text('kind').$type<'decide' | 'send'>().notNull(),
    /** Why the push exists, which also says who is "offline": consultation_reply | mobile_notification | direct_message. */
    reason: text('reason').notNull(),
    conversationId: text('conversation_id'),
    /** send: the recipient. decide: the one target of a direct message (null otherwise). */
    userId: text('user_id'),
    /** decide: the sender, who never gets a push for their own message. */
    excludeUserId: text('exclude_user_id'),
    /**
     * `{title, content, priority, deviceType, data?}` as the provider gets it. `json`, not `jsonb`:
     * the text is kept as written, so `data` keeps its key order (the seed's log format shows it).
     */
    notification: json('notification').$type<Record<string, unknown>>().notNull(),
    /** pending, then (sends only) delivered | failed | expired. Finished decisions are deleted. */
    state: text('state').notNull().default('pending'),
    /** Claims so far; a claim's attempt number also fences its result (see PushQueue.finish). */
    attempts: integer('attempts').notNull().default(0),
    /** When the job may be claimed next (database clock); while it is claimed, the end of the lease. */
    runAt: timestamp('run_at', { withTimezone: true }).notNull().defaultNow(),
    /** When the event was stored; the maximum age counts from here. */
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** send to a registered device (FCM, APNs, Web Push): the device; null for a user-level provider (logging, webhook). */
    deviceId: text('device_id'),
    /** send: the provider that makes the attempt (fcm | apns | webpush | logging | webhook), for per-provider figures. */
    provider: text('provider'),
    /** Outcome of the latest attempt: success | retryable | permanent | expired. */
    lastOutcome: text('last_outcome'),
    /** The provider's reason for the latest failure (never a credential). */
    lastError: text('last_error'),
  },
  (t) => [
    index('push_jobs_due_idx').on(t.runAt).where(sql`${t.state} = 'pending'`),
    index('push_jobs_finished_idx').on(t.finishedAt).where(sql`${t.state} <> 'pending'`),
    check('push_jobs_kind_check', sql`${t.kind} in ('decide', 'send')`),
    check('push_jobs_state_check', sql`${t.state} in ('pending', 'delivered', 'failed', 'expired')`),
  ],
);

/**
 * Devices a user registered for push (POST /api/v1/devices). `token` is what identifies the
 * device to its push service (an FCM registration token, an APNs device token, or a Web Push
 * endpoint) and is unique: registering it again updates the row, and a token registered by
 * another user moves to that user (a shared or resold phone). Deleted when the push service says
 * the token is gone (FCM UNREGISTERED, APNs 410, Web Push 404/410) or by the user.
 */
export const pushDevices = pgTable(
  'push_devices',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    platform: text('platform').$type<'android' | 'ios' | 'web'>().notNull(),
    deviceType: text('device_type').$type<DeviceType>().notNull(),
    /** Which provider reaches the device: fcm | apns | webpush. */
    provider: text('provider').$type<'fcm' | 'apns' | 'webpush'>().notNull(),
    token: text('token').notNull().unique('push_devices_token_unique'),
    /** Web Push only: `{endpoint, keys: {p256dh, auth}}`. */
    subscription: jsonb('subscription').$type<{ endpoint: string; keys: { p256dh: string; auth: string } }>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Last time the device registered (apps register on every start). */
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('push_devices_user_idx').on(t.userId),
    check('push_devices_platform_check', sql`${t.platform} in ('android', 'ios', 'web')`),
    check('push_devices_provider_check', sql`${t.provider} in ('fcm', 'apns', 'webpush')`),
  ],
);
