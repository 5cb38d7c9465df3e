import { attachmentUrl, formatBytes } from '../lib/api.ts';
import { clockTime, fullTimestamp } from '../lib/dates.ts';
import { formatDuration, type ViewMessage } from '../lib/messages.ts';
import { Avatar } from './avatar.tsx';
import { ImageAttachment } from './image-viewer.tsx';

interface Props {
  message: ViewMessage;
  mine: boolean;
  senderName: string;
  receipt: { status: string; label: string } | null;
  /** For a failed send of mine: send it again (same client message id). */
  onRetry?: () => void;
}

export function MessageBubble({ message: m, mine, senderName, receipt, onRetry }: Props) {
  if (m.type === 'system') {
    return (
      <div className="msg-system" data-testid="message" data-type="system">
        {m.content}
      </div>
    );
  }
  const url = attachmentUrl(m.metadata);
  const fileName = typeof m.metadata?.file_name === 'string' ? m.metadata.file_name : m.content;
  const size = typeof m.metadata?.size_bytes === 'number' ? m.metadata.size_bytes : null;
  const duration = typeof m.metadata?.duration_ms === 'number' ? m.metadata.duration_ms : null;
  let body: React.ReactNode;
  if (m.type === 'image' && url) {
    body = <ImageAttachment url={url} name={fileName} />;
  } else if (m.type === 'voice' && url) {
    body = (
      <div className="msg-voice">
        <audio controls preload="metadata" src={url} data-testid="voice-player">
          <track kind="captions" />
        </audio>
        {duration !== null ? <span className="muted">{formatDuration(duration)}</span> : null}
      </div>
    );
  } else if (m.type === 'file' && url) {
    body = (
      <a className="msg-file" href={url} download={fileName} data-testid="file-link">
        <span className="file-icon" aria-hidden="true">
          📄
        </span>
        <span>
          <span className="file-name">{fileName}</span>
          {size !== null ? <small className="muted">{formatBytes(size)}</small> : null}
        </span>
      </a>
    );
  } else {
    body = <p className="msg-text">{m.content}</p>;
  }
  // The full date and time on hover (the meta line shows only the time; the day is the separator's).
  const stamp = fullTimestamp(m.createdAt);
  return (
    <div
      className={`msg ${mine ? 'mine' : 'theirs'}`}
      data-testid="message"
      data-type={m.type}
      data-seq={m.seq ?? ''}
      data-status={receipt?.status ?? ''}
    >
      {!mine ? <Avatar userId={m.senderId} name={senderName} size="small" /> : null}
      <div className="msg-col">
        {!mine ? <span className="msg-sender">{senderName}</span> : null}
        <div className="bubble" title={stamp}>
          {body}
        </div>
        <span className="msg-meta">
          <time dateTime={m.createdAt.toISOString()} title={stamp} data-testid="message-time">
            {clockTime(m.createdAt)}
          </time>
          {receipt ? (
            <span className={`receipt receipt-${receipt.status}`} data-testid="receipt">
              {receipt.label}
            </span>
          ) : null}
          {m.error ? <span className="error"> {m.error}</span> : null}
          {onRetry ? (
            <button type="button" className="btn btn-small btn-ghost retry" data-testid="retry-send" onClick={onRetry}>
              重试
            </button>
          ) : null}
        </span>
      </div>
    </div>
  );
}
