'use client';

import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useEffect, useState } from 'react';
import { homeFor, type Role, useSession } from '../lib/session.ts';
import { ChatView } from './chat-view.tsx';
import { NewConsultation } from './new-consultation.tsx';

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
  const params = useSearchParams();
  const selected = params.get('c');
  /** Bumped when a consultation is started here: ChatView remounts, so its list has the new one. */
  const [started, setStarted] = useState<string | null>(null);
  useEffect(() => {
    if (session === null) router.replace('/login');
    else if (session && role && session.user.role !== role) router.replace(homeFor(session.user.role));
  }, [session, role, router]);
  if (!session || (role && session.user.role !== role)) return <p className="muted center">加载中…</p>;
  if (session.user.role !== 'customer') return <ChatView session={session} selected={selected} />;
  return (
    <ChatView
      key={started ?? 'initial'}
      session={session}
      selected={started ?? selected}
      headAction={
        <NewConsultation
          initiallyOpen={started === null && params.get('start') === '1'}
          onStarted={(id) => {
            setStarted(id);
            router.replace(`${homeFor('customer')}?c=${encodeURIComponent(id)}`);
          }}
        />
      }
    />
  );
}
