/**
 * Network and page-lifecycle signals from the browser: `online`/`offline` on window,
 * `visibilitychange` on document, `pagehide`/`pageshow` (back/forward cache) on window.
 * Listeners are attached only while the client wants a connection and are all removed by
 * `detach()`, so a disposed client leaves nothing on the page's globals.
 */

export interface EventTargetLike {
  addEventListener(type: string, listener: (event: unknown) => void): void;
  removeEventListener(type: string, listener: (event: unknown) => void): void;
}

export interface EnvironmentTargets {
  /** Receives online/offline/pagehide/pageshow; `navigator.onLine` is read from it (or the global navigator). */
  window?: EventTargetLike & { navigator?: { onLine?: boolean } };
  /** Receives visibilitychange; `visibilityState` is read from it. */
  document?: EventTargetLike & { visibilityState?: string };
}

export interface EnvironmentCallbacks {
  online(): void;
  offline(): void;
  visible(): void;
  hidden(): void;
  /** `persisted`: the page goes into the back/forward cache and may come back with pageshow. */
  pageHide(persisted: boolean): void;
  pageShow(persisted: boolean): void;
}

/** window and document when running in a browser; null elsewhere (Node, SSR). */
export function browserEnvironment(): EnvironmentTargets | null {
  const g = globalThis as { window?: EnvironmentTargets['window']; document?: EnvironmentTargets['document'] };
  if (!g.window && !g.document) return null;
  return { ...(g.window ? { window: g.window } : {}), ...(g.document ? { document: g.document } : {}) };
}

function persisted(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'persisted' in event && event.persisted === true;
}

export class EnvironmentWatcher {
  readonly #targets: EnvironmentTargets;
  #detach: (() => void) | null = null;

  constructor(targets: EnvironmentTargets | null) {
    this.#targets = targets ?? {};
  }

  /** false only when the browser positively reports no network. */
  get online(): boolean {
    const nav = this.#targets.window?.navigator ?? (globalThis as { navigator?: { onLine?: boolean } }).navigator;
    return this.#targets.window === undefined || nav?.onLine !== false;
  }

  get hidden(): boolean {
    return this.#targets.document?.visibilityState === 'hidden';
  }

  get attached(): boolean {
    return this.#detach !== null;
  }

  /** Idempotent: a second attach while attached keeps the first callbacks. */
  attach(callbacks: EnvironmentCallbacks): void {
    if (this.#detach) return;
    const { window, document } = this.#targets;
    const removers: Array<() => void> = [];
    const listen = (target: EventTargetLike | undefined, type: string, listener: (event: unknown) => void) => {
      if (!target) return;
      target.addEventListener(type, listener);
      removers.push(() => target.removeEventListener(type, listener));
    };
    listen(window, 'online', () => callbacks.online());
    listen(window, 'offline', () => callbacks.offline());
    listen(window, 'pagehide', (event) => callbacks.pageHide(persisted(event)));
    listen(window, 'pageshow', (event) => callbacks.pageShow(persisted(event)));
    listen(document, 'visibilitychange', () => (this.hidden ? callbacks.hidden() : callbacks.visible()));
    this.#detach = () => {
      for (const remove of removers) remove();
    };
  }

  detach(): void {
    this.#detach?.();
    this.#detach = null;
  }
}
