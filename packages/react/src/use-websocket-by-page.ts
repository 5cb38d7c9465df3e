/**
 * The seed's page hook: looks up the page's config, connects if the page wants a socket (and
 * the user is signed in when it requires that), and releases it when the page goes away.
 */
import type {
  ClientSnapshot,
  ConnectionStatus,
  Handler,
  HandlerKey,
  SendOptions,
  SendResult,
  UiFrame,
  WebSocketClient,
} from '@anmei/client';
import { useCallback, useEffect, useId, useMemo } from 'react';
import { getPageConfig, type PageWebSocketConfig, pageConnectionMode } from './page-config.ts';
import { useWebSocketState } from './use-websocket.ts';
import { useWebSocketContext } from './websocket-context.ts';

export interface UseWebSocketByPageResult {
  isConnected: boolean;
  connectionStatus: ConnectionStatus;
  /** The full state (attempt, next retry time, close code...). */
  state: ClientSnapshot['state'];
  /** The last frame received. For bursts, use `subscribe`: it sees every frame. */
  lastMessage: UiFrame | null;
  sendMessage(conversationId: string, content: string, options?: SendOptions): Promise<SendResult>;
  /** This page's config; null when the page has no socket. */
  config: PageWebSocketConfig | null;
  /** Connect now (also for `autoConnect: false` pages). Does nothing on a page without a socket. */
  connect(): void;
  disconnect(): void;
  /** Handles every frame of `action`; returns an unsubscribe function. */
  subscribe<K extends HandlerKey>(action: K, handler: Handler<K>): () => void;
  client: WebSocketClient;
}

function currentPathname(): string {
  return typeof window === 'undefined' ? '/' : window.location.pathname;
}

export function useWebSocketByPage(pathname?: string): UseWebSocketByPageResult {
  const ctx = useWebSocketContext('useWebSocketByPage');
  const { client, demand } = ctx;
  const path = pathname ?? ctx.pathname ?? currentPathname();
  const config = useMemo(() => getPageConfig(path, ctx.pageConfig), [path, ctx.pageConfig]);
  const mode = pageConnectionMode(config, ctx.isAuthenticated);
  const connectionType = config?.connectionType ?? 'chat';
  const snapshot = useWebSocketState();
  const owner = useId();

  useEffect(() => {
    if (!mode) return;
    demand.set(owner, { mode, connectionType });
    return () => demand.set(owner, null);
  }, [demand, owner, mode, connectionType]);
  // A page that must not have a socket releases one left by the previous page.
  useEffect(() => {
    if (!mode) demand.set(owner, null);
  }, [demand, owner, mode]);

  const connect = useCallback(() => {
    if (mode) client.connect({ connectionType });
  }, [client, mode, connectionType]);
  const disconnect = useCallback(() => client.disconnect(), [client]);
  const sendMessage = useCallback(
    (conversationId: string, content: string, options?: SendOptions) => client.send(conversationId, content, options),
    [client],
  );
  const subscribe = useCallback(
    <K extends HandlerKey>(action: K, handler: Handler<K>) => client.on(action, handler),
    [client],
  );

  return {
    isConnected: snapshot.state.status === 'open',
    connectionStatus: snapshot.state.status,
    state: snapshot.state,
    lastMessage: snapshot.lastMessage,
    sendMessage,
    config,
    connect,
    disconnect,
    subscribe,
    client,
  };
}
