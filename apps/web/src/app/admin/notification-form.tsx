'use client';

import type { AdminConversation } from '@anmei/protocol';
import { type FormEvent, useState } from 'react';
import { api } from '../../lib/api.ts';
import { APP_TEXTS, FALLBACKS, userMessage } from '../../lib/user-messages.ts';
import { ConversationPicker } from './conversation-picker.tsx';

/** A system notice to everyone connected, or to one conversation found by searching. */
export function NotificationForm() {
  const [target, setTarget] = useState<'all' | 'conversation'>('all');
  const [conversation, setConversation] = useState<AdminConversation | null>(null);
  const [title, setTitle] = useState('系统维护通知');
  const [message, setMessage] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (target === 'conversation' && !conversation) {
      setResult({ ok: false, text: APP_TEXTS.pickConversation });
      return;
    }
    setBusy(true);
    setResult(null);
    try {
      await api('/api/v1/admin/notifications', {
        body: {
          conversation_id: target === 'all' ? null : (conversation?.id ?? null),
          title: title.trim(),
          message: message.trim(),
          type: 'announcement',
        },
      });
      setResult({
        ok: true,
        text: target === 'all' ? '已发送给所有在线用户' : `已发送到会话“${conversation?.title ?? ''}”`,
      });
      setMessage('');
    } catch (e) {
      setResult({ ok: false, text: userMessage(e, FALLBACKS.adminNotify) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="notify-title">
      <h2 id="notify-title">发送系统通知</h2>
      <form className="form" onSubmit={submit}>
        <fieldset className="radio-row">
          <legend>发送对象</legend>
          <label>
            <input type="radio" name="target" checked={target === 'all'} onChange={() => setTarget('all')} />
            所有在线用户
          </label>
          <label>
            <input
              type="radio"
              name="target"
              checked={target === 'conversation'}
              onChange={() => setTarget('conversation')}
            />
            指定会话
          </label>
        </fieldset>
        {target === 'conversation' ? <ConversationPicker picked={conversation} onPick={setConversation} /> : null}
        <label>
          标题
          <input name="title" value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
        </label>
        <label>
          内容
          <textarea
            name="message"
            value={message}
            onChange={(e) => setMessage(e.target.value)}
            required
            maxLength={2000}
            rows={3}
          />
        </label>
        {result ? (
          <p className={result.ok ? 'success' : 'error'} role="status" data-testid="notify-result">
            {result.text}
          </p>
        ) : null}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? '发送中…' : '发送通知'}
        </button>
      </form>
    </section>
  );
}
