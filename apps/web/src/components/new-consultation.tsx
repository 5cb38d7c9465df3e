'use client';

import { type FormEvent, useState } from 'react';
import { startConversation } from '../lib/api.ts';
import { APP_TEXTS, FALLBACKS, userMessage } from '../lib/user-messages.ts';
import { useDirectory } from './use-directory.ts';

/** The "any consultant" choice: the API then picks a consultant online now (else its oldest one). */
const ANY = '';
const CONSULTANTS = ['consultant'] as const;

/**
 * A customer's one way to start a consultation: the "发起咨询" button, and a dialog with a topic
 * and a consultant from the directory (online ones first), or "任意顾问".
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
  const [consultant, setConsultant] = useState(ANY);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // "任意顾问" still works without the list.
  const consultants = useDirectory(CONSULTANTS, open, (e) => setError(userMessage(e, FALLBACKS.consultantDirectory)));

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
      setConsultant(ANY);
      onStarted(id);
    } catch (e) {
      setError(userMessage(e, FALLBACKS.startConsultation));
    } finally {
      setBusy(false);
    }
  }

  const choice = (value: string, label: string, detail: string, online?: boolean) => (
    <label key={value || 'any'} className={`pick-option ${consultant === value ? 'picked' : ''}`}>
      <input
        type="radio"
        name="consultant"
        value={value}
        checked={consultant === value}
        onChange={() => setConsultant(value)}
      />
      {online === undefined ? null : <span className={`dot ${online ? 'online' : 'offline'}`} />}
      <span className="pick-name">{label}</span>
      <span className="pick-detail muted">{detail}</span>
    </label>
  );

  return (
    <>
      <button
        type="button"
        className="btn btn-small btn-primary"
        data-testid="start-consultation"
        onClick={() => setOpen(true)}
      >
        发起咨询
      </button>
      {open ? (
        <div className="dialog-backdrop">
          <section className="card dialog" role="dialog" aria-modal="true" aria-labelledby="new-consultation-title">
            <h2 id="new-consultation-title">发起咨询</h2>
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
              <fieldset className="pick-list" aria-label="选择顾问">
                <legend>选择顾问</legend>
                {choice(ANY, '任意顾问', '由平台分配一位在线顾问')}
                {consultants === null ? <p className="muted">正在加载顾问…</p> : null}
                {consultants?.map((c) => choice(c.id, c.display_name, c.online ? '在线' : '离线', c.online))}
              </fieldset>
              {error ? (
                <p className="error" role="alert">
                  {error}
                </p>
              ) : null}
              <div className="button-row">
                <button type="submit" className="btn btn-primary" disabled={busy}>
                  {busy ? '发起中…' : '开始咨询'}
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
