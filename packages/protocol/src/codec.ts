/**
 * Turning text into frames and back. Incoming text is parsed as `unknown`, then narrowed:
 * first "is it JSON", then "is the action known", then "does it match that action's schema",
 * so each failure gets its own catalogued code.
 */
import type { z } from 'zod';
import type { ErrorCode } from './codes.ts';
import { textLength } from './domain.ts';
import {
  ClientAction,
  type ClientFrame,
  PingFrame,
  ReadFrame,
  ResumeFrame,
  SendMessageFrame,
  ServerAction,
  type ServerDataOf,
  ServerFrame,
  type ServerFrameOf,
  TypingFrame,
  WatchPresenceFrame,
} from './frames.ts';

export type DecodeFailureCode = Extract<ErrorCode, 'MALFORMED_JSON' | 'UNKNOWN_ACTION' | 'INVALID_FRAME'>;

export type DecodeResult<F> =
  | { ok: true; frame: F }
  | { ok: false; code: DecodeFailureCode; message: string; requestId: string | null; issues: string[] };

const CLIENT_SCHEMAS: Record<ClientAction, z.ZodType> = {
  [ClientAction.sendMessage]: SendMessageFrame,
  [ClientAction.typing]: TypingFrame,
  [ClientAction.read]: ReadFrame,
  [ClientAction.ping]: PingFrame,
  [ClientAction.resume]: ResumeFrame,
  [ClientAction.watchPresence]: WatchPresenceFrame,
};
const SERVER_ACTIONS: ReadonlySet<string> = new Set(Object.values(ServerAction));

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function requestIdOf(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const id = (value as { request_id?: unknown }).request_id;
  // Counted as the schema counts (code points), so an id the schema accepts is always echoed.
  return typeof id === 'string' && id.length > 0 && textLength(id) <= 64 ? id : null;
}

function formatIssues(error: z.ZodError): string[] {
  return error.issues.slice(0, 10).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(frame)';
    return `${path}: ${issue.message}`;
  });
}

function decodeWith<F>(
  text: string,
  schemaFor: (action: string) => z.ZodType | undefined,
  side: 'client' | 'server',
): DecodeResult<F> {
  const parsed = parseJson(text);
  if (!parsed.ok) {
    return { ok: false, code: 'MALFORMED_JSON', message: 'The frame is not valid JSON.', requestId: null, issues: [] };
  }
  const value = parsed.value;
  const requestId = requestIdOf(value);
  const action = typeof value === 'object' && value !== null ? (value as { action?: unknown }).action : undefined;
  if (typeof action !== 'string') {
    return {
      ok: false,
      code: 'INVALID_FRAME',
      message: 'The frame must be a JSON object with a string "action".',
      requestId,
      issues: ['action: expected string'],
    };
  }
  const schema = schemaFor(action);
  if (!schema) {
    return {
      ok: false,
      code: 'UNKNOWN_ACTION',
      message: `Unknown ${side} action "${action.slice(0, 64)}".`,
      requestId,
      issues: [],
    };
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = formatIssues(result.error);
    return {
      ok: false,
      code: 'INVALID_FRAME',
      message: `Invalid "${action}" frame: ${issues.join('; ')}`,
      requestId,
      issues,
    };
  }
  return { ok: true, frame: result.data as F };
}

/** Decode a frame a client sent (server side). */
export function decodeClientFrame(text: string): DecodeResult<ClientFrame> {
  // Own keys only: a plain lookup would find Object.prototype members for "toString", "__proto__", …
  return decodeWith<ClientFrame>(
    text,
    (action) => (Object.hasOwn(CLIENT_SCHEMAS, action) ? CLIENT_SCHEMAS[action as ClientAction] : undefined),
    'client',
  );
}

/** Decode a frame the server sent (client side). */
export function decodeServerFrame(text: string): DecodeResult<ServerFrame> {
  return decodeWith<ServerFrame>(text, (action) => (SERVER_ACTIONS.has(action) ? ServerFrame : undefined), 'server');
}

/** Build a server frame with its timestamp. Serialize it with `encodeFrame` once per broadcast. */
export function serverFrame<A extends ServerAction>(
  action: A,
  data: ServerDataOf<A>,
  now: Date = new Date(),
): ServerFrameOf<A> {
  return { action, data, timestamp: now.toISOString() } as ServerFrameOf<A>;
}

export function encodeFrame(frame: ServerFrame | ClientFrame): string {
  return JSON.stringify(frame);
}
