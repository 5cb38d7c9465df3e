/** Small hooks over the provider's client: the client, its state, and handlers that never resubscribe. */
import type { ClientSnapshot, Handler, HandlerKey, HandlerMap, WebSocketClient } from '@anmei/client';
import { useEffect, useRef, useSyncExternalStore } from 'react';
import { useWebSocketContext } from './websocket-context.ts';

export function useWebSocketClient(): WebSocketClient {
  return useWebSocketContext('useWebSocketClient').client;
}

/** State, RTT, last error and last message; re-renders only when they change. */
export function useWebSocketState(): ClientSnapshot {
  const client = useWebSocketClient();
  return useSyncExternalStore(client.subscribe, client.getSnapshot, client.getSnapshot);
}

/**
 * Calls `handler` for every frame of `action` while mounted. The latest `handler` is read
 * through a ref, so passing a new closure on each render neither resubscribes nor misses frames.
 */
export function useWebSocketHandler<K extends HandlerKey>(action: K, handler: Handler<K>): void {
  const client = useWebSocketClient();
  const ref = useRef(handler);
  useEffect(() => {
    ref.current = handler;
  });
  useEffect(() => client.on(action, (frame: HandlerMap[K]) => ref.current(frame)), [client, action]);
}
