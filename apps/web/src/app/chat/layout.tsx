import type { Metadata } from 'next';
import type { ReactNode } from 'react';

/** The page is a client component: its title (issue #17, item 6) is set here, with the root's suffix. */
export const metadata: Metadata = { title: '咨询' };

export default function ChatLayout({ children }: { children: ReactNode }) {
  return children;
}
