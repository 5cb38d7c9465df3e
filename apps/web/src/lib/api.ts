/**
 * HTTP API calls. The browser talks to the same origin (`/api/v1/...`); the Next.js route handler
 * in app/api/v1/[...path] forwards to the API server (which serves no CORS headers).
 */
import {
  ATTACHMENT_MIME_TYPES,
  type ConversationListResponse,
  type ConversationParticipant,
  type ConversationSummary,
  DEFAULT_ATTACHMENT_MAX_BYTES,
  type HistoryResponse,
  type LoginBody,
  type MessagePayload,
  type ReadBody,
  type ReadResponse,
  type RegisterBody,
  type SentResponse,
  type StartConversationBody,
  type StartConversationResponse,
  type TokenResponse,
} from '@anmei/protocol';
import { clearSession, readSession, type SessionUser } from './session.ts';
import { codeText, UPLOAD_CHECK_TEXTS, WEB_ERROR_TEXTS } from './user-messages.ts';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The API's own (English) detail: for the console, never shown to users. */
    readonly detail = message,
  ) {
    super(message);
  }
}

// The Chinese texts live in the one catalogue (user-messages.ts); kept importable from here.
export { userMessage } from './user-messages.ts';

async function toError(response: Response): Promise<ApiError> {
  let code = 'HTTP_ERROR';
  let detail = `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { code?: string; detail?: string; title?: string };
    code = body.code ?? code;
    detail = body.detail ?? body.title ?? detail;
  } catch {
    // Not JSON: keep the status text.
  }
  // The message is the catalogue's Chinese text (a generic one for an unknown code); the English
  // detail stays on the error, for the console.
  return new ApiError(response.status, code, codeText(code) ?? WEB_ERROR_TEXTS.HTTP_ERROR, detail);
}

export function authHeader(): Record<string, string> {
  const session = readSession();
  return session ? { authorization: `Bearer ${session.token}` } : {};
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; auth?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = init.auth === false ? {} : authHeader();
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      body: init.body === undefined ? null : JSON.stringify(init.body),
      cache: 'no-store',
    });
  } catch (error) {
    // "Failed to fetch" and the like: for the console only.
    throw new ApiError(0, 'NETWORK', WEB_ERROR_TEXTS.NETWORK, String(error));
  }
  if (response.status === 401 && init.auth !== false) {
    clearSession();
    // The sign-in page says why the user is there (its text, not the API's).
    if (window.location.pathname !== '/login') window.location.assign('/login?expired=1');
  }
  if (!response.ok) throw await toError(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/*
 * Types of the API's answers and bodies, derived from the schemas the server's routes use
 * (@anmei/protocol, packages/protocol/src/http/): types only, so no schema reaches the browser
 * bundle through this file. apps/web/test/api-types.test.ts checks that they stay those types.
 */
export type WireMessage = MessagePayload;
export type Participant = ConversationParticipant;
export type { ConversationSummary };
/** Login and sign-up answer alike. */
export type LoginResult = TokenResponse;
/** Answer of a text send and of an attachment upload. */
export type SendResponse = SentResponse;

export const login = (username: string, password: string) =>
  api<LoginResult>('/api/v1/auth/login', { body: { username, password } satisfies LoginBody, auth: false });
export const conversations = () => api<ConversationListResponse>('/api/v1/conversations');
/** Customer sign-up: answers like login (201 with a token), so the session is saved the same way. */
export const register = (input: RegisterBody) =>
  api<LoginResult>('/api/v1/auth/register', { body: input, auth: false });
/** Without `consultantId` the API picks the oldest consultant account (it has no "any available"). */
export const startConversation = (title?: string, consultantId?: string) =>
  api<StartConversationResponse>('/api/v1/conversations', {
    body: {
      ...(title ? { title } : {}),
      ...(consultantId ? { consultant_id: consultantId } : {}),
    } satisfies StartConversationBody,
  });
export const history = (id: string, beforeSeq?: number, limit = 30) =>
  api<HistoryResponse>(
    `/api/v1/chat/${encodeURIComponent(id)}/messages?limit=${limit}${beforeSeq ? `&before_seq=${beforeSeq}` : ''}`,
  );
export const markReadHttp = (id: string, messageIds: string[]) =>
  api<ReadResponse>(`/api/v1/chat/${encodeURIComponent(id)}/read`, {
    body: { message_ids: messageIds } satisfies ReadBody,
  });

/** Same-origin URL of an attachment (the proxy adds the session cookie's token). */
export function attachmentUrl(metadata: Record<string, unknown> | null): string | null {
  const url = metadata?.url;
  return typeof url === 'string' && url.startsWith('/api/v1/') ? url : null;
}

/** Upload limits: the API's defaults, from the shared protocol package. */
export const MAX_UPLOAD_BYTES = DEFAULT_ATTACHMENT_MAX_BYTES;
export const IMAGE_TYPES: readonly string[] = ATTACHMENT_MIME_TYPES.image;
export const DOCUMENT_TYPES: readonly string[] = ATTACHMENT_MIME_TYPES.file;
export const AUDIO_TYPES: readonly string[] = ATTACHMENT_MIME_TYPES.voice;

/** null when the file may be uploaded, else a message saying why not. */
export function checkUpload(file: { size: number; type: string; name: string }): string | null {
  const base = file.type.split(';')[0]?.trim().toLowerCase() ?? '';
  if (![...IMAGE_TYPES, ...DOCUMENT_TYPES, ...AUDIO_TYPES].includes(base)) return UPLOAD_CHECK_TEXTS.unsupported(file);
  if (file.size > MAX_UPLOAD_BYTES) {
    return UPLOAD_CHECK_TEXTS.tooLarge(file.name, formatBytes(file.size), formatBytes(MAX_UPLOAD_BYTES));
  }
  if (file.size === 0) return UPLOAD_CHECK_TEXTS.empty(file.name);
  return null;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Multipart upload with progress (XHR: fetch cannot report upload progress). */
export function uploadAttachment(
  conversationId: string,
  file: Blob,
  fileName: string,
  fields: { clientMessageId: string; durationMs?: number },
  onProgress: (fraction: number) => void,
): { promise: Promise<SendResponse>; abort: () => void } {
  const xhr = new XMLHttpRequest();
  const promise = new Promise<SendResponse>((resolve, reject) => {
    const form = new FormData();
    // Text fields must come BEFORE the file (the API reads them from the file part).
    form.append('client_message_id', fields.clientMessageId);
    if (fields.durationMs !== undefined) form.append('duration_ms', String(Math.round(fields.durationMs)));
    form.append('file', file, fileName);
    xhr.open('POST', `/api/v1/chat/${encodeURIComponent(conversationId)}/attachments`);
    const auth = authHeader().authorization;
    if (auth) xhr.setRequestHeader('authorization', auth);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onerror = () => reject(new ApiError(0, 'UPLOAD_NETWORK', WEB_ERROR_TEXTS.UPLOAD_NETWORK));
    xhr.onabort = () => reject(new ApiError(0, 'ABORTED', WEB_ERROR_TEXTS.ABORTED));
    xhr.onload = async () => {
      const response = new Response(xhr.responseText, {
        status: xhr.status,
        headers: { 'content-type': xhr.getResponseHeader('content-type') ?? 'application/json' },
      });
      if (xhr.status >= 200 && xhr.status < 300) resolve((await response.json()) as SendResponse);
      else reject(await toError(response));
    };
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

/** A staff account from GET /api/v1/directory (no username). */
export type DirectoryEntry = import('@anmei/protocol').DirectoryEntry;

/** Consultants (anyone signed in) or doctors (staff only) to pick from, online ones first. */
export const directory = (role: 'consultant' | 'doctor') =>
  api<{ users: DirectoryEntry[] }>(`/api/v1/directory?role=${role}`);

/** Bring a staff account into a conversation; everyone in it gets a `participant_added` notice. */
export const addParticipant = (conversationId: string, userId: string) =>
  api<{ added: boolean; user: { id: string; role: SessionUser['role']; display_name: string } }>(
    `/api/v1/chat/${encodeURIComponent(conversationId)}/participants`,
    { body: { user_id: userId } },
  );

/** Give a conversation a new title (participants, admins); everyone in it gets a `conversation_renamed` notice. */
export const renameConversation = (conversationId: string, title: string) =>
  api<{ id: string; title: string; changed: boolean }>(`/api/v1/chat/${encodeURIComponent(conversationId)}`, {
    method: 'PATCH',
    body: { title },
  });

/** Take a doctor or consultant out of a conversation; everyone in it (them too) gets a `participant_removed` notice. */
export const removeParticipant = (conversationId: string, userId: string) =>
  api<{ removed: boolean; user: { id: string; role: SessionUser['role']; display_name: string } }>(
    `/api/v1/chat/${encodeURIComponent(conversationId)}/participants/${encodeURIComponent(userId)}`,
    { method: 'DELETE' },
  );

/** Change my password; the current one confirms it (403 CURRENT_PASSWORD_WRONG otherwise). */
export const changePassword = (body: import('@anmei/protocol').ChangePasswordBody) =>
  api<void>('/api/v1/auth/password', { body });
