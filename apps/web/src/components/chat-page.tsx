'use client';

import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useEffect } from 'react';
import { homeFor, type Role, useSession } from '../lib/session.ts';
import { ChatView } from './chat-view.tsx';

/**
 * The chat page of one role: signed-out users go to /login, other roles to their own page.
 * `?c=<conversation id>` opens that conversation (the link a push notification opens).
 */
export function ChatPage({ forRole }: { forRole?: Role }) {
  // useSearchParams needs a Suspense boundary, or `next build` refuses to prerender the page.
  return (
    <Suspense fallback={<p className="muted center">加载中…</p>}>
      <RoleChat {...(forRole ? { forRole } : {})} />
    </Suspense>
  );
}

function RoleChat({ forRole: role }: { forRole?: Role }) {
  const session = useSession();
  const router = useRouter();
  const selected = useSearchParams().get('c');
  useEffect(() => {
    if (session === null) router.replace('/login');
    else if (session && role && session.user.role !== role) router.replace(homeFor(session.user.role));
  }, [session, role, router]);
  if (!session || (role && session.user.role !== role)) return <p className="muted center">加载中…</p>;
  return <ChatView session={session} selected={selected} />;
}
