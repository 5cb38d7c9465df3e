/**
 * One authenticated socket's inbound side: decode each frame, run it, answer with an ack,
 * a pong or a catalogued error frame. A handler never throws to the socket.
 *
 * Frames of one connection run one after another (a client's two sends are stored in the
 * order it sent them); at most `maxQueuedFrames` may wait, more are refused with
 * RATE_LIMITED so a flooding client cannot grow our memory.
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
import type { RawData } from 'ws';
import type { BroadcastingService } from '../broadcasting/broadcasting-service.ts';
import type { ChatService } from '../chat/chat-service.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { hold, release } from './held-frames.ts';
import type { LocalConnection } from './local-connections.ts';
import type { ResumeService } from './resume-service.ts';

export interface SessionOptions {
  chat: ChatService;
  broadcasting: BroadcastingService;
  resume: ResumeService;
  logger: Logger;
  /** Frames allowed to wait for their turn (default 64). */
  maxQueuedFrames?: number;
  /** Invalid frames tolerated per `invalidFrameWindowMs` before closing with 4008 (default 10 per 10 000 ms). */
  maxInvalidFrames?: number;
  invalidFrameWindowMs?: number;
}

export class ConnectionSession {
  readonly #connection: LocalConnection;
  readonly #opts: Required<SessionOptions>;
  readonly #signal: AbortSignal;
  #tail: Promise<void> = Promise.resolve();
  #queued = 0;
  #invalidCount = 0;
  #invalidWindowStart = 0;

  constructor(connection: LocalConnection, signal: AbortSignal, options: SessionOptions) {
    this.#connection = connection;
    this.#signal = signal;
    this.#opts = { maxQueuedFrames: 64, maxInvalidFrames: 10, invalidFrameWindowMs: 10_000, ...options };
  }

  /** Entry point for every inbound frame. Never throws. */
  receive(data: RawData, isBinary: boolean): void {
    this.#connection.alive = true;
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
    if (this.#queued >= this.#opts.maxQueuedFrames) {
      this.#sendError('RATE_LIMITED', 'Too many frames waiting; wait for acks before sending more.', frame);
      return;
    }
    this.#queued++;
    this.#tail = this.#tail.then(() => this.#run(frame)).finally(() => this.#queued--);
  }

  /** Resolves when every accepted frame has been handled (used by graceful shutdown). */
  drained(): Promise<void> {
    return this.#tail;
  }

  async #run(frame: ClientFrame): Promise<void> {
    if (this.#signal.aborted) return;
    try {
      await this.#dispatch(frame);
    } catch (error) {
      if (error instanceof AppError) {
        this.#sendError(error.code, error.message, frame, error.issues);
        return;
      }
      this.#opts.logger.error({ err: error, action: frame.action }, 'frame handler failed');
      this.#sendError('INTERNAL', ErrorCodes.INTERNAL.message, frame);
    }
  }

  async #dispatch(frame: ClientFrame): Promise<void> {
    const { info } = this.#connection;
    const user = { userId: info.userId, role: info.role };
    switch (frame.action) {
      case ClientAction.sendMessage: {
        const { message, duplicate } = await this.#opts.chat.send(
          user,
          {
            conversationId: frame.data.conversation_id,
            clientMessageId: frame.data.client_message_id,
            content: frame.data.content,
            sentFromConnectionId: info.connectionId,
          },
          this.#opts.broadcasting,
        );
        this.#send(
          encodeFrame(
            serverFrame(ServerAction.ack, {
              request_id: frame.request_id ?? null,
              message_id: message.id,
              conversation_id: message.conversationId,
              seq: message.seq,
              client_message_id: frame.data.client_message_id,
              duplicate,
              created_at: message.createdAt.toISOString(),
            }),
          ),
        );
        return;
      }
      case ClientAction.typing:
        await this.#opts.chat.typing(user, frame.data.conversation_id, frame.data.is_typing, this.#opts.broadcasting);
        return;
      case ClientAction.read:
        await this.#opts.chat.markRead(
          user,
          frame.data.conversation_id,
          frame.data.message_ids,
          this.#opts.broadcasting,
        );
        return;
      case ClientAction.resume: {
        // Live frames wait while the gap is replayed, then follow it minus what it already carried.
        hold(this.#connection);
        let replayedUpTo = new Map<string, number>();
        try {
          const outcome = await this.#opts.resume.replay(this.#connection, frame.data);
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
          const skipped = release(this.#connection, replayedUpTo);
          if (skipped > 0) this.#opts.logger.debug({ skipped }, 'dropped live frames already replayed');
        }
        return;
      }
      case ClientAction.ping:
        this.#send(
          encodeFrame(
            serverFrame(ServerAction.pong, {
              ...(frame.data?.ts !== undefined ? { ts: frame.data.ts } : {}),
              server_time: new Date().toISOString(),
            }),
          ),
        );
        return;
    }
  }

  #invalid(code: ErrorCode, message: string, requestId: string | null, issues?: string[]): void {
    const now = Date.now();
    if (now - this.#invalidWindowStart > this.#opts.invalidFrameWindowMs) {
      this.#invalidWindowStart = now;
      this.#invalidCount = 0;
    }
    this.#invalidCount++;
    this.#opts.logger.debug({ code, connectionId: this.#connection.info.connectionId }, 'invalid frame');
    this.#sendErrorFrame(code, message, requestId, issues);
    if (this.#invalidCount > this.#opts.maxInvalidFrames) {
      this.#opts.logger.warn(
        { connectionId: this.#connection.info.connectionId, userId: this.#connection.info.userId },
        'closing connection after too many invalid frames',
      );
      this.#connection.socket.close(CloseCode.tooManyInvalidFrames, 'too many invalid frames');
    }
  }

  #sendError(code: ErrorCode, message: string, frame: ClientFrame, issues?: string[]): void {
    this.#sendErrorFrame(code, message, frame.request_id ?? null, issues);
  }

  #sendErrorFrame(code: ErrorCode, message: string, requestId: string | null, issues?: string[]): void {
    this.#send(
      encodeFrame(
        serverFrame(ServerAction.error, {
          code,
          message,
          request_id: requestId,
          ...(issues && issues.length > 0 ? { issues } : {}),
        }),
      ),
    );
  }

  #send(text: string): void {
    if (this.#signal.aborted) return;
    this.#connection.socket.send(text);
  }
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
