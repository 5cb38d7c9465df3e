'use client';

import { useState } from 'react';
import { addParticipant, type ConversationSummary, type DirectoryEntry, removeParticipant } from '../lib/api.ts';
import { ROLE_LABELS } from '../lib/session.ts';
import { FALLBACKS, MEMBER_TEXTS, userMessage } from '../lib/user-messages.ts';
import { useDirectory } from './use-directory.ts';

const STAFF_ROLES = ['doctor', 'consultant'] as const;

/**
 * Staff bring a doctor (or another consultant) into a conversation — the directory's doctors and
 * consultants, online first, without those already in it — or take one out. Nothing changes in the
 * list here: the `participant_added` / `participant_removed` frame does that for everyone alike.
 */
export function AddParticipantPicker({
  conversationId,
  exclude,
  removable,
  onClose,
}: {
  conversationId: string;
  /** Ids already in the conversation. */
  exclude: readonly string[];
  /** Doctors and consultants in it other than me: each may be taken out. */
  removable: ConversationSummary['participants'];
  onClose: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState<string | null>(null);
  const staff = useDirectory(STAFF_ROLES, true, (e) => setError(userMessage(e, FALLBACKS.staffDirectory)));

  async function add(user: DirectoryEntry) {
    setAdding(user.id);
    setError(null);
    try {
      await addParticipant(conversationId, user.id);
      onClose();
    } catch (e) {
      setError(userMessage(e, MEMBER_TEXTS.addFailed(user.display_name)));
    } finally {
      setAdding(null);
    }
  }

  async function remove(user: ConversationSummary['participants'][number]) {
    setAdding(user.user_id);
    setError(null);
    try {
      await removeParticipant(conversationId, user.user_id);
      onClose();
    } catch (e) {
      setError(userMessage(e, MEMBER_TEXTS.removeFailed(user.display_name)));
    } finally {
      setAdding(null);
    }
  }

  const candidates = staff?.filter((u) => !exclude.includes(u.id)) ?? [];
  return (
    <div className="dialog-backdrop">
      <section className="card dialog" role="dialog" aria-modal="true" aria-labelledby="add-member-title">
        <h2 id="add-member-title">会话成员</h2>
        {removable.length > 0 ? (
          <>
            <h3 className="pick-heading">当前的医生和顾问</h3>
            <ul className="pick-list" data-testid="member-current">
              {removable.map((p) => (
                <li key={p.user_id} className="pick-option pick-member">
                  <span className="pick-name">{p.display_name}</span>
                  <span className="pick-detail muted">{ROLE_LABELS[p.role]}</span>
                  <button
                    type="button"
                    className="btn btn-small btn-ghost"
                    disabled={adding !== null}
                    onClick={() => void remove(p)}
                  >
                    {adding === p.user_id ? '移除中…' : '移除'}
                  </button>
                </li>
              ))}
            </ul>
          </>
        ) : null}
        <h3 className="pick-heading">添加医生或顾问</h3>
        <p className="muted">所有成员都会看到加入或离开的通知。</p>
        {staff === null ? <p className="muted">正在加载…</p> : null}
        {staff !== null && candidates.length === 0 && !error ? (
          <p className="muted">没有可添加的医生或顾问：他们都已在会话中。</p>
        ) : null}
        <ul className="pick-list" data-testid="member-candidates">
          {candidates.map((u) => (
            <li key={u.id}>
              <button type="button" className="pick-option" disabled={adding !== null} onClick={() => void add(u)}>
                <span className={`dot ${u.online ? 'online' : 'offline'}`} />
                <span className="pick-name">{u.display_name}</span>
                <span className="pick-detail muted">
                  {ROLE_LABELS[u.role]} · {adding === u.id ? '添加中…' : u.online ? '在线' : '离线'}
                </span>
              </button>
            </li>
          ))}
        </ul>
        {error ? (
          <p className="error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="button-row">
          <button type="button" className="btn btn-ghost" disabled={adding !== null} onClick={onClose}>
            取消
          </button>
        </div>
      </section>
    </div>
  );
}
