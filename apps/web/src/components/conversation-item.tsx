'use client';

import type * as api from '../lib/api.ts';
import { preview } from '../lib/messages.ts';

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
  return (
    <li>
      <button
        type="button"
        className={`conv-item ${active ? 'active' : ''}`}
        data-testid="conversation-item"
        data-id={c.id}
        onClick={onOpen}
      >
        <span className="avatar">
          {c.title.slice(0, 1)}
          <span
            className={`presence ${online ? 'online' : 'offline'}`}
            data-testid="presence"
            title={online ? '对方在线' : '对方离线'}
          />
        </span>
        <span className="conv-body">
          <span className="conv-title">{c.title}</span>
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
