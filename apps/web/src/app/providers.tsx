'use client';

import { type ClientOptions, UnauthorizedError } from '@anmei/client';
import { PAGE_WEBSOCKET_CONFIG, type PageWebSocketConfigMap, WebSocketProvider } from '@anmei/react';
import { usePathname } from 'next/navigation';
import { type ReactNode, useMemo, useState } from 'react';
import { useServiceWorkerNavigation } from '../components/push-toggle.tsx';
import { loggingCodec, trackingWebSocket } from '../lib/frame-log.ts';
import { readSession, useSession } from '../lib/session.ts';

/** Asks the same-origin proxy for a single-use ticket with the session's access token. */
async function getTicket({ signal }: { signal: AbortSignal }): Promise<string> {
  const session = readSession();
  if (!session) throw new UnauthorizedError('not signed in');
  const response = await fetch('/api/v1/ws/ticket', {
    method: 'POST',
    headers: { authorization: `Bearer ${session.token}` },
    signal,
    cache: 'no-store',
  });
  if (response.status === 401) throw new UnauthorizedError('access token refused');
  if (!response.ok) throw new Error(`ticket request failed: HTTP ${response.status}`);
  const body = (await response.json()) as { ticket: string };
  return body.ticket;
}

export function Providers({ wsUrl, children }: { wsUrl: string; children: ReactNode }) {
  const pathname = usePathname();
  const session = useSession();
  const role = session?.user.role;
  useServiceWorkerNavigation();
  const [options] = useState<ClientOptions>(() => {
    const WebSocket = typeof window === 'undefined' ? undefined : trackingWebSocket();
    return { url: wsUrl, getTicket, codec: loggingCodec, ...(WebSocket ? { WebSocket } : {}) };
  });
  // The admin socket is for admins only: for anyone else /admin has no socket (and shows "no access").
  const pages = useMemo<PageWebSocketConfigMap>(() => {
    const admin = PAGE_WEBSOCKET_CONFIG['/admin']!;
    return { ...PAGE_WEBSOCKET_CONFIG, '/admin': { ...admin, enabled: role === 'admin' } };
  }, [role]);
  return (
    <WebSocketProvider
      options={options}
      pageConfig={pages}
      pathname={pathname}
      isAuthenticated={Boolean(session)}
      // Pending messages are kept per user in IndexedDB: a reload while offline does not lose them.
      userId={session === undefined ? undefined : (session?.user.id ?? null)}
    >
      {children}
    </WebSocketProvider>
  );
}
