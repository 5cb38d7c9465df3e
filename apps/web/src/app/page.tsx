'use client';

import { useRouter } from 'next/navigation';
import { useEffect } from 'react';
import { homeFor, useSession } from '../lib/session.ts';

export default function Home() {
  const session = useSession();
  const router = useRouter();
  useEffect(() => {
    if (session === undefined) return;
    router.replace(session ? homeFor(session.user.role) : '/login');
  }, [session, router]);
  return <p className="muted center">正在跳转…</p>;
}
