'use client';

import { type FormEvent, useState } from 'react';
import { renameConversation } from '../lib/api.ts';
import { APP_TEXTS, FALLBACKS, userMessage } from '../lib/user-messages.ts';

/**
 * The open conversation's title, with "✎" to change it. Nothing is changed locally on success:
 * the `conversation_renamed` frame renames it in every participant's list and header alike.
 */
export function TitleEditor({ conversationId, title }: { conversationId: string; title: string }) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(title);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const next = draft.trim();
    if (next.length === 0 || next.length > 100) {
      setError(APP_TEXTS.titleLength);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await renameConversation(conversationId, next);
      setEditing(false);
    } catch (e) {
      setError(userMessage(e, FALLBACKS.rename));
    } finally {
      setBusy(false);
    }
  }

  if (!editing) {
    return (
      <div className="title-row">
        <h2>{title}</h2>
        <button
          type="button"
          className="btn btn-ghost btn-small title-edit"
          aria-label="修改会话名称"
          title="修改会话名称"
          data-testid="rename-conversation"
          onClick={() => {
            setDraft(title);
            setError(null);
            setEditing(true);
          }}
        >
          ✎
        </button>
      </div>
    );
  }
  return (
    <form className="title-form" onSubmit={onSubmit} aria-label="修改会话名称">
      <input
        name="conversation-title"
        value={draft}
        maxLength={100}
        // biome-ignore lint/a11y/noAutofocus: the user just asked to edit this field
        autoFocus
        onChange={(e) => setDraft(e.target.value)}
      />
      <button type="submit" className="btn btn-small btn-primary" disabled={busy}>
        保存
      </button>
      <button type="button" className="btn btn-small btn-ghost" disabled={busy} onClick={() => setEditing(false)}>
        取消
      </button>
      {error ? (
        <p className="error title-error" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}
