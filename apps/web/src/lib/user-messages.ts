/**
 * The one catalogue of what the web app tells its users when something goes wrong (issue #17,
 * item 5): every protocol error code and close code, the client SDK's connection and send
 * failures, the browser's push failures and this app's own network failures, each in plain
 * Chinese that says what to do. Raw texts (the API's English `detail`, "Failed to fetch", "The
 * API at … is not reachable", "ticket request failed: HTTP 502") go to the console only.
 *
 * Components render `userMessage(error, fallback)` (or one of the other functions here), never an
 * error's `.message` (apps/web/test/user-messages.test.ts checks both).
 */
import type { ClientError, ClientErrorCode, SendError, SendFailureCode } from '@anmei/client';
import { CloseCode, type ErrorCode } from '@anmei/protocol';

const RETRY = '请稍后再试';

/** Every protocol error code (packages/protocol codes.ts): typed as a full record, so a new code must be added here. */
export const ERROR_TEXTS: Record<ErrorCode, string> = {
  VALIDATION_FAILED: '填写的内容不符合要求，请检查后再试',
  MALFORMED_JSON: '请求格式有误，请刷新页面后再试',
  UNKNOWN_ACTION: '此操作暂不支持，请刷新页面后再试',
  INVALID_FRAME: '请求格式有误，请刷新页面后再试',
  BINARY_FRAME_UNSUPPORTED: '请求格式有误，请刷新页面后再试',
  FRAME_TOO_LARGE: '内容太长，请分几次发送',
  TOO_MANY_INVALID_FRAMES: '连接因错误过多被关闭，请刷新页面',
  UNAUTHENTICATED: '请先登录',
  INVALID_CREDENTIALS: '用户名或密码错误',
  CURRENT_PASSWORD_WRONG: '当前密码不正确，请重新输入',
  TOKEN_INVALID: '登录已过期，请重新登录',
  TICKET_MISSING: '实时连接未能建立，正在重试；若持续出现请刷新页面',
  TICKET_INVALID: '实时连接未能建立，正在重试；若持续出现请刷新页面',
  TICKET_REUSED: '实时连接未能建立，正在重试；若持续出现请刷新页面',
  ORIGIN_NOT_ALLOWED: '服务器不接受来自此网址的连接，请联系管理员（ALLOWED_ORIGINS）',
  FORBIDDEN: '您的账号没有权限执行此操作',
  NOT_PARTICIPANT: '您不是该会话的参与者',
  NOT_FOUND: '找不到请求的内容，请刷新页面',
  CONVERSATION_NOT_FOUND: '会话不存在或已被删除，请刷新会话列表',
  USER_NOT_FOUND: '用户不存在，请刷新页面',
  DEVICE_NOT_FOUND: '此设备未登记，请重新打开消息通知',
  USERNAME_TAKEN: '用户名已被使用，请换一个',
  CLIENT_MESSAGE_ID_CONFLICT: '消息发送冲突，请重新发送',
  PAYLOAD_TOO_LARGE: '文件太大，请选择更小的文件',
  HEADERS_TOO_LARGE: '请求太大，请刷新页面后再试',
  UNSUPPORTED_MEDIA_TYPE: '不支持的文件类型',
  HEARTBEAT_TIMEOUT: '连接无响应，正在重新连接',
  SLOW_CONSUMER: '网络太慢，连接已断开，正在重新连接',
  SERVER_SHUTTING_DOWN: '服务器正在维护，正在重新连接',
  RATE_LIMITED: `尝试次数过多，${RETRY}`,
  TOO_MANY_CONNECTIONS: '打开的页面太多，请关闭一些标签页后再试',
  DATABASE_UNAVAILABLE: `服务器暂时繁忙，${RETRY}`,
  SERVICE_UNAVAILABLE: `服务暂时不可用，${RETRY}`,
  NOT_READY: `服务器正在启动，${RETRY}`,
  INTERNAL: `服务器出错了，${RETRY}；若持续出现请联系管理员`,
};

/** Codes of this web app, not the API's: its proxy, fetch and upload failures. */
export const WEB_ERROR_TEXTS = {
  /** The Next.js proxy could not reach the API (502 `UPSTREAM_UNAVAILABLE`, "The API at … is not reachable"). */
  UPSTREAM_UNAVAILABLE: `服务器暂时无法连接，${RETRY}`,
  /** fetch() itself failed ("Failed to fetch"): this device is offline or the web server is down. */
  NETWORK: '网络错误，请检查网络连接后再试',
  /** An upload's request failed on the network. */
  UPLOAD_NETWORK: '网络错误，请检查网络连接后重试',
  ABORTED: '上传已取消',
  /** An answer without a catalogued code (e.g. a 502 from a proxy in front). */
  HTTP_ERROR: `服务器暂时无法处理请求，${RETRY}`,
} as const;
export type WebErrorCode = keyof typeof WEB_ERROR_TEXTS;

/** Every close code in the protocol's `CloseCode` table, by number. */
export const CLOSE_TEXTS: Record<CloseCode, string> = {
  [CloseCode.normal]: '连接已断开',
  [CloseCode.goingAway]: '服务器正在维护，正在重新连接',
  [CloseCode.invalidPayload]: '连接因数据错误被关闭，请刷新页面',
  [CloseCode.policyViolation]: '连接被服务器关闭，请刷新页面',
  [CloseCode.messageTooBig]: '内容太长，连接已断开，请分几次发送',
  [CloseCode.internalError]: '服务器出错，正在重新连接',
  [CloseCode.heartbeatTimeout]: '连接无响应，正在重新连接',
  [CloseCode.unauthorized]: '登录已过期，请重新登录',
  [CloseCode.forbidden]: '您的账号不能使用此连接',
  [CloseCode.tooManyInvalidFrames]: '连接因错误过多被关闭，请刷新页面',
  [CloseCode.slowConsumer]: '网络太慢，连接已断开，正在重新连接',
};

/** The client SDK's connection errors (`lastError.code`). */
export const CLIENT_ERROR_TEXTS: Record<ClientErrorCode, string> = {
  HANDLER_FAILED: '页面处理消息时出错，请刷新页面',
  UNDECODABLE_FRAME: '收到无法识别的数据，请刷新页面',
  SERVER_ERROR: `服务器未能处理请求，${RETRY}`,
  // "ticket request failed: HTTP 502": the API is down or restarting.
  TICKET_FAILED: '暂时无法连接服务器，正在自动重试',
  CONNECT_TIMEOUT: '连接超时，正在自动重试',
  CONNECTION_FAILED: '暂时无法连接服务器，正在自动重试',
  HEARTBEAT_TIMEOUT: '连接无响应，正在重新连接',
  UNAUTHORIZED: '登录已过期，请重新登录',
  RECONNECT_EXHAUSTED: '多次重连失败，请检查网络后刷新页面',
  CLOSED_BY_SERVER: '连接被服务器关闭，请刷新页面',
  STORAGE_FAILED: '无法在本机保存待发送的消息：刷新页面前请等待消息发出',
};

/** Why a message bubble failed (the SDK's `SendError.code`). */
export const SEND_FAILURE_TEXTS: Record<SendFailureCode, string> = {
  INVALID: '消息无效',
  TOO_LARGE: '消息太长，请分几条发送',
  OUTBOX_FULL: '待发送的消息太多，请稍后重试',
  DROPPED: '待发送的消息太多，请稍后重试',
  EXPIRED: '长时间未能连接服务器，消息未发出',
  SERVER_REJECTED: '服务器拒绝了这条消息',
  DISPOSED: '已取消发送',
  DISCARDED: '已取消发送',
};

/** Web Push failures (lib/web-push.ts `WebPushError.code`). */
export const WEB_PUSH_TEXTS = {
  UNSUPPORTED:
    '此浏览器不支持消息推送（需要 Service Worker、Push API 和通知）。请使用最新版的 Chrome、Edge、Firefox 或 Safari；在 iPhone 上请先将本站“添加到主屏幕”再打开。',
  INSECURE: '消息推送只能在 HTTPS（或本机 localhost）页面上使用，请通过 https:// 地址访问本站。',
  DENIED:
    '通知权限已被拒绝。请点击地址栏左侧的网站信息图标（锁形或“调整”图标）→“网站设置”→“通知”，改为“允许”，刷新页面后再打开此开关。',
  DISMISSED: '您没有允许通知，消息通知未开启。再次打开开关时请在浏览器提示中选择“允许”。',
  SERVER_DISABLED: '服务器未启用网页推送（NOTIFICATION_PROVIDERS 中没有 webpush），请联系管理员开启后再试。',
  PUSH_SERVICE: '无法连接浏览器的推送服务，请检查网络后重试。',
} as const;
export type WebPushCode = keyof typeof WEB_PUSH_TEXTS;

/** What failed, for the fallback of `userMessage` (when the error has no catalogued code). */
export const FALLBACKS = {
  login: `登录失败，${RETRY}`,
  register: `注册失败，${RETRY}`,
  startConsultation: `无法发起咨询，${RETRY}`,
  conversations: '无法加载会话列表，连接恢复后自动重试',
  adminUsers: `无法加载用户列表，${RETRY}`,
  adminSearch: `无法搜索会话，${RETRY}`,
  adminNotify: `通知发送失败，${RETRY}`,
  push: `无法更改消息通知设置，${RETRY}`,
  staffDirectory: `暂时无法加载医生和顾问列表，${RETRY}`,
  consultantDirectory: '暂时无法加载顾问列表，可选择“任意顾问”',
  rename: `无法修改会话名称，${RETRY}`,
  changePassword: `密码修改失败，${RETRY}`,
} as const;

/** Fallbacks of the members dialog, naming the person (add-participant-picker.tsx). */
export const MEMBER_TEXTS = {
  addFailed: (name: string) => `无法添加${name}，${RETRY}`,
  removeFailed: (name: string) => `无法移除${name}，${RETRY}`,
};

/** Texts of this app's own checks (not answers of the API). */
export const APP_TEXTS = {
  sessionExpired: '登录已过期，请重新登录',
  adminOnly: '仅管理员可访问此页面。',
  notConnected: '未连接：请先点击“连接”',
  noRecorder: '此浏览器不支持录音',
  noMicrophone: '无法使用麦克风：请在浏览器中允许麦克风权限',
  recordingTooShort: '录音太短',
  titleTooLong: '主题最多 100 个字',
  titleLength: '会话名称需为 1–100 个字',
  newPasswordTooShort: '新密码至少 8 个字符',
  newPasswordsDiffer: '两次输入的新密码不一致',
  passwordChanged: '密码已修改，下次登录请使用新密码',
  pickConversation: '请先搜索并选择一个会话',
} as const;

/** Why a file is refused before it is sent (api.ts `checkUpload`). */
export const UPLOAD_CHECK_TEXTS = {
  unsupported: (file: { name: string; type: string }) =>
    `不支持的文件类型：${file.name}（${file.type || '未知类型'}）。支持图片（PNG/JPEG/GIF/WebP）、PDF、TXT、Word、Excel、ZIP 和语音。`,
  tooLarge: (name: string, size: string, max: string) => `文件太大：${name} 为 ${size}，上限 ${max}。`,
  empty: (name: string) => `文件为空：${name}`,
};

type RegisterField = 'username' | 'display_name' | 'password';
const REGISTER_RULES: Record<RegisterField, string> = {
  username: '3–32 位小写字母、数字或下划线',
  display_name: '1–50 个字，将显示给顾问',
  password: '8–128 个字符',
};
const REGISTER_LABELS: Record<RegisterField, string> = { username: '用户名', display_name: '昵称', password: '密码' };
/** The sign-up form: the API's rules for POST /auth/register (routes/accounts.ts) and what a field breaking one shows. */
export const REGISTER_TEXTS = {
  rules: REGISTER_RULES,
  labels: REGISTER_LABELS,
  problem: (field: RegisterField) =>
    field === 'display_name' ? '昵称需为 1–50 个字' : `${REGISTER_LABELS[field]}需为${REGISTER_RULES[field]}`,
};

const isCode = <T extends object>(table: T, code: unknown): code is keyof T =>
  typeof code === 'string' && Object.hasOwn(table, code);

/** The Chinese text of a protocol or web error code; null when the code is not catalogued. */
export function codeText(code: unknown): string | null {
  if (isCode(ERROR_TEXTS, code)) return ERROR_TEXTS[code];
  if (isCode(WEB_ERROR_TEXTS, code)) return WEB_ERROR_TEXTS[code];
  return null;
}

/**
 * What to tell the user about a failed call: the Chinese text of the error's catalogued code
 * (an ApiError's or WebPushError's `code`), else `fallback`. The error itself, with its English
 * detail, goes to the console only.
 */
export function userMessage(error: unknown, fallback: string): string {
  console.warn(fallback, error);
  const { code, name } = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    name?: unknown;
  };
  if (name === 'WebPushError' && isCode(WEB_PUSH_TEXTS, code)) return WEB_PUSH_TEXTS[code];
  if (name === 'SendError') return sendFailureText(error as SendError);
  return codeText(code) ?? fallback;
}

/** Why a send failed, for the bubble (the SDK's English text goes to the console). */
export function sendFailureText(error: Pick<SendError, 'code' | 'serverCode'>): string {
  if (error.code === 'SERVER_REJECTED' && error.serverCode === 'NOT_PARTICIPANT') return ERROR_TEXTS.NOT_PARTICIPANT;
  return SEND_FAILURE_TEXTS[error.code] ?? SEND_FAILURE_TEXTS.SERVER_REJECTED;
}

/** A close code in Chinese; a code outside the table (a peer may send any 3000–4999) gets a generic text. */
export function closeText(code: number): string {
  return Object.hasOwn(CLOSE_TEXTS, code) ? CLOSE_TEXTS[code as CloseCode] : '连接已断开，正在重新连接';
}

/** The client's last connection error: the server's code when it gave one, else the client's own. */
export function connectionErrorText(error: Pick<ClientError, 'code' | 'serverCode' | 'closeCode'>): string {
  if (error.serverCode) return ERROR_TEXTS[error.serverCode] ?? CLIENT_ERROR_TEXTS.SERVER_ERROR;
  if (error.code === 'CLOSED_BY_SERVER' && error.closeCode !== undefined) return closeText(error.closeCode);
  return CLIENT_ERROR_TEXTS[error.code] ?? CLIENT_ERROR_TEXTS.CONNECTION_FAILED;
}

/** An attachment or voice note that did not upload: "上传失败：" and why. */
export function uploadFailureText(error: unknown): string {
  return `上传失败：${userMessage(error, RETRY)}`;
}
