/**
 * Wire format <-> UI model (seed: adapters/messageAdapter.ts). Server frames are snake_case
 * with ISO date strings; the UI model is camelCase with `Date`s. The mapping is one generic
 * rule, stated once for types (`UiModel`) and values (`toUiModel`):
 *   - keys: snake_case -> camelCase;
 *   - `*_at` keys, `server_time` and the frame `timestamp`: ISO string -> Date;
 *   - `metadata` and a payload's own `data`: app-defined key/values, passed through untouched.
 */
import type {
  ClientFrame,
  ReadFrame,
  SendMessageFrame,
  ServerAction,
  ServerDataOf,
  ServerFrame,
  TypingFrame,
} from '@anmei/protocol';

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;
type OpaqueKey = 'metadata' | 'data' | 'by_instance' | 'by_role' | 'by_device_type';
type DateKey = `${string}_at` | 'server_time';
type DateOf<T> = T extends string ? Date : T;

/** The UI shape of a wire value. */
export type UiModel<T> = T extends readonly (infer E)[]
  ? UiModel<E>[]
  : T extends object
    ? {
        [K in keyof T as K extends string ? CamelCase<K> : K]: K extends OpaqueKey
          ? T[K]
          : K extends DateKey
            ? DateOf<T[K]>
            : UiModel<T[K]>;
      }
    : T;

/** A server frame as handlers and `lastMessage` see it. */
export interface UiFrameOf<A extends ServerAction> {
  action: A;
  data: UiModel<ServerDataOf<A>>;
  timestamp: Date;
}
export type UiFrame = { [A in ServerAction]: UiFrameOf<A> }[ServerAction];

/** A stored chat message in the UI model. */
export type ChatMessage = UiModel<ServerDataOf<'new_message'>>;
/** What `send()` resolves with: the server's ack in the UI model. */
export type SendResult = Omit<UiModel<ServerDataOf<'ack'>>, 'requestId'>;

/** Values whose keys are data, not field names: app payloads and the stats maps (`by_instance` keys are instance ids). */
const OPAQUE: ReadonlySet<string> = new Set(['metadata', 'data', 'by_instance', 'by_role', 'by_device_type']);

export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

function isDateKey(key: string): boolean {
  return key.endsWith('_at') || key === 'server_time';
}

function convert(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(convert);
  if (typeof value !== 'object' || value === null) return value;
  // fromEntries defines own properties, so a "__proto__" key cannot change the prototype.
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => {
      if (OPAQUE.has(key)) return [camelCase(key), inner];
      if (isDateKey(key) && typeof inner === 'string') return [camelCase(key), new Date(inner)];
      return [camelCase(key), convert(inner)];
    }),
  );
}

/** Converts any wire payload to its UI model. */
export function toUiModel<T>(value: T): UiModel<T> {
  return convert(value) as UiModel<T>;
}

/** A decoded server frame -> its UI model. */
export function toUiFrame(frame: ServerFrame): UiFrame {
  return { action: frame.action, data: toUiModel(frame.data), timestamp: new Date(frame.timestamp) } as UiFrame;
}

export function toSendResult(ack: ServerDataOf<'ack'>): SendResult {
  const { requestId: _requestId, ...result } = toUiModel(ack);
  return result;
}

// ------------------------------------------------------------------ UI -> wire

export interface OutgoingMessage {
  conversationId: string;
  clientMessageId: string;
  content: string;
}

/** A message in the outbox, in the UI model: what a UI shows as "sending". */
export interface PendingMessage extends OutgoingMessage {
  /** When `send()` was called (before the reload, for a restored message). */
  createdAt: Date;
  /** When it is given up with EXPIRED. */
  expiresAt: Date;
  /** Loaded from the outbox storage rather than sent by this page. */
  restored: boolean;
}

export function toPendingMessage(message: {
  conversationId: string;
  clientMessageId: string;
  content: string;
  createdAt: number;
  expiresAt: number;
  restored: boolean;
}): PendingMessage {
  return {
    conversationId: message.conversationId,
    clientMessageId: message.clientMessageId,
    content: message.content,
    createdAt: new Date(message.createdAt),
    expiresAt: new Date(message.expiresAt),
    restored: message.restored,
  };
}

export function toSendMessageFrame(message: OutgoingMessage, requestId: string): SendMessageFrame {
  return {
    action: 'send_message',
    request_id: requestId,
    data: {
      conversation_id: message.conversationId,
      client_message_id: message.clientMessageId,
      content: message.content,
      message_type: 'text',
    },
  };
}

export function toTypingFrame(conversationId: string, isTyping: boolean): TypingFrame {
  return { action: 'typing', data: { conversation_id: conversationId, is_typing: isTyping } };
}

export function toReadFrame(conversationId: string, messageIds: readonly string[]): ReadFrame {
  return { action: 'read', data: { conversation_id: conversationId, message_ids: [...messageIds] } };
}

export function toPingFrame(ts: number): ClientFrame {
  return { action: 'ping', data: { ts } };
}
