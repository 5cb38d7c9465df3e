'use client';

import { useCallback, useState } from 'react';

export interface Notice {
  id: number;
  title: string;
  message: string;
  kind: 'info' | 'error';
}

let nextId = 1;

export function useNotices() {
  const [notices, setNotices] = useState<Notice[]>([]);
  const push = useCallback((notice: Omit<Notice, 'id'>) => {
    setNotices((list) => [...list.slice(-3), { ...notice, id: nextId++ }]);
  }, []);
  const dismiss = useCallback((id: number) => setNotices((list) => list.filter((n) => n.id !== id)), []);
  return { notices, push, dismiss };
}

/** System notifications and errors, stacked in a corner until dismissed. */
export function Notices({ notices, dismiss }: { notices: Notice[]; dismiss: (id: number) => void }) {
  if (notices.length === 0) return null;
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice notice-${n.kind}`} data-testid="notice" role="status">
          <div>
            <strong>{n.title}</strong>
            <p>{n.message}</p>
          </div>
          <button type="button" className="btn btn-ghost btn-small" aria-label="关闭" onClick={() => dismiss(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
