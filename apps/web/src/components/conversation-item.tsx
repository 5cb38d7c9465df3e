'use client';

import type * as api from '../lib/api.ts';
import { fullTimestamp, listTime } from '../lib/dates.ts';
import { preview } from '../lib/messages.ts';
import { Avatar } from './avatar.tsx';

/** One row of the conversation list: avatar with the other side's presence, preview, unread badge. */
export function ConversationItem({
  conversation: c,
  meId,
  active,
  onOpen,
}: {
  conversation: api.ConversationSummary;
  meId: string;
  active: boolean;
  onOpen: () => void;
}) {
  const other = c.participants.filter((p) => p.user_id !== meId);
  const online = other.some((p) => p.online);
  // Staff see the customer's face; a customer sees the staff member (the consultant joins first).
  const face = other.find((p) => p.role === 'customer') ?? other[0];
  const lastAt = c.last_message ? new Date(c.last_message.created_at) : null;
  return (
    <li>
      <button
        type="button"
        className={`conv-item ${active ? 'active' : ''}`}
        data-testid="conversation-item"
        data-id={c.id}
        onClick={onOpen}
      >
        <Avatar userId={face?.user_id ?? c.id} name={face?.display_name ?? c.title}>
          <span
            className={`presence ${online ? 'online' : 'offline'}`}
            data-testid="presence"
            title={online ? '对方在线' : '对方离线'}
          />
        </Avatar>
        <span className="conv-body">
          <span className="conv-title-row">
            <span className="conv-title">{c.title}</span>
            {lastAt ? (
              <time
                className="conv-time"
                dateTime={lastAt.toISOString()}
                title={fullTimestamp(lastAt)}
                data-testid="conversation-time"
              >
                {listTime(lastAt, new Date())}
              </time>
            ) : null}
          </span>
          <span className="conv-preview">{preview(c.last_message)}</span>
          <span className="conv-people">
            {other.map((p) => (
              <span key={p.user_id} className={p.online ? 'is-online' : undefined}>
                {p.display_name}
                {p.online ? '（在线）' : ''}
              </span>
            ))}
          </span>
        </span>
        {c.unread_count > 0 ? (
          <span className="badge" data-testid="unread-badge" title={`${c.unread_count} 条未读`}>
            {c.unread_count > 99 ? '99+' : c.unread_count}
          </span>
        ) : null}
      </button>
    </li>
  );
}
