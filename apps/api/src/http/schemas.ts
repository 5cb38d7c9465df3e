/** Zod schemas of HTTP bodies shared by several routes (and shown at /docs). */
import { type ErrorCode, ErrorCodes, Id, MESSAGE_TYPES, ROLES, withPositionRange } from '@anmei/protocol';
import { z } from 'zod';
import { messageToWire } from '../chat/wire.ts';
import type { MessageRow, UserRow } from '../db/store-types.ts';

export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number(),
  code: z.enum(Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]]),
  detail: z.string(),
  instance: z.string().optional(),
  issues: z.array(z.string()).optional(),
});

export const UserSchema = z.object({
  id: z.string(),
  username: z.string(),
  display_name: z.string(),
  role: z.enum(ROLES),
});

export function userToWire(u: UserRow): z.infer<typeof UserSchema> {
  return { id: u.id, username: u.username, display_name: u.displayName, role: u.role };
}

export const MessageSchema = z.object({
  id: z.string(),
  conversation_id: z.string(),
  seq: z.number(),
  sender_id: z.string(),
  client_message_id: z.string().nullable(),
  message_type: z.enum(MESSAGE_TYPES),
  content: z.string(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.string(),
});

/** Path parameters are ids: storable text (a `%00` in the path is VALIDATION_FAILED, not a database error). */
export const ConversationIdParams = z.object({ conversation_id: Id });

/** A position in a query string (`after_seq=41`): a whole number from `min` up to LIMITS.positionMax. */
export const positionQuery = (min: 0 | 1 = 0) => withPositionRange(z.coerce.number()).min(min);

/** The error statuses most routes can answer with (each a problem+json body); 503 is DATABASE_UNAVAILABLE. */
export const CommonProblems = {
  400: ProblemSchema,
  401: ProblemSchema,
  403: ProblemSchema,
  404: ProblemSchema,
  503: ProblemSchema,
};

/** Answer of every route that stores a message (send, attachment upload). */
export const SentSchema = z.object({
  status: z.literal('sent'),
  message_id: z.string(),
  seq: z.number(),
  /** true when the client_message_id was already stored: nothing new was created. */
  duplicate: z.boolean(),
  message: MessageSchema,
});

/** Body of a SentSchema answer from a stored message. */
export function sentBody(message: MessageRow, duplicate: boolean): z.infer<typeof SentSchema> {
  return { status: 'sent', message_id: message.id, seq: message.seq, duplicate, message: messageToWire(message) };
}
