/** Types shared by the realtime seams (Bus, Presence, local connections). */
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
 * What moves between instances: a frame serialized ONCE by the publisher, plus routing.
 * Receivers write `frame` as-is to every matching local socket; they never re-serialize.
 */
/** Messages between instances that are not for sockets (e.g. "drop your cached participants"). */
export type ControlMessage = { type: 'participants_changed'; conversationId: string };

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
