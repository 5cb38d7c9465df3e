/** The context the provider fills and the hooks read. */
import type { WebSocketClient } from '@anmei/client';
import { createContext, useContext } from 'react';
import type { ConnectionDemand } from './connection-demand.ts';
import type { PageWebSocketConfigMap } from './page-config.ts';

export interface WebSocketContextValue {
  client: WebSocketClient;
  demand: ConnectionDemand;
  pageConfig: PageWebSocketConfigMap;
  isAuthenticated: boolean;
  /** The current route if the app passes it (e.g. Next's usePathname()). */
  pathname: string | undefined;
}

export const WebSocketContext = createContext<WebSocketContextValue | null>(null);

export function useWebSocketContext(caller: string): WebSocketContextValue {
  const value = useContext(WebSocketContext);
  if (!value) throw new Error(`${caller} must be used inside <WebSocketProvider>.`);
  return value;
}
