/**
 * Messages waiting for the server's ack (seed: core/messageQueue.ts). Every `send()` goes
 * through here, open or not: while not open a message waits; once open, up to `maxInFlight`
 * are written and the rest follow as acks arrive (the server queues at most 64 frames per
 * connection). A message keeps its client message id for life, so the resend after a
 * reconnect of a message whose ack was lost is answered with `duplicate: true` and stored once.
 */
import type { ErrorCode, ServerDataOf } from '@anmei/protocol';
import { utf8Bytes } from './codec.ts';
import type { OutgoingMessage } from './message-adapter.ts';
import type { StoredMessage } from './outbox-storage.ts';
import { SendError } from './send-error.ts';
import type { Clock, TimerHandle, Timers } from './timers.ts';

export type OverflowPolicy = 'reject-new' | 'drop-oldest';

export interface OutboxOptions {
  /** Most messages held (waiting + in flight). Default 100. */
  maxMessages: number;
  /** Most bytes held, counted as UTF-8 content bytes. Default 1 MiB (1048576). */
  maxBytes: number;
  /** How long send() waits for an ack before rejecting with EXPIRED, ms. Default 300000 (5 min). */
  ttlMs: number;
  /** What to do when full: refuse the new message (default) or evict the oldest waiting one. */
  overflow: OverflowPolicy;
  /** Messages written but not yet acked, at most. Default 32 (the server queues 64 frames). */
  maxInFlight: number;
}

/** A message in the outbox: what the storage keeps, and whether it came from there. */
export interface QueuedMessage extends StoredMessage {
  /** Loaded from a storage (sent before a reload, or by another tab) rather than by this send(). */
  restored: boolean;
}

/**
 * Told about every message that enters and leaves (the storage and the client's events listen).
 * Called synchronously; an observer must not call back into the outbox.
 */
export interface OutboxObserver {
  /** send() accepted a message (not called for restored ones: the storage has them already). */
  added(message: QueuedMessage): void;
  /**
   * A message's send ended: acked (`error` null) or failed for good. Exactly once for every
   * message added or offered to restore(), including restored ones refused at once.
   */
  settled(message: QueuedMessage, error: SendError | null): void;
}

interface Entry {
  message: QueuedMessage;
  bytes: number;
  resolve(ack: ServerDataOf<'ack'>): void;
  reject(error: SendError): void;
  expiry: TimerHandle | undefined;
  requestId: string | null;
  /** The server's last transient answer to this message (it is being retried), for EXPIRED's text. */
  lastAnswer: TransientAnswer | undefined;
}

/**
 * Server answers that say "not now" rather than "never": the message is written again (same
 * client message id, so it is stored at most once) after a delay, until its TTL.
 * RATE_LIMITED: the connection sent frames faster than the server's rate (the answer carries
 * `retry_after_ms`, the least wait), or its frame queue was full. DATABASE_UNAVAILABLE and
 * SERVICE_UNAVAILABLE: the server's database (or Redis) did not answer in time, and INTERNAL: the
 * server failed; in these the message may or may not have been stored.
 */
type TransientAnswer = Extract<ErrorCode, 'RATE_LIMITED' | 'DATABASE_UNAVAILABLE' | 'SERVICE_UNAVAILABLE' | 'INTERNAL'>;
const TRANSIENT: ReadonlySet<ErrorCode> = new Set<TransientAnswer>([
  'RATE_LIMITED',
  'DATABASE_UNAVAILABLE',
  'SERVICE_UNAVAILABLE',
  'INTERNAL',
]);
function isTransient(code: ErrorCode): code is TransientAnswer {
  return TRANSIENT.has(code);
}

/**
 * Writes one message on the open socket: true when written, false when the socket cannot take
 * it now (it stays queued), or a SendError when it can never be sent (e.g. over the server's
 * max payload), which rejects that message.
 */
export type OutboxWriter = (message: OutgoingMessage, requestId: string) => boolean | SendError;

export class Outbox {
  readonly #o: OutboxOptions;
  readonly #timers: Timers;
  readonly #clock: Clock;
  /** Insertion order = send order; in-flight entries stay in place until acked. */
  readonly #entries = new Map<string, Entry>();
  readonly #byRequestId = new Map<string, Entry>();
  #bytes = 0;
  #writer: OutboxWriter | null = null;
  #requestCounter = 0;
  #retryTimer: TimerHandle | undefined;
  /** When (clock ms) the scheduled retry round runs. */
  #retryAt = 0;
  /**
   * Nothing is written before this time (clock ms): the server answered RATE_LIMITED with
   * `retry_after_ms`, so writing earlier, even after an ack, would only be refused again.
   */
  #pausedUntil = 0;
  /** Retry rounds since the last ack: the delay doubles with each (see #scheduleRetry). */
  #transientStreak = 0;
  /** hold() calls not yet released: nothing is written meanwhile. */
  #holds = 0;
  readonly #observer: OutboxObserver | undefined;

  constructor(options: OutboxOptions, deps: { timers: Timers; clock: Clock; observer?: OutboxObserver }) {
    this.#o = options;
    this.#timers = deps.timers;
    this.#clock = deps.clock;
    this.#observer = deps.observer;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get inFlight(): number {
    return this.#byRequestId.size;
  }

  /** Messages waiting or in flight, in send order. */
  pending(): QueuedMessage[] {
    return [...this.#entries.values()].map((entry) => entry.message);
  }

  /**
   * Resolves with the server's ack; rejects with a SendError. `createdAt` (epoch ms, default now)
   * starts its TTL.
   */
  enqueue(
    message: OutgoingMessage,
    ttlMs = this.#o.ttlMs,
    createdAt = this.#clock.now(),
  ): Promise<ServerDataOf<'ack'>> {
    const id = message.clientMessageId;
    const bytes = utf8Bytes(message.content);
    if (this.#entries.has(id)) {
      return Promise.reject(new SendError('INVALID', `clientMessageId "${id}" is already waiting in the outbox.`, id));
    }
    if (bytes > this.#o.maxBytes) {
      return Promise.reject(
        new SendError('TOO_LARGE', `Message of ${bytes} bytes exceeds outbox.maxBytes=${this.#o.maxBytes}.`, id),
      );
    }
    while (this.#full(bytes)) {
      const oldest = this.#o.overflow === 'drop-oldest' ? this.#oldestWaiting() : undefined;
      if (!oldest) {
        const limits = `outbox.maxMessages=${this.#o.maxMessages}, outbox.maxBytes=${this.#o.maxBytes}`;
        return Promise.reject(
          new SendError('OUTBOX_FULL', `The outbox is full (${limits}); wait for acks or raise the limits.`, id),
        );
      }
      this.#settle(
        oldest,
        new SendError(
          'DROPPED',
          'Evicted by a newer message (outbox.overflow=drop-oldest).',
          oldest.message.clientMessageId,
        ),
      );
    }
    const queued: QueuedMessage = {
      conversationId: message.conversationId,
      clientMessageId: id,
      content: message.content,
      createdAt,
      expiresAt: createdAt + ttlMs,
      restored: false,
    };
    return new Promise((resolve, reject) => {
      const entry = this.#entry(queued, bytes, resolve, reject);
      this.#entries.set(id, entry);
      this.#bytes += bytes;
      this.#observer?.added(queued);
      this.#flush();
    });
  }

  /**
   * Messages loaded from a storage (sent before a reload, or by another tab of the same user).
   * They go before every message already here, in the given order, keep their `createdAt` and
   * expire at their `expiresAt`. One whose time is up is rejected with EXPIRED; one beyond the
   * bounds with OUTBOX_FULL (restoring never evicts); an id already here is skipped (null).
   */
  restore(
    messages: readonly StoredMessage[],
  ): ({ message: QueuedMessage; ack: Promise<ServerDataOf<'ack'>> } | null)[] {
    const later = [...this.#entries.values()];
    this.#entries.clear();
    const expired: Entry[] = [];
    const now = this.#clock.now();
    const out = messages.map((stored) => {
      const id = stored.clientMessageId;
      if (this.#entries.has(id) || later.some((entry) => entry.message.clientMessageId === id)) return null;
      const { conversationId, content, createdAt, expiresAt } = stored;
      const message: QueuedMessage = {
        conversationId,
        clientMessageId: id,
        content,
        createdAt,
        expiresAt,
        restored: true,
      };
      const bytes = utf8Bytes(message.content);
      if (this.#full(bytes, later)) {
        const limits = `outbox.maxMessages=${this.#o.maxMessages}, outbox.maxBytes=${this.#o.maxBytes}`;
        const error = new SendError('OUTBOX_FULL', `No room for a restored message (${limits}).`, id);
        this.#observer?.settled(message, error);
        return { message, ack: Promise.reject(error) };
      }
      const ack = new Promise<ServerDataOf<'ack'>>((resolve, reject) => {
        const entry = this.#entry(message, bytes, resolve, reject);
        this.#entries.set(id, entry);
        this.#bytes += bytes;
        if (message.expiresAt <= now) expired.push(entry);
      });
      return { message, ack };
    });
    for (const entry of later) this.#entries.set(entry.message.clientMessageId, entry);
    for (const entry of expired) this.#expire(entry);
    this.#flush();
    return out;
  }

  /** Write nothing until release() (the storage is being loaded: restored messages go first). */
  hold(): void {
    this.#holds++;
  }

  release(): void {
    if (this.#holds === 0) return;
    this.#holds--;
    this.#flush();
  }

  #entry(
    message: QueuedMessage,
    bytes: number,
    resolve: (ack: ServerDataOf<'ack'>) => void,
    reject: (error: SendError) => void,
  ): Entry {
    const entry: Entry = { message, bytes, resolve, reject, requestId: null, expiry: undefined, lastAnswer: undefined };
    const wait = Math.max(0, message.expiresAt - this.#clock.now());
    entry.expiry = this.#timers.setTimeout(() => this.#expire(entry), wait);
    return entry;
  }

  #expire(entry: Entry): void {
    const { message } = entry;
    const expiredAt = new Date(this.#clock.now()).toISOString();
    const last = entry.lastAnswer ? `; the server last answered ${entry.lastAnswer}` : '';
    const ttlMs = message.expiresAt - message.createdAt;
    this.#settle(
      entry,
      new SendError(
        'EXPIRED',
        `No ack within ${ttlMs} ms (expired ${expiredAt})${last}.`,
        message.clientMessageId,
        entry.lastAnswer,
      ),
    );
  }

  /** The connection is open: start writing through `writer`. */
  attach(writer: OutboxWriter): void {
    this.#writer = writer;
    this.#flush();
  }

  /** The connection is gone: everything in flight waits again, to be resent with the same id. */
  detach(): void {
    this.#writer = null;
    for (const entry of this.#byRequestId.values()) entry.requestId = null;
    this.#byRequestId.clear();
    this.#clearRetry();
  }

  /** Settles the message of an ack (matched by client message id); false if it is not ours. */
  acknowledge(ack: ServerDataOf<'ack'>): boolean {
    const entry = this.#entries.get(ack.client_message_id);
    if (!entry) return false;
    this.#transientStreak = 0;
    this.#settle(entry, null, ack);
    this.#flush();
    return true;
  }

  /**
   * Handles an `error` frame answering one of our writes; false if the request id is not ours.
   * `retryAfterMs`: the frame's `retry_after_ms` (RATE_LIMITED), the least wait before writing again.
   */
  fail(requestId: string, code: ErrorCode, message: string, retryAfterMs?: number): boolean {
    const entry = this.#byRequestId.get(requestId);
    if (!entry) return false;
    if (isTransient(code)) {
      this.#byRequestId.delete(requestId);
      entry.requestId = null;
      entry.lastAnswer = code;
      if (code === 'RATE_LIMITED' && retryAfterMs !== undefined && retryAfterMs >= 0) {
        this.#pausedUntil = Math.max(this.#pausedUntil, this.#clock.now() + retryAfterMs);
      }
      this.#scheduleRetry();
      return true;
    }
    this.#settle(entry, new SendError('SERVER_REJECTED', message, entry.message.clientMessageId, code));
    this.#flush();
    return true;
  }

  /** Rejects everything (dispose, or the outbox changing owner). */
  clear(error: (clientMessageId: string) => SendError): void {
    for (const entry of [...this.#entries.values()]) this.#settle(entry, error(entry.message.clientMessageId));
    this.#clearRetry();
  }

  /** `besides`: entries held aside (restore() rebuilds the order) that still count. */
  #full(incomingBytes: number, besides: readonly Entry[] = []): boolean {
    const size = this.#entries.size + besides.length;
    const bytes = this.#bytes;
    return size + 1 > this.#o.maxMessages || bytes + incomingBytes > this.#o.maxBytes;
  }

  #oldestWaiting(): Entry | undefined {
    for (const entry of this.#entries.values()) if (entry.requestId === null) return entry;
    return undefined;
  }

  #flush(): void {
    if (!this.#writer || this.#holds > 0 || this.#clock.now() < this.#pausedUntil) return;
    for (const entry of this.#entries.values()) {
      if (this.#byRequestId.size >= this.#o.maxInFlight) return;
      if (entry.requestId !== null) continue;
      const requestId = `r${++this.#requestCounter}`;
      entry.requestId = requestId;
      this.#byRequestId.set(requestId, entry);
      const written = this.#writer(entry.message, requestId);
      if (written === true) continue;
      this.#byRequestId.delete(requestId);
      entry.requestId = null;
      if (written === false) return;
      this.#settle(entry, written);
    }
  }

  #settle(entry: Entry, error: SendError | null, ack?: ServerDataOf<'ack'>): void {
    if (this.#entries.get(entry.message.clientMessageId) !== entry) return;
    this.#entries.delete(entry.message.clientMessageId);
    if (entry.requestId !== null) this.#byRequestId.delete(entry.requestId);
    this.#bytes -= entry.bytes;
    if (entry.expiry !== undefined) this.#timers.clearTimeout(entry.expiry);
    this.#observer?.settled(entry.message, error);
    if (error) entry.reject(error);
    else if (ack) entry.resolve(ack);
  }

  /**
   * 1 s after the first transient answer since an ack, then 2, 4, 8, 16 and at most 30 s, and
   * never before a `retry_after_ms` the server gave. Answers that arrive while a retry is already
   * scheduled (a whole in-flight window failing at once) join it rather than lengthen the next
   * wait, unless their `retry_after_ms` ends later: then the round moves to that time.
   */
  #scheduleRetry(): void {
    const now = this.#clock.now();
    if (this.#retryTimer !== undefined) {
      if (this.#pausedUntil <= this.#retryAt) return;
      this.#timers.clearTimeout(this.#retryTimer);
    } else {
      this.#transientStreak++;
    }
    const backoff = Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, this.#transientStreak - 1), MAX_RETRY_MS);
    const delay = Math.max(backoff, this.#pausedUntil - now);
    this.#retryAt = now + delay;
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = undefined;
      // This round was set no earlier than the pause's end (a timer may fire a hair early).
      this.#pausedUntil = 0;
      this.#flush();
    }, delay);
  }

  #clearRetry(): void {
    if (this.#retryTimer !== undefined) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    // A new connection starts with a fresh frame budget on the server.
    this.#pausedUntil = 0;
  }
}

/** Wait before rewriting a message after the first transient answer (RATE_LIMITED, DATABASE_UNAVAILABLE, INTERNAL), ms. */
const FIRST_RETRY_MS = 1_000;
/** Longest wait between rewrites while transient answers continue, ms. */
const MAX_RETRY_MS = 30_000;
