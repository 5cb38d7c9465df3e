/**
 * The statement behind `messages.append`, built once per Store and prepared by name, so the hot
 * path neither rebuilds SQL nor holds a pool connection for more than one round trip.
 *
 *   with dup as (select id from messages where sender_id = :sender and client_message_id = :key),
 *        bumped as (update conversations
 *                   set last_seq = last_seq + 1, activity_seq = nextval('conversation_activity_seq')
 *                   where id = :conversation and not exists (select 1 from dup)
 *                   returning last_seq)
 *   insert into messages (...) select :id, :conversation, bumped.last_seq, ... from bumped
 *   returning *
 *
 * One statement is one implicit transaction: if the INSERT fails (e.g. the unique constraint on
 * (sender_id, client_message_id) against a twin that committed meanwhile) the bump rolls back
 * with it, so no seq is ever burned. The UPDATE's row lock serialises appends to a conversation;
 * under READ COMMITTED a waiting UPDATE re-reads the row it was blocked on, so seq is gap-free.
 * No row back means: a duplicate key (dup found), or no such conversation.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from './db-common.ts';
import { conversations, messages } from './schema.ts';
import type { AppendMessageInput, MessageRow } from './store-types.ts';

/** pg caches a named statement per connection; PGlite ignores the name (it is in-process). */
const APPEND_STATEMENT_NAME = 'anmei_messages_append';
const FIND_BY_CLIENT_ID_NAME = 'anmei_messages_find_by_client_id';

const p = sql.placeholder;

export interface AppendStatements {
  /** The inserted message, or null when nothing was inserted (duplicate key or no such conversation). */
  insert(input: AppendMessageInput): Promise<MessageRow | null>;
  /** The message this sender stored under this key, in any conversation. */
  findByClientId(senderId: string, clientMessageId: string): Promise<MessageRow | null>;
  conversationExists(conversationId: string): Promise<boolean>;
}

export function prepareAppendStatements(db: Db): AppendStatements {
  const dup = db.$with('dup').as(
    db
      .select({ id: messages.id })
      .from(messages)
      .where(and(eq(messages.senderId, p('senderId')), eq(messages.clientMessageId, p('clientMessageId')))),
  );
  // Raw SQL because drizzle's $with wraps a query builder in a second pair of parentheses,
  // which Postgres accepts only around SELECT. Same columns the old transaction updated.
  const bumped = db.$with('bumped', { lastSeq: conversations.lastSeq }).as(
    sql`update ${conversations}
        set ${sql.identifier(conversations.lastSeq.name)} = ${conversations.lastSeq} + 1,
            ${sql.identifier(conversations.activitySeq.name)} = nextval('conversation_activity_seq')
        where ${conversations.id} = ${p('conversationId')} and not exists (select 1 from ${dup})
        returning ${conversations.lastSeq}`,
  );
  // drizzle lists every insertable column of `messages` in table order; this select matches it.
  const insert = db
    .with(dup, bumped)
    .insert(messages)
    .select(
      sql`select ${p('id')}, ${p('conversationId')}, ${bumped.lastSeq}, ${p('senderId')}, ${p('clientMessageId')},
                 ${p('messageType')}, ${p('content')}, ${p('metadata')}::jsonb, now()
          from ${bumped}`,
    )
    .returning()
    .prepare(APPEND_STATEMENT_NAME);

  const byClientId = db
    .select()
    .from(messages)
    .where(and(eq(messages.senderId, p('senderId')), eq(messages.clientMessageId, p('clientMessageId'))))
    .limit(1)
    .prepare(FIND_BY_CLIENT_ID_NAME);

  return {
    async insert(input) {
      const [row] = await insert.execute({
        // Generated here, as the schema's $defaultFn does, because INSERT … SELECT skips it.
        id: crypto.randomUUID(),
        conversationId: input.conversationId,
        senderId: input.senderId,
        clientMessageId: input.clientMessageId,
        messageType: input.messageType,
        content: input.content,
        // The jsonb column's own encoding (drizzle's PgJsonb.mapToDriverValue); null stays SQL NULL.
        metadata: input.metadata == null ? null : JSON.stringify(input.metadata),
      });
      return row ?? null;
    },
    async findByClientId(senderId, clientMessageId) {
      const [row] = await byClientId.execute({ senderId, clientMessageId });
      return row ?? null;
    },
    async conversationExists(conversationId) {
      const [row] = await db
        .select({ id: conversations.id })
        .from(conversations)
        .where(eq(conversations.id, conversationId))
        .limit(1);
      return row !== undefined;
    },
  };
}
