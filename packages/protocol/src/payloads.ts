/**
 * Payload schemas that appear inside frames and HTTP bodies (snake_case on the wire).
 * Server-to-client objects are `z.object`, which strips unknown keys, so older clients tolerate added fields;
 * client-to-server objects are `strictObject` so typos are reported, not ignored.
 */
import { z } from 'zod';
import { DEVICE_TYPES, LIMITS, MESSAGE_TYPES, PUSH_PRIORITIES, ROLES } from './domain.ts';
import { StorableText } from './storable.ts';

/** Ids are stored and looked up in the database, so they are storable text (no U+0000, no lone surrogate). */
export const Id = StorableText.min(1).max(64);
export const IsoDate = z.string();

export const MessagePayload = z.object({
  id: Id,
  conversation_id: Id,
  /** Position of the message in its conversation: 1, 2, 3, … with no gaps. */
  seq: z.number().int().positive(),
  sender_id: Id,
  sender_role: z.enum(ROLES).optional(),
  sender_name: z.string().optional(),
  client_message_id: z.string().nullable(),
  message_type: z.enum(MESSAGE_TYPES),
  content: z.string(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  created_at: IsoDate,
});
export type MessagePayload = z.infer<typeof MessagePayload>;

export const ConsultationReplyPayload = z.object({
  conversation_id: Id,
  consultant_id: Id,
  content: z.string(),
  consultant_name: z.string().optional(),
  reply_type: z.string().optional(),
  /** The stored message this reply is: always sent; its `seq` is the frame's position. */
  message: MessagePayload,
});
export type ConsultationReplyPayload = z.infer<typeof ConsultationReplyPayload>;

export const TypingStatusPayload = z.object({
  conversation_id: Id,
  user_id: Id,
  is_typing: z.boolean(),
});
export type TypingStatusPayload = z.infer<typeof TypingStatusPayload>;

/** Position of a durable conversation event (not a message) and its id, for replay and dedupe. */
const ConversationEventPosition = {
  /** 1, 2, 3 … per conversation, separate from message seq. */
  event_seq: z.number().int().positive().optional(),
  event_id: Id.optional(),
};

export const ReadStatusPayload = z.object({
  conversation_id: Id,
  user_id: Id,
  message_ids: z.array(Id),
  /** The reader's read position after this receipt (all messages up to it are read). */
  last_read_seq: z.number().int().nonnegative().nullable(),
  ...ConversationEventPosition,
});
export type ReadStatusPayload = z.infer<typeof ReadStatusPayload>;

export const SystemNotificationPayload = z.object({
  /** null when the notice goes to everyone connected, not to one conversation. */
  conversation_id: Id.nullable(),
  title: z.string(),
  message: z.string(),
  type: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
  /** Set when conversation_id is set. */
  ...ConversationEventPosition,
  /** Set when conversation_id is null (a notice to everyone): position in the global stream. */
  global_seq: z.number().int().positive().optional(),
});
export type SystemNotificationPayload = z.infer<typeof SystemNotificationPayload>;

export const DirectMessagePayload = z.object({
  user_id: Id,
  title: z.string().optional(),
  content: z.string(),
  type: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  /** 1, 2, 3 … in the recipient's own stream. */
  user_seq: z.number().int().positive().optional(),
  event_id: Id.optional(),
});
export type DirectMessagePayload = z.infer<typeof DirectMessagePayload>;

export const MobileNotificationPayload = z.object({
  conversation_id: Id,
  title: z.string(),
  content: z.string(),
  action: z.string().optional(),
  priority: z.enum(PUSH_PRIORITIES).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  ...ConversationEventPosition,
});
export type MobileNotificationPayload = z.infer<typeof MobileNotificationPayload>;

export const DeviceInfo = z.object({
  connection_id: Id,
  device_type: z.enum(DEVICE_TYPES),
  connected_at: IsoDate,
  /** The API instance holding the socket (for admins watching the cluster). */
  instance_id: z.string(),
});
export type DeviceInfo = z.infer<typeof DeviceInfo>;

/**
 * Limits of a text message, shared with the HTTP send route. Not trimmed: whitespace and a U+FEFF are
 * stored as part of the text (PGlite's reader drops a leading U+FEFF: docs/protocol.md, Limits).
 */
export const MessageContent = StorableText.min(1).max(LIMITS.messageContentMaxChars);
export const ClientMessageId = StorableText.min(1).max(LIMITS.clientMessageIdMaxChars);

/**
 * A text message as a client sends it: the WS `send_message` frame's `data` (with `conversation_id`)
 * and, with `client_message_id` optional, the body of HTTP `POST /api/v1/chat/{id}/send`.
 */
export const SendMessageInput = z.strictObject({
  /** Chosen by the client (a UUID); resending the same id never creates a second message. */
  client_message_id: ClientMessageId,
  content: MessageContent,
  message_type: z.literal('text').optional(),
});
export type SendMessageInput = z.infer<typeof SendMessageInput>;

/**
 * What storing a message answers, over both transports: the WS `ack` frame's `data` (plus its
 * `request_id`) and the HTTP send and upload answers (plus `status` and the stored `message`).
 */
export const MessageSent = z.object({
  message_id: Id,
  conversation_id: Id,
  seq: z.number().int().positive(),
  /** null only over HTTP, where it is optional. */
  client_message_id: z.string().nullable(),
  /** true when this client_message_id was already stored: nothing new was created. */
  duplicate: z.boolean(),
  created_at: IsoDate,
});
export type MessageSent = z.infer<typeof MessageSent>;
