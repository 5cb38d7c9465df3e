import type { ConnectionInfo, PresenceStats } from '../types.ts';

/**
 * Who is connected, where, with which device — across all instances.
 *
 * Contract for implementations:
 * - `add` then `devicesOf(userId)` lists the connection (from any instance); `remove`
 *   takes it out; removing an unknown id is a no-op.
 * - A user is online while at least one connection of theirs is present; `onlineAmong`
 *   answers for many users in one call (one round trip for remote stores).
 * - `devicesOf` returns connections oldest first.
 * - `stats()` counts connections by device type, role and instance, and distinct users.
 * - `removeInstance(instanceId)` removes every connection of that instance (crash cleanup).
 * - After `close()` no timer or connection remains.
 */
export interface Presence {
  add(connection: ConnectionInfo): Promise<void>;
  remove(connectionId: string): Promise<void>;
  devicesOf(userId: string): Promise<ConnectionInfo[]>;
  onlineAmong(userIds: readonly string[]): Promise<Set<string>>;
  isOnline(userId: string): Promise<boolean>;
  stats(): Promise<PresenceStats>;
  removeInstance(instanceId: string): Promise<number>;
  close(): Promise<void>;
}
