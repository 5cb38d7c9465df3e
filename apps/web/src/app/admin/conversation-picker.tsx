'use client';

import type { AdminConversation, AdminConversationsResponse } from '@anmei/protocol';
import { useEffect, useState } from 'react';
import { api } from '../../lib/api.ts';
import { ROLE_LABELS } from '../../lib/session.ts';
import { FALLBACKS, userMessage } from '../../lib/user-messages.ts';

/** ms after the last keystroke before searching: one request per pause, not per key. */
const SEARCH_DELAY_MS = 250;
/** Results shown at once; the admin narrows the text for more. */
const RESULTS = 8;

function who(c: AdminConversation): string {
  return c.participants.map((p) => `${p.display_name}（${ROLE_LABELS[p.role]}）`).join('、') || '无参与者';
}

/**
 * Picks a conversation by part of its title or of a participant's name or username
 * (GET /api/v1/admin/conversations), instead of a pasted id.
 */
export function ConversationPicker({
  picked,
  onPick,
}: {
  picked: AdminConversation | null;
  onPick: (conversation: AdminConversation | null) => void;
}) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<AdminConversation[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (picked) return;
    let current = true;
    const timer = setTimeout(() => {
      const params = new URLSearchParams({ q: query.trim(), limit: String(RESULTS) });
      api<AdminConversationsResponse>(`/api/v1/admin/conversations?${params}`).then(
        (found) => {
          if (!current) return;
          setResults(found.conversations);
          setError(null);
        },
        (e: unknown) => {
          if (current) setError(userMessage(e, FALLBACKS.adminSearch));
        },
      );
    }, SEARCH_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [query, picked]);

  if (picked) {
    return (
      <div className="picked-conversation" data-testid="picked-conversation">
        <div>
          <strong>{picked.title}</strong>
          <small className="muted block">{who(picked)}</small>
        </div>
        <button type="button" className="btn btn-small" onClick={() => onPick(null)}>
          更换
        </button>
      </div>
    );
  }
  return (
    <div className="conversation-picker">
      <label>
        会话
        <input
          type="search"
          data-testid="conversation-search"
          placeholder="输入会话标题、参与者姓名或用户名"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
      </label>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {results?.length === 0 ? <p className="muted small">没有找到匹配的会话</p> : null}
      {results && results.length > 0 ? (
        <ul className="conversation-options" aria-label="搜索结果">
          {results.map((c) => (
            <li key={c.id}>
              <button type="button" data-testid="conversation-option" onClick={() => onPick(c)}>
                <strong>{c.title}</strong>
                <small className="muted block">{who(c)}</small>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
