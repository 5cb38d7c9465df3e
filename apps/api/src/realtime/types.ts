/** Types shared by the realtime seams (Bus, Presence, local connections), and the frozen ConnectionInfo they share. */
import type { ConnectionType, DeviceType, Role } from '@anmei/protocol';

/** One WebSocket connection as the rest of the system sees it (no socket object in here). */
export interface ConnectionInfo {
  connectionId: string;
  userId: string;
  role: Role;
  deviceType: DeviceType;
  connectionType: ConnectionType;
  /** Id of the API instance holding the socket (config INSTANCE_ID). */
  instanceId: string;
  connectedAt: Date;
}

/**
 * The gateway's ConnectionInfo for one socket, shared as-is by LocalConnections, memory presence
 * and event listeners instead of being copied for each. Sharing is safe because nobody can
 * change it: the instance is frozen, and `connectedAt` is a new Date on every read, built from
 * `connectedAtMs` (ms since the epoch; a number field instead of a Date object per connection).
 */
export class FrozenConnectionInfo implements ConnectionInfo {
  readonly connectionId: string;
  readonly userId: string;
  readonly role: Role;
  readonly deviceType: DeviceType;
  readonly connectionType: ConnectionType;
  readonly instanceId: string;
  readonly connectedAtMs: number;

  constructor(fields: Omit<ConnectionInfo, 'connectedAt'>, connectedAtMs: number) {
    this.connectionId = fields.connectionId;
    this.userId = fields.userId;
    this.role = fields.role;
    this.deviceType = fields.deviceType;
    this.connectionType = fields.connectionType;
    this.instanceId = fields.instanceId;
    this.connectedAtMs = connectedAtMs;
    Object.freeze(this);
  }

  /** Returns `info` itself when it is already frozen, else a frozen copy. */
  static of(info: ConnectionInfo): FrozenConnectionInfo {
    return info instanceof FrozenConnectionInfo ? info : new FrozenConnectionInfo(info, info.connectedAt.getTime());
  }

  get connectedAt(): Date {
    return new Date(this.connectedAtMs);
  }

  /** A plain, mutable copy for callers that expect one. */
  toPlain(): ConnectionInfo {
    return {
      connectionId: this.connectionId,
      userId: this.userId,
      role: this.role,
      deviceType: this.deviceType,
      connectionType: this.connectionType,
      instanceId: this.instanceId,
      connectedAt: new Date(this.connectedAtMs),
    };
  }
}

/**
 * What moves between instances: a frame serialized ONCE by the publisher, plus routing.
 * Receivers write `frame` as-is to every matching local socket; they never re-serialize.
 */
/** Messages between instances that are not for sockets (e.g. "drop your cached participants"). */
export type ControlMessage =
  | { type: 'participants_changed'; conversationId: string }
  /** Some publishes of the sender failed (its Redis link was down): live frames may be missing. */
  | { type: 'check_positions' };

export interface Envelope {
  /** The encoded server frame (JSON text), as a string or as its UTF-8 bytes (what Redis delivers). */
  frame: string | Uint8Array;
  /** Deliver only to sockets of these device types; absent = every device. */
  deviceTypes?: readonly DeviceType[];
  /** Deliver only to sockets of this connection type; absent = every type. */
  connectionType?: ConnectionType;
  /** Skip this one socket (the device a message was sent from: it has the ack already). */
  excludeConnectionId?: string;
  /** Set on control envelopes (then `frame` is empty and no socket receives anything). */
  control?: ControlMessage;
  /** Id of the instance that published it (for logs and tracing; echo suppression uses the bus's own id). */
  origin: string;
}

export interface PresenceStats {
  connections: number;
  users: number;
  byDeviceType: Record<DeviceType, number>;
  byRole: Record<Role, number>;
  byInstance: Record<string, number>;
}
