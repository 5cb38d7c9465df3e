/**
 * Owns ONE client per app. The client is created in a state initializer (never
 * `useRef(new X())`, which would build a client on every render); creating one has no side
 * effects, so the extra initializer call of StrictMode leaks nothing. Unmounting the provider
 * closes the socket; StrictMode's simulated unmount is undone by its remount before any
 * connection attempt starts (see ConnectionDemand).
 */
import { type ClientOptions, WebSocketClient } from '@anmei/client';
import { type ReactNode, useEffect, useMemo, useState } from 'react';
import { ConnectionDemand } from './connection-demand.ts';
import { PAGE_WEBSOCKET_CONFIG, type PageWebSocketConfigMap } from './page-config.ts';
import { WebSocketContext, type WebSocketContextValue } from './websocket-context.ts';

export type WebSocketProviderProps = {
  /** Whether the user is signed in; pages with `requireAuth` connect only when true. */
  isAuthenticated: boolean;
  /** Route -> config. Default PAGE_WEBSOCKET_CONFIG. */
  pageConfig?: PageWebSocketConfigMap;
  /** The current route (e.g. `usePathname()` in Next.js). Default `window.location.pathname`. */
  pathname?: string;
  children?: ReactNode;
} & (
  | { /** Options for the client the provider creates (once). */ options: ClientOptions; client?: never }
  | { /** A client you created and dispose yourself. */ client: WebSocketClient; options?: never }
);

export function WebSocketProvider(props: WebSocketProviderProps): ReactNode {
  const { isAuthenticated, pageConfig = PAGE_WEBSOCKET_CONFIG, pathname, children } = props;
  const [client] = useState(() => props.client ?? new WebSocketClient(props.options!));
  const [demand] = useState(() => new ConnectionDemand(client));

  useEffect(() => {
    demand.activate();
    return () => demand.deactivate();
  }, [demand]);

  const value = useMemo<WebSocketContextValue>(
    () => ({ client, demand, pageConfig, isAuthenticated, pathname }),
    [client, demand, pageConfig, isAuthenticated, pathname],
  );
  return <WebSocketContext.Provider value={value}>{children}</WebSocketContext.Provider>;
}
