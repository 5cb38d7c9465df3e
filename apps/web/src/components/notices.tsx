'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { NOTICE_LIFETIME_MS } from './notice-lifetime.ts';

export interface Notice {
  id: number;
  title: string;
  message: string;
  kind: 'info' | 'error';
}

/** At most this many toasts at once; a new one pushes out the oldest. */
const MAX_NOTICES = 4;

let nextId = 1;

export function useNotices() {
  const [notices, setNotices] = useState<Notice[]>([]);
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  const dismiss = useCallback((id: number) => {
    clearTimeout(timers.current.get(id));
    timers.current.delete(id);
    setNotices((list) => list.filter((n) => n.id !== id));
  }, []);
  const push = useCallback(
    (notice: Omit<Notice, 'id'>) => {
      const id = nextId++;
      setNotices((list) => [...list.slice(-(MAX_NOTICES - 1)), { ...notice, id }]);
      timers.current.set(
        id,
        setTimeout(() => dismiss(id), NOTICE_LIFETIME_MS[notice.kind]),
      );
    },
    [dismiss],
  );
  // Unmounted (another page): no timer may fire into a gone component.
  useEffect(() => {
    const pending = timers.current;
    return () => {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
    };
  }, []);
  return { notices, push, dismiss };
}

/**
 * System notifications and errors, stacked at the bottom (above the composer on a phone), so they
 * never cover the thread header; each closes by itself after NOTICE_LIFETIME_MS.
 */
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
