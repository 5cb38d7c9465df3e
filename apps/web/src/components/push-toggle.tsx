'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import type { SessionUser } from '../lib/session.ts';
import { FALLBACKS, userMessage } from '../lib/user-messages.ts';
import { disableWebPush, enableWebPush, isWebPushOn } from '../lib/web-push.ts';

/**
 * The "消息通知" switch: off by default; on asks the browser's permission (only then), subscribes
 * and registers this browser for pushes; off undoes both. Errors stay under the switch.
 */
export function PushToggle({ user }: { user: SessionUser }) {
  const [on, setOn] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  // localStorage and Notification.permission exist only in the browser: read them after hydration.
  useEffect(() => setOn(isWebPushOn(user.id)), [user.id]);

  async function toggle() {
    setBusy(true);
    setError(null);
    try {
      if (on) {
        await disableWebPush(user.id);
        setOn(false);
      } else {
        await enableWebPush(user);
        setOn(true);
      }
    } catch (e) {
      setError(userMessage(e, FALLBACKS.push));
      setOn(isWebPushOn(user.id));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="push-toggle" data-testid="push-toggle" data-state={busy ? 'busy' : on ? 'on' : 'off'}>
      <label className="switch-row">
        <span>消息通知</span>
        <input
          type="checkbox"
          role="switch"
          className="switch"
          checked={on}
          aria-checked={on}
          disabled={busy}
          aria-describedby={error ? 'push-toggle-error' : undefined}
          onChange={() => void toggle()}
        />
      </label>
      {on ? <p className="muted small">离线时，新消息会以系统通知提醒您</p> : null}
      {error ? (
        <p id="push-toggle-error" className="error small" role="alert" data-testid="push-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * Follows the service worker's `{type: 'anmei:navigate', url}` (sent when a notification is
 * clicked and the open window is not controlled by the worker, so it cannot navigate it itself).
 */
export function useServiceWorkerNavigation(): void {
  const router = useRouter();
  useEffect(() => {
    if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return;
    const onMessage = (event: MessageEvent) => {
      const data: unknown = event.data;
      if (typeof data !== 'object' || data === null) return;
      const { type, url } = data as { type?: unknown; url?: unknown };
      if (type !== 'anmei:navigate' || typeof url !== 'string') return;
      const target = new URL(url, window.location.href);
      if (target.origin === window.location.origin) router.push(`${target.pathname}${target.search}`);
    };
    navigator.serviceWorker.addEventListener('message', onMessage);
    return () => navigator.serviceWorker.removeEventListener('message', onMessage);
  }, [router]);
}
