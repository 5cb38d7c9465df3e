/**
 * This instance's sockets, indexed by connection id and by user id, and the one place that
 * writes broadcast bytes to them. Hot path: the envelope's frame is turned into a Buffer once
 * per envelope and the same Buffer goes to every matching socket; no await per recipient and
 * no allocation per recipient (no iterator, no options object).
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
  holdTimer?: NodeJS.Timeout | undefined;
  /** Bytes written since `bufferedAmount` was last read (see BUFFER_CHECK_BYTES). Starts at 0. */
  uncheckedBytes: number;
  /** True while this event-loop turn's frames to it are held for one write (see `#cork`). Starts false. */
  corked: boolean;
}

/** ws keeps the TCP socket here; `cork`/`uncork` on it batch writes (ws itself corks per frame). */
interface WithTcpSocket {
  _socket?: { cork(): void; uncork(): void } | null;
}

/**
 * Bytes a socket may be written between two reads of its `bufferedAmount`, the slow-consumer
 * check. Reading it on every send touched each socket's stream state once more per delivery
 * (4 % of the fan-out's CPU, docs/benchmarks.md); reading it every 64 KiB lets a socket pass
 * maxBufferedBytes by at most this much plus one frame, and a fast socket's check is a sum.
 */
export const BUFFER_CHECK_BYTES = 64 * 1024;

export interface LocalConnectionsOptions {
  /** A socket with more than this many bytes queued is closed as a slow consumer (checked every BUFFER_CHECK_BYTES written). */
  maxBufferedBytes: number;
  onSlowConsumer?: (connection: LocalConnection) => void;
}

/**
 * A user's sockets here: the connection itself while they have one (almost every user), an
 * array of two or more otherwise. Arrays are replaced, never mutated, so a delivery loop
 * running over one is not disturbed by an add or remove.
 */
type UserSockets = LocalConnection | readonly LocalConnection[];

/** ws copies its options per send; one shared object spares an allocation per socket. */
const TEXT: { binary: false } = { binary: false };

export class LocalConnections {
  readonly #byId = new Map<string, LocalConnection>();
  readonly #byUser = new Map<string, UserSockets>();
  readonly #options: LocalConnectionsOptions;
  /** Envelopes delivered in this event-loop turn; a setImmediate scheduled by the first ends the turn. */
  #envelopesThisTurn = 0;
  /** Connections corked in this turn (see `#cork`); uncorked when it ends. */
  #corked: LocalConnection[] = [];
  readonly #endTurn = (): void => {
    this.#envelopesThisTurn = 0;
    const corked = this.#corked;
    if (corked.length === 0) return;
    this.#corked = [];
    for (let i = 0; i < corked.length; i++) {
      const connection = corked[i] as LocalConnection;
      connection.corked = false;
      (connection.socket as unknown as WithTcpSocket)._socket?.uncork();
    }
  };

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

  /** Write the envelope to every matching local socket; returns how many sockets were written. */
  deliver(envelope: Envelope, targets: readonly string[] | 'all'): number {
    // Once per envelope, never per socket: every socket gets the same bytes, and whether any
    // filter applies is decided here (almost every envelope has none).
    const bytes = typeof envelope.frame === 'string' ? Buffer.from(envelope.frame) : envelope.frame;
    const filtered =
      envelope.deviceTypes !== undefined ||
      envelope.connectionType !== undefined ||
      envelope.excludeConnectionId !== undefined;
    // A turn's first envelope is written at once; from its second on, each socket is corked so
    // the rest of the turn's frames leave together (see `#cork`). A quiet server (one envelope
    // per turn) never corks.
    if (this.#envelopesThisTurn++ === 0) setImmediate(this.#endTurn);
    const cork = this.#envelopesThisTurn > 1;
    let written = 0;
    if (targets === 'all') {
      for (const connection of this.#byId.values()) {
        if (filtered && !matches(connection.info, envelope)) continue;
        if (this.#write(connection, bytes, cork)) written++;
      }
      return written;
    }
    for (let t = 0; t < targets.length; t++) {
      const sockets = this.#byUser.get(targets[t] as string);
      if (sockets === undefined) continue;
      if (!isMany(sockets)) {
        if (filtered && !matches(sockets.info, envelope)) continue;
        if (this.#write(sockets, bytes, cork)) written++;
        continue;
      }
      for (let s = 0; s < sockets.length; s++) {
        const connection = sockets[s] as LocalConnection;
        if (filtered && !matches(connection.info, envelope)) continue;
        if (this.#write(connection, bytes, cork)) written++;
      }
    }
    return written;
  }

  #write(connection: LocalConnection, bytes: Uint8Array, cork: boolean): boolean {
    const { socket } = connection;
    if (socket.readyState !== WebSocket.OPEN) return false;
    if (connection.held !== null) {
      if (connection.held.length >= MAX_HELD_FRAMES) {
        this.#closeSlowConsumer(connection);
        return false;
      }
      connection.held.push(bytes);
      return true;
    }
    connection.uncheckedBytes += bytes.length;
    if (connection.uncheckedBytes >= BUFFER_CHECK_BYTES) {
      connection.uncheckedBytes = 0;
      if (socket.bufferedAmount > this.#options.maxBufferedBytes) {
        // Keep memory bounded: a consumer this far behind is closed rather than buffered forever.
        this.#closeSlowConsumer(connection);
        return false;
      }
    }
    if (cork && !connection.corked) this.#cork(connection);
    socket.send(bytes, TEXT);
    return true;
  }

  /**
   * Hold the socket's writes until the end of this event-loop turn, so the frames it gets in a
   * busy turn (a burst of broadcasts, plus acks and pings) leave in one `writev` instead of one
   * each: the system call, not the copying, is most of a small frame's cost (docs/benchmarks.md,
   * goal 1b). A frame waits at most for the rest of the turn. Why not from the first envelope:
   * uncorking is a second pass over every socket written, pure cost in a turn with one envelope
   * (the open-loop fan-out; measured at +8 % CPU per delivery, within that benchmark's noise).
   */
  #cork(connection: LocalConnection): void {
    const tcp = (connection.socket as unknown as WithTcpSocket)._socket;
    if (!tcp) return;
    tcp.cork();
    connection.corked = true;
    this.#corked.push(connection);
  }

  #closeSlowConsumer(connection: LocalConnection): void {
    this.#options.onSlowConsumer?.(connection);
    connection.socket.close(CloseCode.slowConsumer, ErrorCodes.SLOW_CONSUMER.message);
  }
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
