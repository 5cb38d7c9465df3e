import type { Metadata } from 'next';
import type { ReactNode } from 'react';

/** The page is a client component: its title (issue #17, item 6) is set here, with the root's suffix. */
export const metadata: Metadata = { title: '个人中心' };

export default function ProfileLayout({ children }: { children: ReactNode }) {
  return children;
}
