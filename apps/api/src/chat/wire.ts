/** Database rows -> snake_case wire payloads (one place, shared by HTTP and WS). */
import type { MessagePayload } from '@anmei/protocol';
import type { MessageRow } from '../db/store-types.ts';

export function messageToWire(m: MessageRow): MessagePayload {
  return {
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
}
