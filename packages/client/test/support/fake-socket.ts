/**
 * A scripted, in-memory stand-in for the WebSocket, ONLY for timing tests that run under
 * Vitest fake timers (backoff schedule, offline/visibility handling), where real sockets would
 * need real time. Every behaviour test of the client runs against the real server instead.
 * Each new socket plays the next script step, right after it is created: `fail` (closes with 1006
 * before open, like a refused upgrade) or `accept` (opens and sends `connected`).
 */
import type { SocketCloseEvent, SocketMessageEvent, WebSocketLike } from '../../src/index.ts';
import { connectedFrameText } from './sockets.ts';

type Step = 'fail' | 'accept';
type Listener = (event: never) => void;

export class FakeNetwork {
  readonly sockets: FakeSocket[] = [];
  readonly #script: Step[] = [];
  #fallback: Step;

  constructor(fallback: Step = 'fail') {
    this.#fallback = fallback;
  }

  /** Queue the behaviour of the next sockets. */
  script(...steps: Step[]): this {
    this.#script.push(...steps);
    return this;
  }

  /** Behaviour once the script is used up. */
  otherwise(step: Step): this {
    this.#fallback = step;
    return this;
  }

  get WebSocket(): new (
    url: string,
  ) => WebSocketLike {
    const network = this;
    return class extends FakeSocket {
      constructor(url: string) {
        super(url, network.sockets.length);
        network.sockets.push(this);
        const step = network.#script.shift() ?? network.#fallback;
        // A microtask, not a timer: fake timers turn a 0 ms timer set during a tick into 1 ms.
        void Promise.resolve().then(() => (step === 'fail' ? this.serverClose(1006, '') : this.accept()));
      }
    };
  }

  get last(): FakeSocket {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error('no socket was created');
    return socket;
  }
}

export class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly url: string;
  readonly index: number;
  /** Text frames the client sent. */
  readonly sent: string[] = [];
  closedByClient: SocketCloseEvent | null = null;
  readonly #listeners = new Map<string, Set<Listener>>();

  constructor(url: string, index: number) {
    this.url = url;
    this.index = index;
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return;
    this.closedByClient = { code, reason };
    this.#finish(code, reason);
  }

  addEventListener(type: string, listener: Listener): void {
    const set = this.#listeners.get(type) ?? new Set();
    this.#listeners.set(type, set);
    set.add(listener);
  }

  removeEventListener(type: string, listener: Listener): void {
    this.#listeners.get(type)?.delete(listener);
  }

  get listenerCount(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }

  accept(): void {
    if (this.readyState !== 0) return;
    this.readyState = 1;
    this.#emit('open', {});
    this.serverSend(connectedFrameText(this.index));
  }

  serverSend(text: string): void {
    this.#emit('message', { data: text } satisfies SocketMessageEvent);
  }

  serverClose(code: number, reason: string): void {
    if (this.readyState >= 2) return;
    if (code === 1006) this.#emit('error', {});
    this.#finish(code, reason);
  }

  #finish(code: number, reason: string): void {
    this.readyState = 3;
    this.#emit('close', { code, reason } satisfies SocketCloseEvent);
  }

  #emit(type: string, event: unknown): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) (listener as (e: unknown) => void)(event);
  }
}

/** window/document stand-ins that count their listeners. */
export class CountingTarget extends EventTarget {
  listeners = 0;
  override addEventListener(...args: Parameters<EventTarget['addEventListener']>): void {
    this.listeners += 1;
    super.addEventListener(...args);
  }
  override removeEventListener(...args: Parameters<EventTarget['removeEventListener']>): void {
    this.listeners -= 1;
    super.removeEventListener(...args);
  }
}

export function fakeBrowser() {
  const window = Object.assign(new CountingTarget(), { navigator: { onLine: true } });
  const document = Object.assign(new CountingTarget(), { visibilityState: 'visible' });
  return {
    window,
    document,
    goOffline() {
      window.navigator.onLine = false;
      window.dispatchEvent(new Event('offline'));
    },
    goOnline() {
      window.navigator.onLine = true;
      window.dispatchEvent(new Event('online'));
    },
    hide() {
      document.visibilityState = 'hidden';
      document.dispatchEvent(new Event('visibilitychange'));
    },
    show() {
      document.visibilityState = 'visible';
      document.dispatchEvent(new Event('visibilitychange'));
    },
    pageHide() {
      window.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true }));
    },
    pageShow() {
      window.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }));
    },
  };
}
