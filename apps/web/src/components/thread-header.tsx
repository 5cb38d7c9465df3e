'use client';

import { useState } from 'react';
import type * as api from '../lib/api.ts';
import { ROLE_LABELS } from '../lib/session.ts';
import { AddParticipantPicker } from './add-participant-picker.tsx';
import { TitleEditor } from './title-editor.tsx';

/**
 * Title of the open conversation (✎ renames it) and who else is in it (online or not); "back" on phones. Staff
 * (`canAdd`) also get "成员" to add or remove doctors and consultants: the list — and so this header —
 * follows from the `participant_added` / `participant_removed` frame that everyone in the
 * conversation (the one who acted included) gets.
 */
export function ThreadHeader({
  conversationId,
  title,
  participants,
  others,
  canAdd,
  onBack,
}: {
  conversationId: string;
  title: string;
  /** Everyone in the conversation, me included: the picker leaves them out. */
  participants: api.ConversationSummary['participants'];
  others: api.ConversationSummary['participants'];
  canAdd: boolean;
  onBack: () => void;
}) {
  const [picking, setPicking] = useState(false);
  return (
    <header className="thread-head">
      <button type="button" className="btn btn-ghost back" onClick={onBack}>
        ← 返回
      </button>
      <div className="thread-head-main">
        <TitleEditor key={conversationId} conversationId={conversationId} title={title} />
        <p className="thread-people" data-testid="thread-people">
          {others.map((p) => (
            <span key={p.user_id}>
              <span className={`dot ${p.online ? 'online' : 'offline'}`} />
              {p.display_name} · {ROLE_LABELS[p.role]} · {p.online ? '在线' : '离线'}
            </span>
          ))}
        </p>
      </div>
      {canAdd ? (
        <button
          type="button"
          className="btn btn-small btn-ghost add-member"
          data-testid="add-member"
          onClick={() => setPicking(true)}
        >
          ＋ 成员
        </button>
      ) : null}
      {picking ? (
        <AddParticipantPicker
          conversationId={conversationId}
          exclude={participants.map((p) => p.user_id)}
          removable={others.filter((p) => p.role === 'doctor' || p.role === 'consultant')}
          onClose={() => setPicking(false)}
        />
      ) : null}
    </header>
  );
}
