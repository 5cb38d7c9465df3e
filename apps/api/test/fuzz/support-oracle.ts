/**
 * What the server must answer to one fuzzed frame on one user's socket, and the check of the answer
 * that arrives. Decode failures are predicted with the protocol's own decoder (the generator's
 * `intent` cross-checks it); what a decoded frame does is predicted from docs/protocol.md and the
 * user's conversations. A send_message is judged when its answer arrives, against the user's
 * earlier sends: the same client_message_id again is a duplicate, or a conflict in another conversation.
 */
import { decodeClientFrame, type ErrorCode, type ServerFrame } from '@anmei/protocol';
import type { FuzzInput } from './support-frames.ts';

export type Expected =
  | { kind: 'error'; code: ErrorCode; requestId: string | null }
  | { kind: 'pong'; requestId: string | null; ts: number | undefined }
  | { kind: 'send'; requestId: string | null; conversationId: string; clientMessageId: string; content: string }
  /** watch_presence: the state of those of `userIds` the user shares a conversation with (never anyone else). */
  | { kind: 'presence'; requestId: string | null; userIds: readonly string[] }
  /** typing or read in one of the user's conversations: no answer at all. */
  | { kind: 'silent'; requestId: string | null }
  | {
      kind: 'resumed';
      requestId: string | null;
      conversations: Array<{ id: string; own: boolean }>;
      user: boolean;
      global: boolean;
    }
  /** The frame ends the connection with this close code and no error frame. */
  | { kind: 'close'; code: 1007 | 1009 };

/** A message the fuzz stored: what history must hold afterwards, and nothing else. */
export interface StoredMessage {
  messageId: string;
  conversationId: string;
  senderId: string;
  clientMessageId: string;
  content: string;
}

export interface OracleWorld {
  maxPayloadBytes: number;
  /** Every conversation that exists. */
  conversations: ReadonlySet<string>;
}

/** The answer owed to `input` by a socket of a user taking part in `own`. Throws when the generator and the decoder disagree. */
export function expectedFor(input: FuzzInput, own: ReadonlySet<string>, world: OracleWorld): Expected {
  switch (input.kind) {
    case 'badUtf8':
      return { kind: 'close', code: 1007 };
    case 'oversized':
      return { kind: 'close', code: 1009 };
    case 'binary':
      return input.bytes.length > world.maxPayloadBytes
        ? { kind: 'close', code: 1009 }
        : { kind: 'error', code: 'BINARY_FRAME_UNSUPPORTED', requestId: null };
    case 'text':
      break;
  }
  if (Buffer.byteLength(input.text, 'utf8') > world.maxPayloadBytes) return { kind: 'close', code: 1009 };
  const decoded = decodeClientFrame(input.text);
  if (input.intent !== 'unknown' && decoded.ok !== (input.intent === 'valid')) {
    const why = decoded.ok ? 'the decoder accepted it' : `the decoder refused it: ${decoded.issues.join('; ')}`;
    throw new Error(`generator meant this frame to be ${input.intent}, but ${why}: ${clip(input.text)}`);
  }
  if (!decoded.ok) return { kind: 'error', code: decoded.code, requestId: decoded.requestId };
  const frame = decoded.frame;
  const requestId = frame.request_id ?? null;
  const refusal = (conversationId: string): Expected | null => {
    if (own.has(conversationId)) return null;
    const code = world.conversations.has(conversationId) ? 'NOT_PARTICIPANT' : 'CONVERSATION_NOT_FOUND';
    return { kind: 'error', code, requestId };
  };
  switch (frame.action) {
    case 'ping':
      return { kind: 'pong', requestId, ts: frame.data?.ts };
    case 'send_message':
      return (
        refusal(frame.data.conversation_id) ?? {
          kind: 'send',
          requestId,
          conversationId: frame.data.conversation_id,
          clientMessageId: frame.data.client_message_id,
          content: frame.data.content,
        }
      );
    case 'typing':
    case 'read':
      return refusal(frame.data.conversation_id) ?? { kind: 'silent', requestId };
    case 'resume':
      return {
        kind: 'resumed',
        requestId,
        conversations: frame.data.conversations.map((c) => ({
          id: c.conversation_id,
          own: own.has(c.conversation_id),
        })),
        user: frame.data.user_seq !== undefined,
        global: frame.data.global_seq !== undefined,
      };
    case 'watch_presence':
      return { kind: 'presence', requestId, userIds: frame.data.user_ids };
  }
}

/** The user's sends so far, by client_message_id (unique per sender). */
export type SentByClientId = Map<string, StoredMessage>;

/**
 * Why `frame` is not the answer `expected` owes, or null when it is. A send that is answered as
 * expected is recorded in `sent` (and returned through `stored` when it created a message).
 */
export function checkAnswer(
  expected: Expected,
  frame: ServerFrame,
  sender: { userId: string; sent: SentByClientId },
  stored: (message: StoredMessage) => void,
): string | null {
  const got = clip(JSON.stringify(frame));
  switch (expected.kind) {
    case 'error':
      return frame.action === 'error' &&
        frame.data.code === expected.code &&
        frame.data.request_id === expected.requestId
        ? null
        : `expected error ${expected.code} (request_id ${JSON.stringify(expected.requestId)}), got ${got}`;
    case 'pong':
      // JSON has no -0: an echoed -0 arrives as 0, and === treats them as equal.
      return frame.action === 'pong' && frame.data.ts === expected.ts
        ? null
        : `expected pong ts=${expected.ts}, got ${got}`;
    case 'resumed': {
      if (frame.action !== 'resumed' || frame.data.request_id !== expected.requestId)
        return `expected resumed, got ${got}`;
      const statuses = frame.data.conversations.map(
        (c) => `${c.conversation_id}:${c.status === 'forbidden' ? 'no' : 'yes'}`,
      );
      const wanted = expected.conversations.map((c) => `${c.id}:${c.own ? 'yes' : 'no'}`);
      if (statuses.join() !== wanted.join()) return `expected resumed statuses ${wanted.join()}, got ${got}`;
      if ((frame.data.user !== undefined) !== expected.user || (frame.data.global !== undefined) !== expected.global) {
        return `expected resumed with user=${expected.user} global=${expected.global}, got ${got}`;
      }
      return null;
    }
    case 'send': {
      const prior = sender.sent.get(expected.clientMessageId);
      if (prior && prior.conversationId !== expected.conversationId) {
        return frame.action === 'error' &&
          frame.data.code === 'CLIENT_MESSAGE_ID_CONFLICT' &&
          frame.data.request_id === expected.requestId
          ? null
          : `expected CLIENT_MESSAGE_ID_CONFLICT (id used in ${prior.conversationId}), got ${got}`;
      }
      if (
        frame.action !== 'ack' ||
        frame.data.request_id !== expected.requestId ||
        frame.data.conversation_id !== expected.conversationId ||
        frame.data.client_message_id !== expected.clientMessageId ||
        frame.data.duplicate !== (prior !== undefined) ||
        (prior !== undefined && frame.data.message_id !== prior.messageId)
      ) {
        return `expected ack (duplicate: ${prior !== undefined}) for ${clip(expected.clientMessageId)}, got ${got}`;
      }
      if (!prior) {
        const message = {
          messageId: frame.data.message_id,
          conversationId: expected.conversationId,
          senderId: sender.userId,
          clientMessageId: expected.clientMessageId,
          content: expected.content,
        };
        sender.sent.set(expected.clientMessageId, message);
        stored(message);
      }
      return null;
    }
    case 'presence': {
      if (frame.action !== 'presence' || frame.data.reason !== 'watch' || frame.data.request_id !== expected.requestId)
        return `expected presence (watch) for request ${JSON.stringify(expected.requestId)}, got ${got}`;
      const stranger = frame.data.users.find((u) => !expected.userIds.includes(u.user_id));
      return stranger ? `presence reported ${stranger.user_id}, who was not asked for: ${got}` : null;
    }
    case 'silent':
    case 'close':
      return `nothing was owed, got ${got}`;
  }
}

export function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}
