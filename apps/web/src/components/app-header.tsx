'use client';

import { useWebSocketClient } from '@anmei/react';
import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { forgetConversations } from '../lib/conversation-cache.ts';
import { clearSession, homeFor, ROLE_LABELS, useSession } from '../lib/session.ts';
import { disableWebPushBeforeLogout } from '../lib/web-push.ts';

export function AppHeader() {
  const session = useSession();
  const pathname = usePathname();
  const router = useRouter();
  const client = useWebSocketClient();
  const links: { href: string; label: string }[] = [];
  if (session) {
    const role = session.user.role;
    links.push({ href: role === 'admin' ? '/chat' : homeFor(role), label: '咨询' });
    if (role === 'admin') links.push({ href: '/admin', label: '管理后台' });
    links.push({ href: '/profile', label: '个人中心' });
  }
  links.push({ href: '/help', label: '帮助' });
  // A developer tool: for admins (the page itself stays reachable by its address).
  if (session?.user.role === 'admin') links.push({ href: '/test-websocket', label: '连接测试' });
  return (
    <header className="app-header">
      <Link href={session ? homeFor(session.user.role) : '/login'} className="brand">
        <span className="brand-mark" aria-hidden="true">
          安
        </span>
        安美智享
      </Link>
      <nav className="app-nav" aria-label="主导航">
        {links.map((link) => (
          <Link
            key={link.href}
            href={link.href}
            className={pathname === link.href || pathname.startsWith(`${link.href}/`) ? 'active' : undefined}
          >
            {link.label}
          </Link>
        ))}
      </nav>
      <div className="app-user">
        {session ? (
          <>
            <span className="user-name">
              {session.user.display_name}
              <small>{ROLE_LABELS[session.user.role]}</small>
            </span>
            <button
              type="button"
              className="btn btn-ghost"
              onClick={async () => {
                // Push off first: deleting the device needs the session's token.
                await disableWebPushBeforeLogout(session.user.id);
                // Unsent messages and the cached list are this user's: on a shared computer the
                // next one must not see them (nor send them).
                await client.clearOutbox().catch((e: unknown) => console.warn('clearing the outbox failed', e));
                forgetConversations(session.user.id);
                clearSession();
                router.push('/login');
              }}
            >
              退出
            </button>
          </>
        ) : session === null && pathname !== '/login' ? (
          <Link href="/login" className="btn btn-primary">
            登录
          </Link>
        ) : null}
      </div>
    </header>
  );
}
