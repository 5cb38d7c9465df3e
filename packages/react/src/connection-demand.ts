/**
 * Which pages currently want the socket. Each mounted useWebSocketByPage registers what its
 * page wants; after the current batch of effects (a microtask), the client is reconciled once:
 * any 'auto' page -> connect with its connection type; only 'manual' pages -> leave it as it
 * is; no page -> disconnect. Batching is what makes StrictMode's mount/unmount/mount and a
 * route change (old page's cleanup, new page's effect) cost zero extra connection attempts.
 */
import type { ConnectionType, WebSocketClient } from '@anmei/client';

export interface Demand {
  mode: 'auto' | 'manual';
  connectionType: ConnectionType;
}

export class ConnectionDemand {
  readonly #client: WebSocketClient;
  readonly #demands = new Map<string, Demand>();
  #scheduled = false;
  #active = true;

  constructor(client: WebSocketClient) {
    this.#client = client;
  }

  set(owner: string, demand: Demand | null): void {
    if (demand) this.#demands.set(owner, demand);
    else this.#demands.delete(owner);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (this.#active) this.#reconcile();
    });
  }

  /** The provider mounted (again): reconcile from now on. */
  activate(): void {
    this.#active = true;
  }

  /** The provider unmounted: close, and ignore demands until it mounts again. */
  deactivate(): void {
    this.#active = false;
    this.#client.disconnect();
  }

  #reconcile(): void {
    const demands = [...this.#demands.values()];
    const auto = demands.filter((d) => d.mode === 'auto').at(-1);
    if (auto) {
      this.#client.connect({ connectionType: auto.connectionType });
      return;
    }
    // A page that allows a socket on request keeps one the user opened, if its type fits.
    if (demands.some((d) => d.connectionType === this.#client.connectionType)) return;
    this.#client.disconnect();
  }
}
