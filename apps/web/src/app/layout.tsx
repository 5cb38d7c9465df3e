import type { Metadata, Viewport } from 'next';
import { connection } from 'next/server';
import type { ReactNode } from 'react';
import { AppHeader } from '../components/app-header.tsx';
import { wsUrl } from '../lib/server-env.ts';
import './globals.css';
import { Providers } from './providers.tsx';

export const metadata: Metadata = {
  title: '安美智享 · 在线咨询',
  description: 'AnmeiSmart consultation platform',
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
