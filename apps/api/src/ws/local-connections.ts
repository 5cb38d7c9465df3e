/**
 * This instance's sockets, indexed by connection id and by user id, and the delivery of a
 * broadcast to the matching ones through the socket writer (socket-writer.ts: slow-consumer cap,
 * resume hold, corking). Hot path: the envelope's frame is turned into a WebSocket frame once per
 * envelope (prepared-frame.ts) and the same Buffer goes to every matching socket; no await per
 * recipient and no allocation per recipient (no iterator, no options object).
 */

import { DEVICE_TYPES, type DeviceType, ROLES, type Role } from '@anmei/protocol';
import type { DeliveryCounter } from '../observability/delivery-counter.ts';
import type { ConnectionCensus } from '../observability/metrics.ts';
import type { ConnectionInfo, Envelope } from '../realtime/types.ts';
import { prepareTextFrame } from './prepared-frame.ts';
import { type OutboundSocket, SocketWriter, type SocketWriterOptions } from './socket-writer.ts';

export interface LocalConnection extends OutboundSocket {
  /** Set false when a ping goes out, true on any pong or inbound frame. */
  alive: boolean;
}

export interface LocalConnectionsOptions extends SocketWriterOptions {
  /** Counts each envelope's deliveries by action (anmei_ws_frames_delivered_total): once per envelope. */
  delivered?: DeliveryCounter;
}

/**
 * A user's sockets here: the connection itself while they have one (almost every user), an
 * array of two or more otherwise. Arrays are replaced, never mutated, so a delivery loop
 * running over one is not disturbed by an add or remove.
 */
type UserSockets = LocalConnection | readonly LocalConnection[];

export class LocalConnections {
  /** The one writer of this instance's sockets; the gateway and sessions write their own frames through it too. */
  readonly writer: SocketWriter;
  readonly #byId = new Map<string, LocalConnection>();
  readonly #byUser = new Map<string, UserSockets>();
  readonly #delivered: DeliveryCounter | undefined;

  constructor(options: LocalConnectionsOptions) {
    this.writer = new SocketWriter(options);
    this.#delivered = options.delivered;
  }

  get size(): number {
    return this.#byId.size;
  }
  get userCount(): number {
    return this.#byUser.size;
  }

  /** Returns true when this is the user's first socket on this instance (subscribe them). */
  add(connection: LocalConnection): boolean {
    const { connectionId, userId } = connection.info;
    this.#byId.set(connectionId, connection);
    const existing = this.#byUser.get(userId);
    if (existing === undefined) {
      this.#byUser.set(userId, connection);
      return true;
    }
    this.#byUser.set(userId, isMany(existing) ? [...existing, connection] : [existing, connection]);
    return false;
  }

  /** Returns whether it was the user's last socket here (unsubscribe them), or null if unknown. */
  remove(connectionId: string): { connection: LocalConnection; lastForUser: boolean } | null {
    const connection = this.#byId.get(connectionId);
    if (!connection) return null;
    this.#byId.delete(connectionId);
    const { userId } = connection.info;
    const existing = this.#byUser.get(userId);
    if (existing === undefined) return { connection, lastForUser: false };
    if (!isMany(existing)) {
      if (existing !== connection) return { connection, lastForUser: false };
      this.#byUser.delete(userId);
      return { connection, lastForUser: true };
    }
    const rest = existing.filter((c) => c !== connection);
    this.#byUser.set(userId, rest.length === 1 ? (rest[0] as LocalConnection) : rest);
    return { connection, lastForUser: false };
  }

  get(connectionId: string): LocalConnection | undefined {
    return this.#byId.get(connectionId);
  }

  /** The user's sockets here, oldest first (a copy). */
  ofUser(userId: string): readonly LocalConnection[] {
    const existing = this.#byUser.get(userId);
    if (existing === undefined) return [];
    return isMany(existing) ? [...existing] : [existing];
  }

  all(): IterableIterator<LocalConnection> {
    return this.#byId.values();
  }

  /**
   * Sockets by device type and role, and distinct users by role and by device type, in one pass
   * over the users (the connection gauges of /metrics read it at scrape time, not per frame).
   */
  census(): ConnectionCensus {
    const connections = Object.fromEntries(DEVICE_TYPES.map((d) => [d, zeroes(ROLES)])) as Record<
      DeviceType,
      Record<Role, number>
    >;
    const usersByRole = zeroes(ROLES);
    const usersByDevice = zeroes(DEVICE_TYPES);
    for (const sockets of this.#byUser.values()) {
      if (!isMany(sockets)) {
        // Almost every user: one socket, nothing to deduplicate.
        const { deviceType, role } = sockets.info;
        connections[deviceType][role]++;
        usersByRole[role]++;
        usersByDevice[deviceType]++;
        continue;
      }
      usersByRole[(sockets[0] as LocalConnection).info.role]++;
      const devices = new Set<DeviceType>();
      for (const connection of sockets) {
        connections[connection.info.deviceType][connection.info.role]++;
        devices.add(connection.info.deviceType);
      }
      for (const device of devices) usersByDevice[device]++;
    }
    return { connections, usersByRole, usersByDevice };
  }

  /** Write the envelope to every matching local socket; returns how many sockets were written. */
  deliver(envelope: Envelope, targets: readonly string[] | 'all'): number {
    // Once per envelope, never per socket: every socket gets the same bytes, and whether any
    // filter applies is decided here (almost every envelope has none).
    const bytes = typeof envelope.frame === 'string' ? Buffer.from(envelope.frame) : envelope.frame;
    const frame = prepareTextFrame(bytes);
    const filtered =
      envelope.deviceTypes !== undefined ||
      envelope.connectionType !== undefined ||
      envelope.excludeConnectionId !== undefined;
    const writer = this.writer;
    const cork = writer.startEnvelope();
    let written = 0;
    if (targets === 'all') {
      for (const connection of this.#byId.values()) {
        if (filtered && !matches(connection.info, envelope)) continue;
        if (writer.writeBroadcast(connection, frame, cork)) written++;
      }
      this.#delivered?.count(bytes, written);
      return written;
    }
    for (let t = 0; t < targets.length; t++) {
      const sockets = this.#byUser.get(targets[t] as string);
      if (sockets === undefined) continue;
      if (!isMany(sockets)) {
        if (filtered && !matches(sockets.info, envelope)) continue;
        if (writer.writeBroadcast(sockets, frame, cork)) written++;
        continue;
      }
      for (let s = 0; s < sockets.length; s++) {
        const connection = sockets[s] as LocalConnection;
        if (filtered && !matches(connection.info, envelope)) continue;
        if (writer.writeBroadcast(connection, frame, cork)) written++;
      }
    }
    this.#delivered?.count(bytes, written);
    return written;
  }
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

function isMany(sockets: UserSockets): sockets is readonly LocalConnection[] {
  return Array.isArray(sockets);
}

/** The envelope's device, connection-type and excluded-socket filters. */
function matches(info: ConnectionInfo, envelope: Envelope): boolean {
  if (envelope.deviceTypes !== undefined && !envelope.deviceTypes.includes(info.deviceType)) return false;
  if (envelope.connectionType !== undefined && envelope.connectionType !== info.connectionType) return false;
  return envelope.excludeConnectionId !== info.connectionId;
}
