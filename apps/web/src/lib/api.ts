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
import { clearSession, readSession } from './session.ts';

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

const FRIENDLY: Record<string, string> = {
  INVALID_CREDENTIALS: '用户名或密码错误',
  PAYLOAD_TOO_LARGE: '文件太大',
  UNSUPPORTED_MEDIA_TYPE: '不支持的文件类型',
  NOT_PARTICIPANT: '您不是该会话的参与者',
  UPSTREAM_UNAVAILABLE: '服务器暂时无法连接，请稍后再试',
  USERNAME_TAKEN: '用户名已被使用',
  RATE_LIMITED: '尝试次数过多，请稍后再试',
};

/**
 * What to tell the user about a failed call: the Chinese text of a known code, else `fallback`.
 * The API's English detail goes to the console only (issue #17, item 5).
 */
export function userMessage(error: unknown, fallback: string): string {
  if (error instanceof ApiError && (FRIENDLY[error.code] || error.code === 'NETWORK')) return error.message;
  console.warn(fallback, error);
  return fallback;
}

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
  // A known code is shown in Chinese alone; its English detail stays on the error for the console.
  return new ApiError(response.status, code, FRIENDLY[code] ?? detail, detail);
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
  } catch {
    throw new ApiError(0, 'NETWORK', '网络错误，请检查连接');
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
  if (![...IMAGE_TYPES, ...DOCUMENT_TYPES, ...AUDIO_TYPES].includes(base)) {
    return `不支持的文件类型：${file.name}（${file.type || '未知类型'}）。支持图片（PNG/JPEG/GIF/WebP）、PDF、TXT、Word、Excel、ZIP 和语音。`;
  }
  if (file.size > MAX_UPLOAD_BYTES) {
    return `文件太大：${file.name} 为 ${formatBytes(file.size)}，上限 ${formatBytes(MAX_UPLOAD_BYTES)}。`;
  }
  if (file.size === 0) return `文件为空：${file.name}`;
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
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', '上传失败：网络错误'));
    xhr.onabort = () => reject(new ApiError(0, 'ABORTED', '上传已取消'));
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
