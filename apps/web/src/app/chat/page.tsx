'use client';

import { ChatPage } from '../../components/chat-page.tsx';

/** Chat for whoever is signed in (admins too: they receive system notices here). */
export default function Page() {
  return <ChatPage />;
}
