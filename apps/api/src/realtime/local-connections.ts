/**
 * This instance's sockets, indexed by connection id and by user id, and the one place that
 * writes broadcast bytes to them. Hot path: the envelope's frame is turned into a Buffer once
 * per envelope and the same Buffer goes to every matching socket; no await per recipient.
 */
import { CloseCode, ErrorCodes } from '@anmei/protocol';
import { WebSocket } from 'ws';
import { MAX_HELD_FRAMES } from './held-frames.ts';
import type { ConnectionInfo, Envelope } from './types.ts';

export interface LocalConnection {
  readonly info: ConnectionInfo;
  readonly socket: WebSocket;
  /** Set false when a ping goes out, true on any pong or inbound frame. */
  alive: boolean;
  /** Non-null while a resume replays: live frames wait here (see held-frames.ts). */
  held: Uint8Array[] | null;
  /** Releases the hold of a `?resume=1` connection that never sends `resume`. */
  holdTimer?: NodeJS.Timeout;
}

export interface LocalConnectionsOptions {
  /** A socket with more than this many bytes queued is closed as a slow consumer. */
  maxBufferedBytes: number;
  onSlowConsumer?: (connection: LocalConnection) => void;
}

export class LocalConnections {
  readonly #byId = new Map<string, LocalConnection>();
  readonly #byUser = new Map<string, Set<LocalConnection>>();
  readonly #options: LocalConnectionsOptions;

  constructor(options: LocalConnectionsOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#byId.size;
  }
  get userCount(): number {
    return this.#byUser.size;
  }

  /** Returns true when this is the user's first socket on this instance (subscribe them). */
  add(connection: LocalConnection): boolean {
    this.#byId.set(connection.info.connectionId, connection);
    let set = this.#byUser.get(connection.info.userId);
    const first = set === undefined;
    if (!set) {
      set = new Set();
      this.#byUser.set(connection.info.userId, set);
    }
    set.add(connection);
    return first;
  }

  /** Returns whether it was the user's last socket here (unsubscribe them), or null if unknown. */
  remove(connectionId: string): { connection: LocalConnection; lastForUser: boolean } | null {
    const connection = this.#byId.get(connectionId);
    if (!connection) return null;
    this.#byId.delete(connectionId);
    const set = this.#byUser.get(connection.info.userId);
    set?.delete(connection);
    const lastForUser = set !== undefined && set.size === 0;
    if (lastForUser) this.#byUser.delete(connection.info.userId);
    return { connection, lastForUser };
  }

  get(connectionId: string): LocalConnection | undefined {
    return this.#byId.get(connectionId);
  }

  ofUser(userId: string): ReadonlySet<LocalConnection> {
    return this.#byUser.get(userId) ?? EMPTY;
  }

  all(): IterableIterator<LocalConnection> {
    return this.#byId.values();
  }

  /** Write the envelope to every matching local socket; returns how many sockets were written. */
  deliver(envelope: Envelope, targets: readonly string[] | 'all'): number {
    // Once per envelope, never per socket: every socket gets the same bytes.
    const bytes = typeof envelope.frame === 'string' ? Buffer.from(envelope.frame) : envelope.frame;
    let written = 0;
    if (targets === 'all') {
      for (const connection of this.#byId.values()) if (this.#write(connection, envelope, bytes)) written++;
      return written;
    }
    for (const userId of targets) {
      const set = this.#byUser.get(userId);
      if (!set) continue;
      for (const connection of set) if (this.#write(connection, envelope, bytes)) written++;
    }
    return written;
  }

  #write(connection: LocalConnection, envelope: Envelope, bytes: Uint8Array): boolean {
    const { info, socket } = connection;
    if (envelope.deviceTypes && !envelope.deviceTypes.includes(info.deviceType)) return false;
    if (envelope.connectionType && envelope.connectionType !== info.connectionType) return false;
    if (envelope.excludeConnectionId === info.connectionId) return false;
    if (socket.readyState !== WebSocket.OPEN) return false;
    if (connection.held) {
      if (connection.held.length >= MAX_HELD_FRAMES) {
        this.#options.onSlowConsumer?.(connection);
        socket.close(CloseCode.slowConsumer, ErrorCodes.SLOW_CONSUMER.message);
        return false;
      }
      connection.held.push(bytes);
      return true;
    }
    if (socket.bufferedAmount > this.#options.maxBufferedBytes) {
      // Keep memory bounded: a consumer this far behind is closed rather than buffered forever.
      this.#options.onSlowConsumer?.(connection);
      socket.close(CloseCode.slowConsumer, ErrorCodes.SLOW_CONSUMER.message);
      return false;
    }
    socket.send(bytes, { binary: false });
    return true;
  }
}

const EMPTY: ReadonlySet<LocalConnection> = new Set();
