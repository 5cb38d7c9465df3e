/**
 * The one place that writes frames to this instance's sockets: broadcast frames (through
 * LocalConnections) and frames for one socket alone (acks, errors, pongs, `connected`, a resume's
 * replayed frames and `resumed`, the drain's `reconnect`). Every write passes the same rules:
 * - a socket with more than `maxBufferedBytes` queued is closed with 4009 (SLOW_CONSUMER) and
 *   gets nothing more, so a reader that stopped reading cannot grow our memory;
 * - while a connection resumes, broadcast frames are held, then released after the replay minus
 *   those the replay already carried (held-frames.ts);
 * - in a busy event-loop turn each socket's frames leave in one write (corking, see `#cork`).
 */
import { CloseCode, ErrorCodes } from '@anmei/protocol';
import { WebSocket } from 'ws';
import type { ConnectionInfo } from '../realtime/types.ts';
import { MAX_HELD_FRAMES, wasReplayed } from '../resume/held-frames.ts';

/** What the writer keeps per socket. The fields live on the connection object, so an idle connection costs one object. */
export interface OutboundSocket {
  readonly info: ConnectionInfo;
  readonly socket: WebSocket;
  /** Non-null while a resume replays: broadcast frames wait here (see `hold`). */
  held: Uint8Array[] | null;
  /** Releases the hold of a `?resume=1` connection that never sends `resume`. */
  holdTimer?: NodeJS.Timeout | undefined;
  /** Broadcast bytes written since `bufferedAmount` was last read (see BUFFER_CHECK_BYTES). Starts at 0. */
  uncheckedBytes: number;
  /** True while this event-loop turn's frames to it are held for one write (see `#cork`). Starts false. */
  corked: boolean;
}

/** ws keeps the TCP socket here; `cork`/`uncork` on it batch writes (ws itself corks per frame). */
interface WithTcpSocket {
  _socket?: { cork(): void; uncork(): void } | null;
}

/**
 * Broadcast bytes a socket may be written between two reads of its `bufferedAmount`, the
 * slow-consumer check. Reading it on every send touched each socket's stream state once more per
 * delivery (4 % of the fan-out's CPU, docs/benchmarks.md); reading it every 64 KiB lets a socket
 * pass maxBufferedBytes by at most this much plus one frame, and a fast socket's check is a sum.
 */
export const BUFFER_CHECK_BYTES = 64 * 1024;

export interface SocketWriterOptions {
  /** A socket with more than this many bytes queued is closed as a slow consumer (WS_MAX_BUFFERED_BYTES). */
  maxBufferedBytes: number;
  onSlowConsumer?: (connection: OutboundSocket) => void;
}

/** ws copies its options per send; one shared object spares an allocation per socket. */
const TEXT: { binary: false } = { binary: false };

export class SocketWriter {
  readonly #options: SocketWriterOptions;
  /** Envelopes delivered in this event-loop turn; a setImmediate scheduled by the first ends the turn. */
  #envelopesThisTurn = 0;
  /** Connections corked in this turn (see `#cork`); uncorked when it ends. */
  #corked: OutboundSocket[] = [];
  readonly #endTurn = (): void => {
    this.#envelopesThisTurn = 0;
    const corked = this.#corked;
    if (corked.length === 0) return;
    this.#corked = [];
    for (let i = 0; i < corked.length; i++) {
      const connection = corked[i] as OutboundSocket;
      connection.corked = false;
      (connection.socket as unknown as WithTcpSocket)._socket?.uncork();
    }
  };

  constructor(options: SocketWriterOptions) {
    this.#options = options;
  }

  /**
   * Call once per broadcast envelope, before writing it; returns whether its writes cork. A
   * turn's first envelope is written at once; from its second on, each socket is corked so the
   * rest of the turn's frames leave together. A quiet server (one envelope per turn) never corks.
   */
  startEnvelope(): boolean {
    if (this.#envelopesThisTurn++ === 0) setImmediate(this.#endTurn);
    return this.#envelopesThisTurn > 1;
  }

  /**
   * One recipient's copy of a broadcast frame (`bytes` are shared by every recipient): held while
   * the connection resumes, else written. Returns whether it was written or held. Hot path: no
   * allocation, and `bufferedAmount` is read only every BUFFER_CHECK_BYTES.
   */
  writeBroadcast(connection: OutboundSocket, bytes: Uint8Array, cork: boolean): boolean {
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
        this.#closeSlowConsumer(connection);
        return false;
      }
    }
    if (cork && !connection.corked) this.#cork(connection);
    socket.send(bytes, TEXT);
    return true;
  }

  /**
   * A frame for this socket alone, never held: the answers to its frames, its `connected`, its
   * replay and `resumed` (which must precede the held frames), the drain's `reconnect`. Returns
   * whether it was written. `bufferedAmount` is read before each one: that costs one read per
   * client request or replayed frame, not per broadcast recipient.
   */
  writeDirect(connection: OutboundSocket, frame: string | Uint8Array): boolean {
    const { socket } = connection;
    if (socket.readyState !== WebSocket.OPEN) return false;
    if (socket.bufferedAmount > this.#options.maxBufferedBytes) {
      this.#closeSlowConsumer(connection);
      return false;
    }
    socket.send(frame, TEXT);
    return true;
  }

  /** From now on the connection's broadcast frames wait (a resume is replaying). Cancels the `?resume=1` hold timer. */
  hold(connection: OutboundSocket): void {
    clearTimeout(connection.holdTimer);
    connection.holdTimer = undefined;
    connection.held ??= [];
  }

  /**
   * Write the held frames in arrival order, skipping those at or below what the replay carried
   * for their stream (`replayedUpTo`: stream key → position); then broadcast frames are written
   * live again. Returns how many were skipped.
   */
  release(connection: OutboundSocket, replayedUpTo: ReadonlyMap<string, number>): number {
    const held = connection.held;
    connection.held = null;
    if (held === null) return 0;
    let skipped = 0;
    for (let i = 0; i < held.length; i++) {
      const bytes = held[i] as Uint8Array;
      if (wasReplayed(bytes, replayedUpTo)) {
        skipped++;
        continue;
      }
      this.writeDirect(connection, bytes);
    }
    return skipped;
  }

  /**
   * Hold the socket's writes until the end of this event-loop turn, so the frames it gets in a
   * busy turn (a burst of broadcasts, plus acks and pings) leave in one `writev` instead of one
   * each: the system call, not the copying, is most of a small frame's cost (docs/benchmarks.md,
   * goal 1b). A frame waits at most for the rest of the turn. Why not from the first envelope:
   * uncorking is a second pass over every socket written, pure cost in a turn with one envelope
   * (the open-loop fan-out; measured at +8 % CPU per delivery, within that benchmark's noise).
   */
  #cork(connection: OutboundSocket): void {
    const tcp = (connection.socket as unknown as WithTcpSocket)._socket;
    if (!tcp) return;
    tcp.cork();
    connection.corked = true;
    this.#corked.push(connection);
  }

  #closeSlowConsumer(connection: OutboundSocket): void {
    this.#options.onSlowConsumer?.(connection);
    connection.socket.close(CloseCode.slowConsumer, ErrorCodes.SLOW_CONSUMER.message);
  }
}
