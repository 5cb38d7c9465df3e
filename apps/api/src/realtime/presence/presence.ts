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
 * - `onChange(listener)` resolves once every later change will reach `listener`: a user who came
 *   online (their first connection on any instance) or went offline (their last one removed,
 *   including by `removeInstance`), seen from every presence sharing the store, in the order the
 *   store applied them. The returned function stops it. Changes made while a remote store was
 *   unreachable may be missed; callers re-read state when the link comes back.
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
  onChange(listener: PresenceListener): Promise<() => void>;
  close(): Promise<void>;
}

/** A user came online (first connection anywhere) or went offline (last connection gone). */
export interface PresenceChange {
  userId: string;
  online: boolean;
}

export type PresenceListener = (change: PresenceChange) => void;
