/**
 * Drizzle schema for the API's tables. Tables are declared with `pgTable` (no pgSchema) so the
 * generated SQL is unqualified and lands in whatever schema the connection's search_path selects;
 * that is how tests isolate themselves inside a shared Postgres database.
 */
import { MESSAGE_TYPES, type MessageType, ROLES, type Role } from '@anmei/protocol';
import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique } from 'drizzle-orm/pg-core';

/** `'a', 'b', ...` for an IN (...) check; the values are compile-time constants, never user input. */
const inList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(', '));

const newId = () => crypto.randomUUID();

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    username: text('username').notNull().unique('users_username_unique'),
    displayName: text('display_name').notNull(),
    role: text('role').$type<Role>().notNull(),
    passwordHash: text('password_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
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
