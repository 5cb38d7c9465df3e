/** Database rows -> snake_case wire payloads (one place, shared by HTTP and WS). */
import { encodeFrame, type MessagePayload, type Role, ServerAction, serverFrame } from '@anmei/protocol';
import type { MessageRow } from '../db/store-types.ts';

/**
 * `senderRole` comes from the caller (the sender's token, or the conversation's cached
 * participants): messages carry no role column. Left out when unknown; always the last field.
 */
export function messageToWire(m: MessageRow, senderRole?: Role): MessagePayload {
  const wire: MessagePayload = {
    id: m.id,
    conversation_id: m.conversationId,
    seq: m.seq,
    sender_id: m.senderId,
    client_message_id: m.clientMessageId,
    message_type: m.messageType,
    content: m.content,
    metadata: m.metadata,
    created_at: m.createdAt.toISOString(),
  };
  if (senderRole !== undefined) wire.sender_role = senderRole;
  return wire;
}

/** The role of each participant by user id, to give replayed and listed messages their `sender_role`. */
export function rolesOf(participants: ReadonlyArray<{ userId: string; role: Role }>): Map<string, Role> {
  return new Map(participants.map((p) => [p.userId, p.role]));
}

/** The encoded `ack` answering a socket's `send_message` (the HTTP send answers with the same fields). */
export function encodeAck(
  requestId: string | null,
  message: MessageRow,
  clientMessageId: string,
  duplicate: boolean,
): string {
  return encodeFrame(
    serverFrame(ServerAction.ack, {
      request_id: requestId,
      message_id: message.id,
      conversation_id: message.conversationId,
      seq: message.seq,
      client_message_id: clientMessageId,
      duplicate,
      created_at: message.createdAt.toISOString(),
    }),
  );
}
