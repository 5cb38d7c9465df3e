/** Conversations, history, send, read and participants over HTTP (`/api/v1/conversations`, `/api/v1/chat/*`). */
import { z } from 'zod';
import { LIMITS, ROLES } from '../domain.ts';
import { Id, MessagePayload, MessageSent, SendMessageInput } from '../payloads.ts';
import { CommonProblems, ConversationIdParams, Problem, positionQuery } from './common.ts';

export const ConversationParticipant = z.object({
  user_id: z.string(),
  role: z.enum(ROLES),
  display_name: z.string(),
  last_read_seq: z.number(),
  online: z.boolean(),
});
export type ConversationParticipant = z.infer<typeof ConversationParticipant>;

export const ConversationSummary = z.object({
  id: z.string(),
  title: z.string(),
  last_seq: z.number(),
  /** Newest conversation event position (read receipts, notices): a client's starting lastEventSeq for track(). */
  last_event_seq: z.number(),
  unread_count: z.number(),
  last_message: MessagePayload.nullable(),
  participants: z.array(ConversationParticipant),
});
export type ConversationSummary = z.infer<typeof ConversationSummary>;

export const ConversationListResponse = z.object({ conversations: z.array(ConversationSummary) });
export type ConversationListResponse = z.infer<typeof ConversationListResponse>;

export const HistoryQuery = z.object({
  before_seq: positionQuery(1).optional(),
  after_seq: positionQuery().optional(),
  limit: z.coerce.number().int().min(1).max(LIMITS.historyPageMax).default(50),
});
export const HistoryResponse = z.object({ messages: z.array(MessagePayload), has_more: z.boolean() });
export type HistoryResponse = z.infer<typeof HistoryResponse>;

/** The WS send_message input; client_message_id may be left out over HTTP (then no idempotency). */
export const SendBody = SendMessageInput.partial({ client_message_id: true });
export type SendBody = z.input<typeof SendBody>;

/** Answer of every route that stores a message (send, attachment upload): the WS ack's data, and the message. */
export const SentResponse = z.object({
  status: z.literal('sent'),
  ...MessageSent.shape,
  message: MessagePayload,
});
export type SentResponse = z.infer<typeof SentResponse>;

export const ReadBody = z.strictObject({ message_ids: z.array(Id).min(1).max(LIMITS.readReceiptMaxIds) });
export type ReadBody = z.infer<typeof ReadBody>;
export const ReadResponse = z.object({ last_read_seq: z.number(), message_ids: z.array(z.string()) });
export type ReadResponse = z.infer<typeof ReadResponse>;

export const AddParticipantBody = z.strictObject({ user_id: Id });
export const AddParticipantResponse = z.object({
  /** false when the user already took part: nothing changed. */
  added: z.boolean(),
  user: z.object({ id: z.string(), role: z.enum(ROLES), display_name: z.string() }),
});
export type AddParticipantResponse = z.infer<typeof AddParticipantResponse>;

export const ChatSchemas = {
  listConversations: { response: { 200: ConversationListResponse, 401: Problem } },
  history: {
    params: ConversationIdParams,
    querystring: HistoryQuery,
    response: { 200: HistoryResponse, ...CommonProblems },
  },
  /** 409 is CLIENT_MESSAGE_ID_CONFLICT (the id was used in another conversation). */
  send: {
    params: ConversationIdParams,
    body: SendBody,
    response: { 200: SentResponse, ...CommonProblems, 409: Problem },
  },
  read: { params: ConversationIdParams, body: ReadBody, response: { 200: ReadResponse, ...CommonProblems } },
  addParticipant: {
    params: ConversationIdParams,
    body: AddParticipantBody,
    response: { 200: AddParticipantResponse, ...CommonProblems },
  },
} as const;
