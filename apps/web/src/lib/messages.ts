/** The chat view's message model: stored messages (HTTP or socket) plus our own pending sends. */
import type { ChatMessage, PendingMessage } from '@anmei/client';
import type { WireMessage } from './api.ts';

export type MessageType = WireMessage['message_type'];

export interface ViewMessage {
  /** Stable React key: the client_message_id for our own sends, else the message id. */
  key: string;
  id: string | null;
  seq: number | null;
  senderId: string;
  type: MessageType;
  content: string;
  metadata: Record<string, unknown> | null;
  createdAt: Date;
  clientMessageId: string | null;
  /** Only for our own messages not stored yet. */
  pending?: 'sending' | 'failed';
  error?: string;
}

export function fromWire(m: WireMessage): ViewMessage {
  return {
    key: m.client_message_id ?? m.id,
    id: m.id,
    seq: m.seq,
    senderId: m.sender_id,
    type: m.message_type,
    content: m.content,
    metadata: m.metadata,
    createdAt: new Date(m.created_at),
    clientMessageId: m.client_message_id,
  };
}

export function fromUi(m: ChatMessage): ViewMessage {
  return {
    key: m.clientMessageId ?? m.id,
    id: m.id,
    seq: m.seq,
    senderId: m.senderId,
    type: m.messageType,
    content: m.content,
    metadata: (m.metadata as Record<string, unknown> | null) ?? null,
    createdAt: m.createdAt,
    clientMessageId: m.clientMessageId ?? null,
  };
}

/** One of my messages still in the client's outbox (typed here, or restored after a reload). */
export function fromPending(m: PendingMessage, me: string): ViewMessage {
  return {
    key: m.clientMessageId,
    id: null,
    seq: null,
    senderId: me,
    type: 'text',
    content: m.content,
    metadata: null,
    createdAt: m.createdAt,
    clientMessageId: m.clientMessageId,
    pending: 'sending',
    error: undefined,
  };
}

// Why a send failed, for the bubble: in the one catalogue of user-facing texts.
export { sendFailureText } from './user-messages.ts';

/**
 * Adds or replaces `incoming` (matched by id or client_message_id), ordered by seq (notices by time
 * among them); pending last.
 * A stored message (it has an id) is never pending: its copy from another tab's send or from the
 * history ends the "sending" state, and a late pending copy (restored by this tab while another
 * one had already sent it) does not bring it back.
 */
export function merge(list: readonly ViewMessage[], incoming: readonly ViewMessage[]): ViewMessage[] {
  const out = [...list];
  for (const m of incoming) {
    const at = out.findIndex(
      (x) =>
        (m.id !== null && x.id === m.id) || (m.clientMessageId !== null && x.clientMessageId === m.clientMessageId),
    );
    if (at < 0) {
      out.push(m);
      continue;
    }
    const before = out[at]!;
    if (before.id !== null && m.id === null) continue;
    const next = { ...before, ...m, key: before.key };
    out[at] = next.id !== null ? { ...next, pending: undefined, error: undefined } : next;
  }
  return inOrder(out);
}

const byTime = (a: ViewMessage, b: ViewMessage) => a.createdAt.getTime() - b.createdAt.getTime();

/**
 * Stored messages by seq; a notice shown in the thread (no seq, not pending) among them by time, so
 * "刘医生 加入了会话" stays where it happened; our pending sends last.
 */
function inOrder(all: readonly ViewMessage[]): ViewMessage[] {
  const stored = all.filter((m) => m.seq !== null).sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  const notices = all.filter((m) => m.seq === null && !m.pending && m.type === 'system').sort(byTime);
  const pending = all.filter((m) => m.seq === null && (m.pending || m.type !== 'system')).sort(byTime);
  const out: ViewMessage[] = [];
  let n = 0;
  for (const m of stored) {
    while (n < notices.length && byTime(notices[n]!, m) < 0) out.push(notices[n++]!);
    out.push(m);
  }
  return [...out, ...notices.slice(n), ...pending];
}

export function preview(m: { message_type?: MessageType; type?: MessageType; content: string } | null): string {
  if (!m) return '暂无消息';
  const type = m.message_type ?? m.type;
  if (type === 'image') return '[图片]';
  if (type === 'voice') return '[语音]';
  if (type === 'file') return `[文件] ${m.content}`;
  return m.content;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Receipt of one of my messages: sending / failed (local), read (someone else's read position is
 * at or past it), delivered (someone else is online; the protocol has no delivery receipt), sent.
 */
export function receiptOf(
  m: ViewMessage,
  others: ReadonlyArray<{ last_read_seq: number; online: boolean }>,
): { status: string; label: string } {
  if (m.pending === 'sending') return { status: 'sending', label: '发送中' };
  if (m.pending === 'failed') return { status: 'failed', label: '发送失败' };
  const seq = m.seq ?? 0;
  if (others.some((p) => p.last_read_seq >= seq)) return { status: 'read', label: '已读' };
  if (others.some((p) => p.online)) return { status: 'delivered', label: '已送达' };
  return { status: 'sent', label: '已发送' };
}
