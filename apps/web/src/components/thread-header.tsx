'use client';

import type * as api from '../lib/api.ts';
import { ROLE_LABELS } from '../lib/session.ts';

/** Title of the open conversation and who else is in it (online or not); "back" on phones. */
export function ThreadHeader({
  title,
  others,
  onBack,
}: {
  title: string;
  others: api.ConversationSummary['participants'];
  onBack: () => void;
}) {
  return (
    <header className="thread-head">
      <button type="button" className="btn btn-ghost back" onClick={onBack}>
        ← 返回
      </button>
      <div>
        <h2>{title}</h2>
        <p className="thread-people">
          {others.map((p) => (
            <span key={p.user_id}>
              <span className={`dot ${p.online ? 'online' : 'offline'}`} />
              {p.display_name} · {ROLE_LABELS[p.role]} · {p.online ? '在线' : '离线'}
            </span>
          ))}
        </p>
      </div>
    </header>
  );
}
