/**
 * The part of the WebSocket API the client uses. The browser's `WebSocket` and the `ws`
 * package's both fit, so Node code (and tests) pass `ws` as the `WebSocket` option.
 */

export interface SocketMessageEvent {
  readonly data: unknown;
}

export interface SocketCloseEvent {
  readonly code: number;
  readonly reason: string;
}

export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: SocketMessageEvent) => void): void;
  addEventListener(type: 'close', listener: (event: SocketCloseEvent) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
  removeEventListener(type: 'open', listener: () => void): void;
  removeEventListener(type: 'message', listener: (event: SocketMessageEvent) => void): void;
  removeEventListener(type: 'close', listener: (event: SocketCloseEvent) => void): void;
  removeEventListener(type: 'error', listener: (event: unknown) => void): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** WebSocket.OPEN, without depending on a global that Node 20 does not have. */
export const SOCKET_OPEN = 1;

/** The browser's WebSocket, or undefined (Node 20, server-side rendering). */
export function globalWebSocket(): WebSocketConstructor | undefined {
  const candidate: unknown = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof candidate === 'function' ? (candidate as WebSocketConstructor) : undefined;
}

/** The WebSocket to use: the option, else the global one; throws an actionable error when neither exists. */
export function resolveWebSocket(option: WebSocketConstructor | undefined): WebSocketConstructor {
  const ctor = option ?? globalWebSocket();
  if (ctor) return ctor;
  throw new TypeError(
    '@anmei/client: there is no global WebSocket here (Node 20, server-side rendering); pass the "WebSocket" option, e.g. `import WebSocket from "ws"`.',
  );
}
