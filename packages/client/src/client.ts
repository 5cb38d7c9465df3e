/**
 * The client facade (seed: websocket/index.ts, WebSocketClient). It only wires the single-job
 * modules together: ConnectionManager (state machine, backoff, heartbeat, environment), Outbox,
 * HandlerRegistry, the codec and the message adapter.
 *
 * Constructing a client has no side effects (no socket, timer or global listener) so that a
 * React state initializer may create one and throw it away; everything starts at connect().
 */
import { type ConnectionType, LIMITS, type Listener, TypedEmitter, textLength } from '@anmei/protocol';
import type { ClientError, ClientEventMap } from './client-events.ts';
import { newClientMessageId } from './client-message-id.ts';
import { utf8Bytes } from './codec.ts';
import { ConnectionManager } from './connection-manager.ts';
import { type DeliveryStats, DeliveryTracker } from './delivery-tracker.ts';
import { type Handler, type HandlerKey, HandlerRegistry, reportedTwice } from './handler-registry.ts';
import {
  type PendingMessage,
  type SendResult,
  toPendingMessage,
  toReadFrame,
  toSendMessageFrame,
  toSendResult,
  toTypingFrame,
  type UiFrame,
} from './message-adapter.ts';
import { createMessageEventHandler } from './message-event-handler.ts';
import { type ClientOptions, type ResolvedOptions, resolveOptions } from './options.ts';
import { Outbox, type QueuedMessage } from './outbox.ts';
import { OutboxPersistence, type RestoredSend } from './outbox-persistence.ts';
import type { OutboxStorage } from './outbox-storage.ts';
import { ReadReceipts } from './read-receipts.ts';
import { SendError } from './send-error.ts';
import type { ConnectionState } from './state-machine.ts';

/** What a UI renders; a new object whenever anything in it changes (for useSyncExternalStore). */
export interface ClientSnapshot {
  state: ConnectionState;
  /** Round trip of the last answered ping, ms; null before the first. */
  rttMs: number | null;
  lastError: ClientError | null;
  /** The last frame received (pongs excluded). Use `on(action, …)` to see every frame of a burst. */
  lastMessage: UiFrame | null;
}

export interface SendOptions {
  /** Idempotency key; a UUID is generated when omitted. Reuse it to resend the same message. */
  clientMessageId?: string;
  /** Overrides outbox.ttlMs for this message, ms. */
  ttlMs?: number;
}

export class WebSocketClient {
  readonly #o: ResolvedOptions;
  readonly #events: TypedEmitter<ClientEventMap>;
  readonly #registry: HandlerRegistry;
  readonly #outbox: Outbox;
  readonly #persistence: OutboxPersistence;
  readonly #manager: ConnectionManager;
  /** null when the `resume` option is off. */
  readonly #delivery: DeliveryTracker | null;
  readonly #reads: ReadReceipts;
  readonly #subscribers = new Set<() => void>();
  #snapshot: ClientSnapshot;
  #maxPayloadBytes = Number.POSITIVE_INFINITY;
  /** Users whose online state the app follows (watchPresence); sent again on every connect. */
  #watchedUsers: readonly string[] = [];
  #disposed = false;

  constructor(options: ClientOptions) {
    this.#o = resolveOptions(options);
    this.#events = new TypedEmitter<ClientEventMap>({
      onListenerError: (error, event) => console.error(`@anmei/client: a "${event}" listener threw`, error),
      onReporterError: reportedTwice,
    });
    this.#registry = new HandlerRegistry((error, action) =>
      this.#report({
        code: 'HANDLER_FAILED',
        reason: `a "${action}" handler threw: ${describe(error)}`,
        action,
        cause: error,
      }),
    );
    this.#persistence = new OutboxPersistence(() => this.#outbox, {
      failed: (operation, error) =>
        this.#report({
          code: 'STORAGE_FAILED',
          reason: `the outbox storage failed to ${operation}: ${describe(error)}`,
          cause: error,
        }),
      restored: (sends) => this.#restored(sends),
    });
    this.#outbox = new Outbox(this.#o.outbox, {
      timers: this.#o.timers,
      clock: this.#o.clock,
      observer: this.#persistence,
    });
    const route = createMessageEventHandler({
      outbox: this.#outbox,
      registry: this.#registry,
      onMessage: (frame) => {
        if (frame.action !== 'pong') this.#update({ lastMessage: frame });
        this.#events.emit('message', frame);
      },
      onUnmatchedError: (frame) =>
        this.#report({ code: 'SERVER_ERROR', reason: frame.data.message, serverCode: frame.data.code }),
    });
    this.#delivery = this.#o.resume
      ? new DeliveryTracker({
          sendResume: (data, requestId) =>
            this.#manager.send(this.#o.codec.encode({ action: 'resume', request_id: requestId, data })),
          onReload: (notice) => this.#events.emit('reload', notice),
          timers: this.#o.timers,
        })
      : null;
    const delivery = this.#delivery;
    const deliver = delivery
      ? (frame: Parameters<typeof route>[0]) => {
          for (const ready of delivery.accept(frame)) route(ready);
        }
      : route;
    this.#reads = new ReadReceipts({
      send: (conversationId, messageIds) =>
        this.#manager.send(this.#o.codec.encode(toReadFrame(conversationId, messageIds))),
      timers: this.#o.timers,
      intervalMs: this.#o.readReceiptInterval,
    });
    this.#manager = new ConnectionManager(this.#o, {
      state: (change) => {
        this.#update({ state: change.state });
        this.#events.emit('state', change);
      },
      opened: (state) => {
        this.#maxPayloadBytes = state.maxPayloadBytes;
        // 'open' first, so streams the app tracks in its listener are in the resume; the resume
        // before the queued sends, so a long outbox cannot push it past the server's frame burst.
        this.#events.emit('open', state);
        this.#delivery?.connected({ userSeq: state.userSeq, globalSeq: state.globalSeq });
        this.#outbox.attach((message, requestId) => {
          const text = this.#o.codec.encode(toSendMessageFrame(message, requestId));
          const bytes = utf8Bytes(text);
          if (bytes <= this.#maxPayloadBytes) return this.#manager.send(text);
          const why = `The frame is ${bytes} bytes; the server accepts at most max_payload_bytes=${this.#maxPayloadBytes}.`;
          return new SendError('TOO_LARGE', why, message.clientMessageId);
        });
        // A new socket watches nobody: repeat the app's list (the answer re-states everyone).
        if (this.#watchedUsers.length > 0) this.#sendWatch();
        this.#reads.flush();
      },
      closing: () => this.#reads.flushNow(),
      lost: () => {
        this.#outbox.detach();
        this.#delivery?.detach();
      },
      closed: (info) => this.#events.emit('close', info),
      frame: deliver,
      error: (error) => this.#report(error),
      rtt: (rttMs) => {
        this.#update({ rttMs });
        this.#events.emit('rtt', { rttMs });
      },
    });
    this.#snapshot = { state: this.#manager.state, rttMs: null, lastError: null, lastMessage: null };
  }

  get state(): ConnectionState {
    return this.#manager.state;
  }

  get connectionType(): ConnectionType {
    return this.#manager.connectionType;
  }

  /** Messages waiting for an ack (queued or in flight). */
  get pendingMessages(): number {
    return this.#outbox.size;
  }

  /** Whether the client has listeners on window/document right now. */
  get listeningToEnvironment(): boolean {
    return this.#manager.listening;
  }

  getSnapshot = (): ClientSnapshot => this.#snapshot;

  /** Called after every snapshot change; returns an unsubscribe function. */
  subscribe = (listener: () => void): (() => void) => {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  };

  /** Handles every frame of one server action (or `*` for all); returns an unsubscribe function. */
  on<K extends HandlerKey>(action: K, handler: Handler<K>): () => void {
    return this.#registry.on(action, handler);
  }

  onEvent<E extends keyof ClientEventMap>(event: E, listener: Listener<ClientEventMap[E]>): () => void {
    return this.#events.on(event, listener);
  }

  connect(options: { connectionType?: ConnectionType } = {}): void {
    this.#assertUsable('connect');
    this.#manager.connect(options.connectionType);
  }

  disconnect(): void {
    this.#manager.disconnect();
  }

  reconnect(): void {
    this.#assertUsable('reconnect');
    this.#manager.reconnect();
  }

  /**
   * Sends a text message. Queued while not open and written once open; resolves with the
   * server's ack (`duplicate: true` when a resend found it already stored), rejects with a SendError.
   */
  send(conversationId: string, content: string, options: SendOptions = {}): Promise<SendResult> {
    const clientMessageId = options.clientMessageId ?? newClientMessageId();
    const ttlMs = options.ttlMs ?? this.#o.outbox.ttlMs;
    const createdAt = this.#o.clock.now();
    const message: QueuedMessage = {
      conversationId,
      clientMessageId,
      content,
      createdAt,
      expiresAt: createdAt + ttlMs,
      restored: false,
    };
    const invalid = (why: string) =>
      this.#outcome(message, Promise.reject(new SendError('INVALID', why, clientMessageId)));
    if (this.#disposed) return Promise.reject(new SendError('DISPOSED', 'The client was disposed.', clientMessageId));
    if (typeof conversationId !== 'string' || conversationId.length === 0) return invalid('conversationId is empty.');
    if (typeof content !== 'string' || content.length === 0) return invalid('content is empty.');
    if (textLength(content) > LIMITS.messageContentMaxChars) {
      return invalid(`content has ${textLength(content)} characters; the limit is ${LIMITS.messageContentMaxChars}.`);
    }
    if (clientMessageId.length === 0 || textLength(clientMessageId) > LIMITS.clientMessageIdMaxChars) {
      return invalid(`clientMessageId must be 1-${LIMITS.clientMessageIdMaxChars} characters.`);
    }
    return this.#outcome(message, this.#outbox.enqueue({ conversationId, clientMessageId, content }, ttlMs, createdAt));
  }

  /** Messages waiting for an ack (queued, in flight or restored), in send order; of one conversation if given. */
  pending(conversationId?: string): PendingMessage[] {
    return this.#outbox
      .pending()
      .filter((m) => conversationId === undefined || m.conversationId === conversationId)
      .map(toPendingMessage);
  }

  /**
   * Keeps pending sends in `storage` so they survive a reload (null: memory only, the default).
   * The storage is one user's: attaching another one than the current discards every message in
   * memory first (DISCARDED; they stay in their own storage), so one user's message is never
   * sent as another's. Then the storage's messages are loaded (a `restored` event) and sent before
   * any newer one, each once more with its client message id. Resolves once they are loaded; a
   * storage that fails is reported as a STORAGE_FAILED error and the outbox stays in memory.
   */
  setOutboxStorage(storage: OutboxStorage | null): Promise<void> {
    this.#assertUsable('setOutboxStorage');
    return this.#persistence.attach(storage);
  }

  /** Rejects every pending send with DISCARDED (e.g. another user signs in); a storage keeps them. */
  discardPending(): void {
    this.#reads.clear();
    this.#persistence.discard();
  }

  /** Discards every pending send, in memory (DISCARDED) and in the storage (sign-out). */
  clearOutbox(): Promise<void> {
    this.#reads.clear();
    return this.#persistence.clear();
  }

  /** Typing indicators are only worth sending live: returns false (nothing queued) when not open. */
  sendTyping(conversationId: string, isTyping: boolean): boolean {
    return this.#manager.send(this.#o.codec.encode(toTypingFrame(conversationId, isTyping)));
  }

  /**
   * Follow the online state of these users (at most LIMITS.presenceWatchMax; replaces the last
   * list, [] stops): their state now and every change arrive as `presence` frames
   * (`on('presence', …)`). Kept across reconnects: each new socket is told the list again and
   * answers with everyone's state, so nothing a reconnect missed stays wrong. Returns whether the
   * list went out now (false while not open: it goes out on the next connect).
   */
  watchPresence(userIds: readonly string[]): boolean {
    const unique = [...new Set(userIds)];
    if (unique.length > LIMITS.presenceWatchMax)
      throw new RangeError(`watchPresence takes at most ${LIMITS.presenceWatchMax} users; got ${unique.length}.`);
    this.#watchedUsers = unique;
    return this.#sendWatch();
  }

  #sendWatch(): boolean {
    return this.#manager.send(
      this.#o.codec.encode({ action: 'watch_presence', data: { user_ids: [...this.#watchedUsers] } }),
    );
  }

  /**
   * Read receipt over the socket; false when not open (nothing kept: use the HTTP read route
   * then). A conversation's reads soon after one that went out go together, at most
   * `readReceiptInterval` ms later (read-receipts.ts).
   */
  markRead(conversationId: string, messageIds: readonly string[]): boolean {
    if (this.#manager.state.status !== 'open') return false;
    this.#reads.mark(conversationId, messageIds);
    return true;
  }

  /** Pings now; the RTT arrives as an `rtt` event and in the snapshot. False when not open. */
  ping(): boolean {
    return this.#manager.probe();
  }

  /**
   * Tell the client which positions of a conversation the app already shows (e.g. after loading
   * history over HTTP), so a reconnect replays exactly what comes after them. Conversations whose
   * frames arrive are tracked automatically from the first frame seen.
   */
  track(conversationId: string, positions: { lastSeq: number; lastEventSeq?: number }): void {
    this.#delivery?.track(conversationId, positions);
  }

  /** The positions delivered so far in a conversation (null where nothing is known yet, or resume is off). */
  positions(conversationId: string): { lastSeq: number | null; lastEventSeq: number | null } {
    return this.#delivery?.positions(conversationId) ?? { lastSeq: null, lastEventSeq: null };
  }

  /** Delivery counters (delivered, replayed, duplicates dropped, gap repairs, reloads); null when resume is off. */
  deliveryStats(): DeliveryStats | null {
    return this.#delivery?.stats() ?? null;
  }

  /** Closes, rejects pending sends with DISPOSED and drops every handler and listener. Final. */
  dispose(): void {
    if (this.#disposed) return;
    this.#manager.disconnect(1000, 'client disposed');
    this.#disposed = true;
    this.#outbox.clear((id) => new SendError('DISPOSED', 'The client was disposed.', id));
    this.#reads.clear();
    this.#delivery?.detach();
    this.#registry.clear();
    this.#events.removeAll();
    this.#subscribers.clear();
  }

  /** Reports a send's end as a `sent` or `sendFailed` event; the promise settles as before. */
  #outcome(message: QueuedMessage, ack: Promise<Parameters<typeof toSendResult>[0]>): Promise<SendResult> {
    const pending = toPendingMessage(message);
    return ack.then(
      (frame) => {
        const result = toSendResult(frame);
        this.#events.emit('sent', { message: pending, result });
        return result;
      },
      (error: unknown) => {
        if (error instanceof SendError) this.#events.emit('sendFailed', { message: pending, error });
        throw error;
      },
    );
  }

  #restored(sends: RestoredSend[]): void {
    if (sends.length === 0) return;
    this.#events.emit('restored', { messages: sends.map((send) => toPendingMessage(send.message)) });
    // Nobody holds these promises: their outcome reaches the app through the events only.
    for (const send of sends) this.#outcome(send.message, send.ack).catch(() => undefined);
  }

  #assertUsable(method: string): void {
    if (this.#disposed) throw new Error(`@anmei/client: ${method}() called on a disposed client; create a new one.`);
  }

  #report(error: Omit<ClientError, 'at'>): void {
    const full: ClientError = { ...error, at: this.#o.clock.now() };
    this.#update({ lastError: full });
    if (this.#events.listenerCount('error') === 0 && error.code === 'HANDLER_FAILED') {
      console.error(`@anmei/client: ${full.reason}`, error.cause);
    }
    this.#events.emit('error', full);
  }

  #update(patch: Partial<ClientSnapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...patch };
    for (const listener of [...this.#subscribers]) listener();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function createClient(options: ClientOptions): WebSocketClient {
  return new WebSocketClient(options);
}
