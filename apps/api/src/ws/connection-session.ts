/**
 * One authenticated socket: the record the socket writer writes to, and its inbound side:
 * decode each frame, run it, answer with an ack, a pong or a catalogued error frame (written
 * through the socket writer, like every frame). A handler never throws to the socket.
 * Registration and cleanup are the gateway's.
 *
 * Frames of one connection run one after another (a client's two sends are stored in the
 * order it sent them), and their answers leave in that order: an error for a frame that could not
 * be decoded waits behind the frames before it, since `MALFORMED_JSON` has no `request_id` and
 * order is the client's only way to match it (issue #15). A `read` is the exception: checked in
 * its turn, then stored while the next frames run (`#detach`). At most `maxQueuedFrames` may wait;
 * more are refused with RATE_LIMITED at once (it echoes the `request_id`), so a flooding client
 * cannot grow our memory.
 *
 * Each connection may send `frameRate` frames per second with bursts of `frameBurst` (a token
 * bucket, WS_FRAME_RATE / WS_FRAME_BURST); a decoded frame over it is refused at once with
 * RATE_LIMITED and `retry_after_ms`, before it is queued. Decided here, synchronously, in the
 * order frames arrive: no counter store, no promise, no timer per frame or per connection.
 */
import {
  ClientAction,
  type ClientFrame,
  CloseCode,
  decodeClientFrame,
  type ErrorCode,
  ErrorCodes,
  encodeFrame,
  ServerAction,
  serverFrame,
} from '@anmei/protocol';
import type { RawData, WebSocket } from 'ws';
import type { BroadcastingService } from '../broadcasting/broadcasting-service.ts';
import type { ChatService } from '../chat/chat-service.ts';
import { encodeAck } from '../chat/wire.ts';
import { AppError } from '../errors.ts';
import { type LogBindings, withLogContext } from '../observability/log-context.ts';
import type { Logger } from '../observability/logger.ts';
import type { AppMetrics } from '../observability/metrics.ts';
import type { PresenceWatch } from '../presence-watch/presence-watch.ts';
import type { FrozenConnectionInfo } from '../realtime/types.ts';
import type { ResumeService, StreamHeadsAtConnect } from '../resume/resume-service.ts';
import type { LocalConnection } from './local-connections.ts';
import type { ResumeTicketHolder, ResumeTickets } from './resume-tickets.ts';
import type { SocketWriter } from './socket-writer.ts';
import { outageCodeOf } from './ws-errors.ts';

/** What every session of one gateway shares: built once, never per connection. */
export interface SessionContext {
  chat: ChatService;
  broadcasting: BroadcastingService;
  resume: ResumeService;
  /** Who this socket watches (`watch_presence`) and their online changes. */
  presenceWatch: PresenceWatch;
  /** Writes every frame a session sends (answers, replays), with the slow-consumer cap and the resume hold. */
  writer: SocketWriter;
  /** The next upgrade's ticket, renewed in `pong` answers. */
  resumeTickets: ResumeTickets;
  /** The shared logger; sessions add `{ connectionId, userId }` at each call site. */
  logger: Logger;
  /** Frames allowed to wait for their turn. */
  maxQueuedFrames: number;
  /** Invalid frames tolerated per `invalidFrameWindowMs` (ms) before closing with 4008. */
  maxInvalidFrames: number;
  invalidFrameWindowMs: number;
  /** Frames per second a connection may send, sustained (WS_FRAME_RATE). */
  frameRate: number;
  /** Frames a connection may send at once after a quiet time (WS_FRAME_BURST). */
  frameBurst: number;
  /** Closes a session from our side and unregisters it at once (the gateway's; see LocalConnection.cut). */
  cut(session: ConnectionSession, code: CloseCode, reason: string): void;
  /** Invalid frames by code, frames refused by the rate or the queue limit. */
  metrics: AppMetrics;
}

/** Defaults of the SessionContext limits. */
export const SESSION_LIMITS = { maxQueuedFrames: 64, maxInvalidFrames: 10, invalidFrameWindowMs: 10_000 } as const;

const SETTLED: Promise<void> = Promise.resolve();
const NOTHING = (): void => undefined;

/**
 * One socket's connection: what LocalConnections delivers to (info, socket, liveness, held
 * frames) and its inbound frame handling, in one object so an idle connection costs one.
 */
export class ConnectionSession implements LocalConnection, ResumeTicketHolder {
  readonly info: FrozenConnectionInfo;
  readonly socket: WebSocket;
  alive = true;
  held: Uint8Array[] | null;
  holdTimer: NodeJS.Timeout | undefined = undefined;
  uncheckedBytes = 0;
  corked = false;
  /** Registration (subscribe, presence, `connected`) while it runs; null once it has settled. */
  registering: Promise<void> | null = null;
  /** When this connection's last resume ticket was issued (ResumeTicketHolder; -1: none yet). */
  resumeTicketIssuedAt = -1;
  /**
   * The stream heads read at registration, until the first `resume` uses them (StreamHeadsAtConnect);
   * -1 when unknown or used. Two small integers, not an object kept alive by every idle socket.
   */
  registeredUserSeq = -1;
  registeredGlobalSeq = -1;
  /** Set when the socket closed: queued frames are skipped and nothing more is written. */
  #closed = false;
  readonly #ctx: SessionContext;
  /** Last frame in line; undefined when none is queued (no settled promise kept per idle socket). */
  #tail: Promise<void> | undefined = undefined;
  /** Reads still being stored after their turn (`#detach`); undefined when none. */
  #storing: Promise<void> | undefined = undefined;
  #queued = 0;
  #invalidCount = 0;
  /** ms since the epoch when the current invalid-frame window started. */
  #invalidWindowStart = 0;
  /** Set once the invalid-frame limit was passed: later frames are ignored until the 4008 close. */
  #ending = false;
  /** Frames this connection may still send now (the token bucket); refilled on use. */
  #tokens: number;
  /** ms since the epoch when `#tokens` was last refilled. */
  #tokensAt: number;
  /** This connection's ids on every log line written while one of its frames runs; built on its first frame. */
  #logBindings: LogBindings | undefined = undefined;

  constructor(info: FrozenConnectionInfo, socket: WebSocket, holdUntilResume: boolean, ctx: SessionContext) {
    this.info = info;
    this.socket = socket;
    this.held = holdUntilResume ? [] : null;
    this.#ctx = ctx;
    this.#tokens = ctx.frameBurst;
    this.#tokensAt = Date.now();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The socket closed or was cut: stop the resume hold timer, drop held frames, skip any frame still waiting. Idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.holdTimer);
    this.held = null;
  }

  cut(code: CloseCode, reason: string): void {
    this.#ctx.cut(this, code, reason);
  }

  /** Entry point for every inbound frame. Never throws. */
  receive(data: RawData, isBinary: boolean): void {
    this.alive = true;
    if (this.#ending) return;
    if (isBinary) {
      this.#invalid('BINARY_FRAME_UNSUPPORTED', ErrorCodes.BINARY_FRAME_UNSUPPORTED.message, null);
      return;
    }
    const decoded = decodeClientFrame(rawToString(data));
    if (!decoded.ok) {
      this.#invalid(decoded.code, decoded.message, decoded.requestId, decoded.issues);
      return;
    }
    const frame = decoded.frame;
    const waitMs = this.#takeToken();
    if (waitMs > 0) {
      this.#ctx.metrics.rateLimited('ws-frame-rate');
      this.#sendErrorFrame(
        'RATE_LIMITED',
        `Too many frames: at most ${this.#ctx.frameRate} per second, ${this.#ctx.frameBurst} at once (WS_FRAME_RATE, WS_FRAME_BURST); send again in ${waitMs} ms.`,
        frame.request_id ?? null,
        undefined,
        waitMs,
      );
      return;
    }
    if (this.#queued >= this.#ctx.maxQueuedFrames) {
      this.#ctx.metrics.rateLimited('ws-frame-queue');
      this.#sendError('RATE_LIMITED', 'Too many frames waiting; wait for acks before sending more.', frame);
      return;
    }
    this.#queued++;
    const tail: Promise<void> = (this.#tail ?? SETTLED)
      .then(() => withLogContext(this.#logContext(), () => this.#run(frame)))
      .finally(() => {
        this.#queued--;
        if (this.#tail === tail) this.#tail = undefined;
      });
    this.#tail = tail;
  }

  /** Resolves when every accepted frame has been handled, reads stored too (used by graceful shutdown). */
  drained(): Promise<void> {
    const tail = this.#tail ?? SETTLED;
    return this.#storing === undefined ? tail : Promise.all([tail, this.#storing]).then(NOTHING);
  }

  /**
   * A read's storing and announcing, left to run while the frames after it are handled; a
   * failure is answered when it happens (docs/protocol.md, "the frames of one connection").
   */
  #detach(work: Promise<unknown>, frame: ClientFrame): void {
    const done = work.then(NOTHING, (error: unknown) => this.#answerFailure(error, frame));
    const storing: Promise<void> = (
      this.#storing === undefined ? done : Promise.all([this.#storing, done]).then(NOTHING)
    ).finally(() => {
      if (this.#storing === storing) this.#storing = undefined;
    });
    this.#storing = storing;
  }

  #logContext(): LogBindings {
    this.#logBindings ??= Object.freeze({ connectionId: this.info.connectionId, userId: this.info.userId });
    return this.#logBindings;
  }

  /** `fields` plus this connection's ids, for the shared logger. */
  bindings(fields: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...fields, connectionId: this.info.connectionId, userId: this.info.userId };
  }

  async #run(frame: ClientFrame): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#dispatch(frame);
    } catch (error) {
      this.#answerFailure(error, frame);
    }
  }

  #answerFailure(error: unknown, frame: ClientFrame): void {
    if (error instanceof AppError) {
      this.#sendError(error.code, error.message, frame, error.issues);
      return;
    }
    const outage = outageCodeOf(error);
    if (outage !== null) {
      this.#ctx.logger.warn(
        this.bindings({ err: error, action: frame.action }),
        `${outage === 'DATABASE_UNAVAILABLE' ? 'database' : 'redis'} unavailable: answered ${outage}`,
      );
      this.#sendError(outage, ErrorCodes[outage].message, frame);
      return;
    }
    this.#ctx.logger.error(this.bindings({ err: error, action: frame.action }), 'frame handler failed');
    this.#sendError('INTERNAL', ErrorCodes.INTERNAL.message, frame);
  }

  /**
   * `step` after every frame already in line (at once when none is): the answer to a frame that
   * could not be decoded. Only invalid frames come here, so a valid frame costs no extra allocation;
   * they are bounded by the invalid-frame limit, not by `maxQueuedFrames`.
   */
  #afterQueued(step: () => void): void {
    if (this.#tail === undefined) {
      step();
      return;
    }
    const tail: Promise<void> = this.#tail.then(step).finally(() => {
      if (this.#tail === tail) this.#tail = undefined;
    });
    this.#tail = tail;
  }

  async #dispatch(frame: ClientFrame): Promise<void> {
    const { info } = this;
    const user = { userId: info.userId, role: info.role };
    switch (frame.action) {
      case ClientAction.sendMessage: {
        const { message, duplicate } = await this.#ctx.chat.send(user, {
          conversationId: frame.data.conversation_id,
          clientMessageId: frame.data.client_message_id,
          content: frame.data.content,
          sentFromConnectionId: info.connectionId,
        });
        this.#send(encodeAck(frame.request_id ?? null, message, frame.data.client_message_id, duplicate));
        return;
      }
      case ClientAction.typing:
        await this.#ctx.chat.typing(user, frame.data.conversation_id, frame.data.is_typing);
        return;
      case ClientAction.read: {
        // Checked in turn; stored and announced while the frames after it go on (docs/protocol.md).
        const { stored } = await this.#ctx.chat.beginRead(user, frame.data.conversation_id, frame.data.message_ids);
        this.#detach(stored, frame);
        return;
      }
      case ClientAction.resume: {
        // Live frames wait while the gap is replayed, then follow it minus what it already carried.
        const { writer } = this.#ctx;
        writer.hold(this);
        let replayedUpTo = new Map<string, number>();
        try {
          const registeredHeads: StreamHeadsAtConnect | null =
            this.registeredUserSeq < 0
              ? null
              : { userSeq: this.registeredUserSeq, globalSeq: this.registeredGlobalSeq };
          this.registeredUserSeq = this.registeredGlobalSeq = -1;
          const outcome = await this.#ctx.resume.replay(
            this.info,
            frame.data,
            (replayed) => writer.writeDirect(this, replayed),
            registeredHeads,
          );
          replayedUpTo = outcome.replayedUpTo;
          this.#send(
            encodeFrame(
              serverFrame(ServerAction.resumed, {
                request_id: frame.request_id ?? null,
                conversations: outcome.conversations,
                ...(outcome.user ? { user: outcome.user } : {}),
                ...(outcome.global ? { global: outcome.global } : {}),
              }),
            ),
          );
        } finally {
          const skipped = writer.release(this, replayedUpTo);
          if (skipped > 0) this.#ctx.logger.debug(this.bindings({ skipped }), 'dropped live frames already replayed');
        }
        return;
      }
      case ClientAction.watchPresence:
        await this.#ctx.presenceWatch.watch(this, frame.data.user_ids, frame.request_id ?? null);
        return;
      case ClientAction.ping:
        this.#send(
          encodeFrame(
            serverFrame(ServerAction.pong, {
              ...(frame.data?.ts !== undefined ? { ts: frame.data.ts } : {}),
              server_time: new Date().toISOString(),
              ...this.#ctx.resumeTickets.renewal(this),
            }),
          ),
        );
        return;
    }
  }

  #invalid(code: ErrorCode, message: string, requestId: string | null, issues?: string[]): void {
    const now = Date.now();
    if (now - this.#invalidWindowStart > this.#ctx.invalidFrameWindowMs) {
      this.#invalidWindowStart = now;
      this.#invalidCount = 0;
    }
    this.#invalidCount++;
    this.#ctx.metrics.invalidFrame(code);
    this.#ctx.logger.debug(this.bindings({ code }), 'invalid frame');
    const last = this.#invalidCount > this.#ctx.maxInvalidFrames;
    if (last) this.#ending = true;
    this.#afterQueued(() => {
      if (this.#closed) return;
      this.#sendErrorFrame(code, message, requestId, issues);
      if (!last) return;
      this.#ctx.logger.warn(this.bindings(), 'closing connection after too many invalid frames');
      this.cut(CloseCode.tooManyInvalidFrames, 'too many invalid frames');
    });
  }

  /** Takes one frame's token: 0 when there was one, else the ms until there will be. */
  #takeToken(): number {
    const { frameRate, frameBurst } = this.#ctx;
    const now = Date.now();
    // A clock stepped back refills nothing rather than draining the bucket.
    this.#tokens = Math.min(frameBurst, this.#tokens + (Math.max(0, now - this.#tokensAt) * frameRate) / 1000);
    this.#tokensAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.#tokens) * 1000) / frameRate));
  }

  #sendError(code: ErrorCode, message: string, frame: ClientFrame, issues?: string[]): void {
    this.#sendErrorFrame(code, message, frame.request_id ?? null, issues);
  }

  #sendErrorFrame(
    code: ErrorCode,
    message: string,
    requestId: string | null,
    issues?: string[],
    retryAfterMs?: number,
  ): void {
    this.#send(
      encodeFrame(
        serverFrame(ServerAction.error, {
          code,
          message,
          request_id: requestId,
          ...(issues && issues.length > 0 ? { issues } : {}),
          ...(retryAfterMs === undefined ? {} : { retry_after_ms: retryAfterMs }),
        }),
      ),
    );
  }

  #send(text: string): void {
    this.#ctx.writer.writeDirect(this, text);
  }
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
