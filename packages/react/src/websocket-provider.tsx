/**
 * Owns ONE client per app. The client is created in a state initializer (never
 * `useRef(new X())`, which would build a client on every render); creating one has no side
 * effects, so the extra initializer call of StrictMode leaks nothing. Unmounting the provider
 * closes the socket; StrictMode's simulated unmount is undone by its remount before any
 * connection attempt starts (see ConnectionDemand).
 */
import { browserOutboxStorage, type ClientOptions, type OutboxStorage, WebSocketClient } from '@anmei/client';
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
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
  /**
   * The signed-in user's id (null: signed out), for the outbox. Given, the provider keeps that
   * user's pending sends in `outboxStorage(userId)`, so they survive a reload and are sent when
   * the socket is back; when it changes, the previous user's pending sends are discarded from
   * memory (never sent as the new user; they stay in that user's storage). Omitted (undefined,
   * e.g. before the session is known): the outbox is left alone, in memory.
   */
  userId?: string | null;
  /**
   * Where a user's pending sends are kept. Default `browserOutboxStorage`: IndexedDB, one
   * database per user; null where the browser has none (memory only). Called once per user id.
   */
  outboxStorage?: (userId: string) => OutboxStorage | null;
  children?: ReactNode;
} & (
  | { /** Options for the client the provider creates (once). */ options: ClientOptions; client?: never }
  | { /** A client you created and dispose yourself. */ client: WebSocketClient; options?: never }
);

export function WebSocketProvider(props: WebSocketProviderProps): ReactNode {
  const { isAuthenticated, pageConfig = PAGE_WEBSOCKET_CONFIG, pathname, userId, children } = props;
  const [client] = useState(() => props.client ?? new WebSocketClient(props.options!));
  const [demand] = useState(() => new ConnectionDemand(client));
  // One storage object per user for the provider's life: attaching the same one again (StrictMode's
  // second effect run) is a no-op instead of a discard and a second load.
  const [storages] = useState(() => new Map<string, OutboxStorage | null>());
  const storageFor = useRef(props.outboxStorage ?? browserOutboxStorage);
  useEffect(() => {
    storageFor.current = props.outboxStorage ?? browserOutboxStorage;
  });
  const owner = useRef<string | null | undefined>(undefined);

  useEffect(() => {
    demand.activate();
    return () => demand.deactivate();
  }, [demand]);

  useEffect(() => {
    if (userId === undefined) return;
    const previous = owner.current;
    owner.current = userId;
    // Also without a storage (memory only): one user's message must not be sent as the next one's.
    if (previous !== undefined && previous !== userId) client.discardPending();
    let storage: OutboxStorage | null = null;
    if (userId !== null) {
      if (!storages.has(userId)) storages.set(userId, storageFor.current(userId));
      storage = storages.get(userId) ?? null;
    }
    void client.setOutboxStorage(storage);
  }, [client, storages, userId]);

  const value = useMemo<WebSocketContextValue>(
    () => ({ client, demand, pageConfig, isAuthenticated, pathname }),
    [client, demand, pageConfig, isAuthenticated, pathname],
  );
  return <WebSocketContext.Provider value={value}>{children}</WebSocketContext.Provider>;
}
