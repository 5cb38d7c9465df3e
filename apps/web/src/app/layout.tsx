import type { Metadata, Viewport } from 'next';
import { connection } from 'next/server';
import type { ReactNode } from 'react';
import { AppHeader } from '../components/app-header.tsx';
import { wsUrl } from '../lib/server-env.ts';
import './globals.css';
import '../styles/chat-polish.css';
import { Providers } from './providers.tsx';

export const metadata: Metadata = {
  // Each page names itself (登录, 咨询, 管理后台 …; client pages through a layout.tsx beside them)
  // and gets the site's name after it; pages without a title show the default.
  title: { default: '安美智享 · 在线咨询', template: '%s · 安美智享' },
  description: '安美智享：医美机构的在线咨询平台',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Read NEXT_PUBLIC_WS_URL per request, so one build runs against any API.
  await connection();
  return (
    <html lang="zh-CN">
      <body>
        <Providers wsUrl={wsUrl()}>
          <AppHeader />
          <main className="main">{children}</main>
        </Providers>
      </body>
    </html>
  );
}
