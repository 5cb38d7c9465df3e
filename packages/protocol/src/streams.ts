/**
 * The durable streams a server frame can belong to, and its position there (docs/architecture.md,
 * "Durable streams and resume"). The one table from action to stream: the server uses it to drop
 * live frames a resume already replayed; a client can use it to drop duplicates.
 */
import { ServerAction, type ServerFrame } from './frames.ts';

/** Stream keys: a conversation's messages, its events, the user's own stream, the global notices. */
export const StreamKey = {
  messages: (conversationId: string): string => `m:${conversationId}`,
  events: (conversationId: string): string => `e:${conversationId}`,
  user: 'u',
  global: 'g',
} as const;

/** A frame's place in its stream: positions count 1, 2, 3 … per stream. */
export interface StreamPosition {
  stream: string;
  position: number;
}

/**
 * Where a durable frame sits; null for an ephemeral one (typing, acks, …) and for a durable
 * action built without its position (e.g. a consultation reply that is not a stored message).
 */
export function streamPositionOf(frame: ServerFrame): StreamPosition | null {
  switch (frame.action) {
    case ServerAction.newMessage:
      return at(StreamKey.messages(frame.data.conversation_id), frame.data.seq);
    case ServerAction.consultationReply:
      return at(StreamKey.messages(frame.data.conversation_id), frame.data.message?.seq);
    case ServerAction.readStatus:
    case ServerAction.mobileNotification:
    case ServerAction.eventSkipped:
      return at(StreamKey.events(frame.data.conversation_id), frame.data.event_seq);
    case ServerAction.systemNotification:
      if (frame.data.conversation_id === null) return at(StreamKey.global, frame.data.global_seq);
      return at(StreamKey.events(frame.data.conversation_id), frame.data.event_seq);
    case ServerAction.directMessage:
      return at(StreamKey.user, frame.data.user_seq);
    default:
      return null;
  }
}

function at(stream: string, position: number | undefined): StreamPosition | null {
  return typeof position === 'number' ? { stream, position } : null;
}
