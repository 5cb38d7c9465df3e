/**
 * Raw frames in and out, for /test-websocket: a logging codec (the client's serializer seam) and a
 * WebSocket constructor that remembers the current socket so the test page can send any text.
 */
import { type Codec, jsonCodec, type WebSocketConstructor, type WebSocketLike } from '@anmei/client';
import type { ServerFrame } from '@anmei/protocol';

export interface RawFrame {
  id: number;
  direction: 'in' | 'out';
  text: string;
  at: number;
}

const MAX = 300;
let frames: RawFrame[] = [];
let nextId = 1;
const listeners = new Set<() => void>();
let current: WebSocketLike | null = null;

function record(direction: RawFrame['direction'], text: string): void {
  frames = [...frames.slice(-(MAX - 1)), { id: nextId++, direction, text, at: Date.now() }];
  for (const listener of listeners) listener();
}

export const frameLog = {
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  snapshot: (): RawFrame[] => frames,
  empty: (): RawFrame[] => EMPTY,
  clear(): void {
    frames = [];
    for (const listener of listeners) listener();
  },
  /** Writes `text` as-is on the open socket; false when there is none. */
  sendRaw(text: string): boolean {
    if (current?.readyState !== 1) return false;
    current.send(text);
    return true;
  },
};
const EMPTY: RawFrame[] = [];

// For debugging in the browser console (and end-to-end tests): window.anmeiFrames.snapshot().
if (typeof window !== 'undefined') (window as unknown as { anmeiFrames: typeof frameLog }).anmeiFrames = frameLog;

/**
 * Frames handed to the app as they arrive, before the client's delivery tracker. Workaround: the
 * tracker assumes a conversation's event_seq reaches each user without holes, but the server
 * never sends a user their own read receipts (live or replayed), so after my own first read every
 * later `read_status` / conversation `system_notification` is held forever. Both are safe to apply
 * more than once (receipts take the max; notices are de-duplicated by event_id by the chat view).
 */
type RawListener = (frame: ServerFrame) => void;
const rawListeners = new Map<string, Set<RawListener>>();

export function onRawFrame<A extends ServerFrame['action']>(
  action: A,
  listener: (frame: Extract<ServerFrame, { action: A }>) => void,
): () => void {
  let set = rawListeners.get(action);
  if (!set) {
    set = new Set();
    rawListeners.set(action, set);
  }
  const entry = listener as RawListener;
  set.add(entry);
  return () => set.delete(entry);
}

export const loggingCodec: Codec = {
  // Outgoing frames are recorded by the socket wrapper below, when they are really written.
  encode: (frame) => jsonCodec.encode(frame),
  decode(text) {
    record('in', text);
    const result = jsonCodec.decode(text);
    if (result.ok) {
      for (const listener of rawListeners.get(result.frame.action) ?? []) {
        try {
          listener(result.frame);
        } catch (error) {
          console.error('raw frame listener failed', error);
        }
      }
    }
    return result;
  },
};

/** Browser only: wraps the global WebSocket and keeps the latest instance. */
export function trackingWebSocket(): WebSocketConstructor | undefined {
  const Native = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Native) return undefined;
  return function createTrackedSocket(url: string): WebSocketLike {
    const socket = new Native(url);
    const write = socket.send.bind(socket);
    socket.send = (data: string) => {
      record('out', data);
      write(data);
    };
    current = socket;
    return socket;
  } as unknown as WebSocketConstructor;
}
