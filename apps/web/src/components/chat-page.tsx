'use client';

import { useRouter } from 'next/navigation';
import { useEffect } from 'react';
import { homeFor, type Role, useSession } from '../lib/session.ts';
import { ChatView } from './chat-view.tsx';

/** The chat page of one role: signed-out users go to /login, other roles to their own page. */
export function ChatPage({ forRole: role }: { forRole?: Role }) {
  const session = useSession();
  const router = useRouter();
  useEffect(() => {
    if (session === null) router.replace('/login');
    else if (session && role && session.user.role !== role) router.replace(homeFor(session.user.role));
  }, [session, role, router]);
  if (!session || (role && session.user.role !== role)) return <p className="muted center">加载中…</p>;
  return <ChatView session={session} />;
}
