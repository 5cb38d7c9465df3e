/** Server frames for the delivery tracker's unit tests (no socket involved). */
import { type ServerFrame, serverFrame } from '@anmei/protocol';

/** The conversation most tracker tests use. */
export const C = 'conv-1';

/** A `new_message` at `seq` in `conversationId`, from another user. */
export function message(seq: number, conversationId = C): ServerFrame {
  return serverFrame('new_message', {
    id: `m-${conversationId}-${seq}`,
    conversation_id: conversationId,
    seq,
    sender_id: 'u2',
    client_message_id: null,
    message_type: 'text',
    content: `#${seq}`,
    metadata: null,
    created_at: new Date(0).toISOString(),
  });
}
