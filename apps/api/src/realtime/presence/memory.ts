/**
 * In-process Presence: every presence created from one store sees the same connections, like
 * API instances sharing one Redis. One store per process is the embedded single-instance
 * default; tests create several presences from one store to simulate several instances.
 */
import { DEVICE_TYPES, type DeviceType, ROLES, type Role } from '@anmei/protocol';
import { type ConnectionInfo, FrozenConnectionInfo, type PresenceStats } from '../types.ts';
import type { Presence, PresenceListener } from './presence.ts';

function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

/** A user's connections: the record itself while they have one (almost every user), else an array. */
type UserConnections = FrozenConnectionInfo | readonly FrozenConnectionInfo[];

export class MemoryPresenceStore {
  readonly #byConnection = new Map<string, FrozenConnectionInfo>();
  /** userId -> that user's connections; a user with none has no entry. */
  readonly #byUser = new Map<string, UserConnections>();
  /** Listeners of every presence made from this store (they share it as instances share Redis). */
  readonly #listeners = new Set<PresenceListener>();

  /** See Presence.onChange; synchronous here, since every instance sees the same map. */
  listen(listener: PresenceListener): () => void {
    // Wrapped, so the same function given twice is two subscriptions, like two instances.
    const own: PresenceListener = (change) => listener(change);
    this.#listeners.add(own);
    return () => this.#listeners.delete(own);
  }

  #changed(userId: string, online: boolean): void {
    for (const listener of this.#listeners) listener({ userId, online });
  }

  createPresence(): MemoryPresence {
    return new MemoryPresence(this);
  }

  /**
   * Adding an id that is already present replaces that connection (a re-registration).
   * Stored records cannot change, as a remote store's could not: a FrozenConnectionInfo (what the
   * gateway passes) is kept as-is, anything else is copied into one. Reads hand out plain copies.
   */
  add(connection: ConnectionInfo): void {
    // Re-registering a connection of the same user is no change of their online state.
    const rejoin = this.#byConnection.get(connection.connectionId)?.userId === connection.userId;
    this.#remove(connection.connectionId, rejoin);
    const stored = FrozenConnectionInfo.of(connection);
    this.#byConnection.set(stored.connectionId, stored);
    const existing = this.#byUser.get(stored.userId);
    if (existing === undefined) {
      this.#byUser.set(stored.userId, stored);
      if (!rejoin) this.#changed(stored.userId, true);
    } else this.#byUser.set(stored.userId, Array.isArray(existing) ? [...existing, stored] : [existing, stored]);
  }

  remove(connectionId: string): boolean {
    return this.#remove(connectionId, false);
  }

  #remove(connectionId: string, quiet: boolean): boolean {
    const existing = this.#byConnection.get(connectionId);
    if (existing === undefined) return false;
    this.#byConnection.delete(connectionId);
    const ofUser = this.#byUser.get(existing.userId);
    if (ofUser === existing || ofUser === undefined) {
      this.#byUser.delete(existing.userId);
      if (!quiet) this.#changed(existing.userId, false);
      return true;
    }
    if (Array.isArray(ofUser)) {
      // Arrays are replaced, never mutated, so a reader iterating an old one is not disturbed.
      const rest = ofUser.filter((c) => c !== existing);
      this.#byUser.set(existing.userId, rest.length === 1 ? (rest[0] as FrozenConnectionInfo) : rest);
    }
    return true;
  }

  devicesOf(userId: string): ConnectionInfo[] {
    const ofUser = this.#byUser.get(userId);
    if (ofUser === undefined) return [];
    if (!Array.isArray(ofUser)) return [(ofUser as FrozenConnectionInfo).toPlain()];
    // Oldest first; Array#sort is stable, so equal timestamps keep insertion order.
    return [...ofUser].sort((a, b) => a.connectedAtMs - b.connectedAtMs).map((c) => c.toPlain());
  }

  isOnline(userId: string): boolean {
    return this.#byUser.has(userId);
  }

  stats(): PresenceStats {
    const byDeviceType: Record<DeviceType, number> = zeroCounts(DEVICE_TYPES);
    const byRole: Record<Role, number> = zeroCounts(ROLES);
    const byInstance: Record<string, number> = {};
    for (const connection of this.#byConnection.values()) {
      byDeviceType[connection.deviceType] += 1;
      byRole[connection.role] += 1;
      byInstance[connection.instanceId] = (byInstance[connection.instanceId] ?? 0) + 1;
    }
    return { connections: this.#byConnection.size, users: this.#byUser.size, byDeviceType, byRole, byInstance };
  }

  removeInstance(instanceId: string): number {
    let removed = 0;
    for (const connection of [...this.#byConnection.values()]) {
      if (connection.instanceId === instanceId && this.remove(connection.connectionId)) removed += 1;
    }
    return removed;
  }
}

/**
 * One instance's handle on the shared store. Closing it only detaches this handle: the
 * connections it added stay (the gateway removes them, or survivors call removeInstance).
 */
export class MemoryPresence implements Presence {
  readonly #store: MemoryPresenceStore;
  readonly #stops = new Set<() => void>();
  #closed = false;

  /** Use `MemoryPresenceStore.createPresence`. */
  constructor(store: MemoryPresenceStore) {
    this.#store = store;
  }

  async add(connection: ConnectionInfo): Promise<void> {
    this.#assertOpen();
    this.#store.add(connection);
  }

  async remove(connectionId: string): Promise<void> {
    this.#assertOpen();
    this.#store.remove(connectionId);
  }

  async devicesOf(userId: string): Promise<ConnectionInfo[]> {
    this.#assertOpen();
    return this.#store.devicesOf(userId);
  }

  async onlineAmong(userIds: readonly string[]): Promise<Set<string>> {
    this.#assertOpen();
    return new Set(userIds.filter((userId) => this.#store.isOnline(userId)));
  }

  async isOnline(userId: string): Promise<boolean> {
    this.#assertOpen();
    return this.#store.isOnline(userId);
  }

  async stats(): Promise<PresenceStats> {
    this.#assertOpen();
    return this.#store.stats();
  }

  async removeInstance(instanceId: string): Promise<number> {
    this.#assertOpen();
    return this.#store.removeInstance(instanceId);
  }

  async onChange(listener: PresenceListener): Promise<() => void> {
    this.#assertOpen();
    const stop = this.#store.listen(listener);
    this.#stops.add(stop);
    return () => {
      this.#stops.delete(stop);
      stop();
    };
  }

  /** Idempotent; stops this handle's change listeners (it holds no timers or connections). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const stop of this.#stops) stop();
    this.#stops.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('presence is closed');
  }
}
