'use client';

import { type FormEvent, useEffect, useState } from 'react';
import { conversations, startConversation } from '../lib/api.ts';
import { APP_TEXTS, FALLBACKS, userMessage } from '../lib/user-messages.ts';

interface Consultant {
  id: string;
  name: string;
}

/** Empty value of the consultant choice: the API then picks its oldest consultant account. */
const AUTO = '';

/**
 * A customer starts a consultation with a topic and a consultant. Customers cannot list staff
 * accounts (GET /admin/users is admin only), so the choice is "assigned by the platform" plus the
 * consultants of the customer's own earlier conversations.
 */
export function NewConsultation({
  initiallyOpen,
  onStarted,
}: {
  initiallyOpen: boolean;
  onStarted: (id: string) => void;
}) {
  const [open, setOpen] = useState(initiallyOpen);
  const [title, setTitle] = useState('');
  const [consultant, setConsultant] = useState(AUTO);
  const [known, setKnown] = useState<Consultant[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!open) return;
    let cancelled = false;
    conversations()
      .then(({ conversations: list }) => {
        const seen = new Map<string, Consultant>();
        for (const c of list)
          for (const p of c.participants)
            if (p.role === 'consultant') seen.set(p.user_id, { id: p.user_id, name: p.display_name });
        if (!cancelled) setKnown([...seen.values()]);
      })
      // Only the extra choices are missing: "assigned by the platform" still works.
      .catch((e: unknown) => console.warn('listing earlier consultants failed', e));
    return () => {
      cancelled = true;
    };
  }, [open]);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const topic = title.trim();
    if (topic.length > 100) {
      setError(APP_TEXTS.titleTooLong);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { id } = await startConversation(topic || undefined, consultant || undefined);
      setOpen(false);
      setTitle('');
      onStarted(id);
    } catch (e) {
      setError(userMessage(e, FALLBACKS.startConsultation));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <div className="start-bar">
        <button type="button" className="btn btn-small btn-primary" onClick={() => setOpen(true)}>
          选择顾问和主题发起咨询
        </button>
      </div>
      {open ? (
        <div className="dialog-backdrop">
          <section className="card dialog" role="dialog" aria-modal="true" aria-labelledby="new-consultation-title">
            <h2 id="new-consultation-title">发起新咨询</h2>
            <form className="form" onSubmit={onSubmit}>
              <label>
                咨询主题
                <input
                  name="title"
                  value={title}
                  maxLength={100}
                  placeholder="例如：面部护理、术后复诊（可不填）"
                  onChange={(e) => setTitle(e.target.value)}
                />
              </label>
              <label>
                顾问
                <select name="consultant" value={consultant} onChange={(e) => setConsultant(e.target.value)}>
                  <option value={AUTO}>由平台分配顾问</option>
                  {known.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name}（咨询过）
                    </option>
                  ))}
                </select>
              </label>
              {error ? (
                <p className="error" role="alert">
                  {error}
                </p>
              ) : null}
              <div className="button-row">
                <button type="submit" className="btn btn-primary" disabled={busy}>
                  {busy ? '发起中…' : '发起咨询'}
                </button>
                <button type="button" className="btn btn-ghost" disabled={busy} onClick={() => setOpen(false)}>
                  取消
                </button>
              </div>
            </form>
          </section>
        </div>
      ) : null}
    </>
  );
}
