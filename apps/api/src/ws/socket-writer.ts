/**
 * The one place that writes frames to this instance's sockets: broadcast frames (through
 * LocalConnections) and frames for one socket alone (acks, errors, pongs, `connected`, a resume's
 * replayed frames and `resumed`, the drain's `reconnect`). Every write passes the same rules:
 * - a socket with more than `maxBufferedBytes` queued is cut with 4009 (SLOW_CONSUMER) and gets
 *   nothing more, so a reader that stopped reading cannot grow our memory (its owner unregisters
 *   it at once and ends its TCP connection after CLOSE_GRACE_MS: see `OutboundSocket.cut`);
 * - while a connection resumes, broadcast frames are held, then released after the replay minus
 *   those the replay already carried (held-frames.ts);
 * - in a busy event-loop turn each socket's frames leave in one write (corking, see `#cork`).
 */
import { CloseCode, ErrorCodes } from '@anmei/protocol';
import { WebSocket } from 'ws';
import type { ConnectionInfo } from '../realtime/types.ts';
import { MAX_HELD_FRAMES, wasReplayed } from '../resume/held-frames.ts';
import { type PreparedFrame, writePrepared } from './prepared-frame.ts';

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
  /**
   * Close the socket from our side because of the peer (slow consumer, invalid frames, missed
   * heartbeat). The implementation must send the close frame, unregister the connection at once
   * (presence, bus route, local index: a peer that stopped reading may never answer the close,
   * and until it did it would count as online), and end the TCP connection after CLOSE_GRACE_MS
   * if the peer has not answered by then. Idempotent.
   */
  cut(code: CloseCode, reason: string): void;
}

/**
 * ms a peer we cut has to answer our close frame before its TCP connection is destroyed (which
 * frees its send queue). ws's own wait is 30 s (its `closeTimeout`); issue #15.
 */
export const CLOSE_GRACE_MS = 1_000;

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

/** A no-op once the socket has closed, so the timer of a peer that answered in time does no harm. */
function terminate(socket: WebSocket): void {
  socket.terminate();
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
   * One recipient's copy of a broadcast frame (`frame` is shared by every recipient): held while
   * the connection resumes, else written as prepared (prepared-frame.ts). Returns whether it was
   * written or held. Hot path: no allocation, and `bufferedAmount` is read only every BUFFER_CHECK_BYTES.
   */
  writeBroadcast(connection: OutboundSocket, frame: PreparedFrame, cork: boolean): boolean {
    const { socket } = connection;
    if (socket.readyState !== WebSocket.OPEN) return false;
    if (connection.held !== null) {
      if (connection.held.length >= MAX_HELD_FRAMES) {
        this.#closeSlowConsumer(connection);
        return false;
      }
      connection.held.push(frame.payload);
      return true;
    }
    connection.uncheckedBytes += frame.wire.length;
    if (connection.uncheckedBytes >= BUFFER_CHECK_BYTES) {
      connection.uncheckedBytes = 0;
      if (socket.bufferedAmount > this.#options.maxBufferedBytes) {
        this.#closeSlowConsumer(connection);
        return false;
      }
    }
    if (cork && !connection.corked) this.#cork(connection);
    writePrepared(socket, frame);
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

  /** The socket side of a cut (OutboundSocket.cut): the close frame, which a peer that still reads gets, then `endAfterGrace`. */
  close(connection: OutboundSocket, code: CloseCode, reason: string): void {
    // ws sends nothing when the socket is already closing or closed.
    connection.socket.close(code, reason);
    this.endAfterGrace(connection);
  }

  /** Destroy the TCP connection CLOSE_GRACE_MS from now unless the close handshake ended by then. */
  endAfterGrace(connection: OutboundSocket): void {
    if (connection.socket.readyState === WebSocket.CLOSED) return;
    setTimeout(terminate, CLOSE_GRACE_MS, connection.socket).unref();
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
    connection.cut(CloseCode.slowConsumer, ErrorCodes.SLOW_CONSUMER.message);
  }
}
