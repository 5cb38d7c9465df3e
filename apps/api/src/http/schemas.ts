/**
 * Row → wire mappers of the HTTP answers. The schemas themselves live in @anmei/protocol
 * (packages/protocol/src/http/), shared with the web app.
 */
import type { Role, SentResponse, User } from '@anmei/protocol';
import { messageToWire } from '../chat/wire.ts';
import type { MessageRow, UserRow } from '../db/store-types.ts';

export function userToWire(u: UserRow): User {
  return { id: u.id, username: u.username, display_name: u.displayName, role: u.role };
}

/** Body of a SentResponse from a stored message; `senderRole` is the sender's (the caller's) role. */
export function sentBody(message: MessageRow, duplicate: boolean, senderRole: Role): SentResponse {
  return {
    status: 'sent',
    message_id: message.id,
    conversation_id: message.conversationId,
    seq: message.seq,
    client_message_id: message.clientMessageId,
    duplicate,
    created_at: message.createdAt.toISOString(),
    message: messageToWire(message, senderRole),
  };
}
