'use client';

import { ChatPage } from '../../../components/chat-view.tsx';

export default function Page() {
  return <ChatPage forRole="customer" />;
}
