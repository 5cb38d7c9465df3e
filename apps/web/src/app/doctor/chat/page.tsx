'use client';

import { ChatPage } from '../../../components/chat-page.tsx';

export default function Page() {
  return <ChatPage forRole="doctor" />;
}
