/**
 * ONE connection attempt and, if it succeeds, that socket's life (seed: core/connection.ts).
 * It gets a ticket, opens the socket, waits for the server's `connected` frame within the
 * connection timeout, then forwards decoded frames until the socket ends. Ending it clears the
 * timers it set and removes its message listener directly, and aborts the ticket request only
 * while one runs. Why not one AbortController owning all of it: dispatching its `abort` event,
 * the AbortError it builds and the listener `fetch` leaves on its signal were about half of what
 * a client spent noticing a dropped connection (bench/src/tools/client-close-cost.ts, docs/benchmarks.md
 * round 6, goal 1): in a storm thousands of clients on one device do that at once.
 *
 * It reports how it ended exactly once through `end`, except after `close()`: a close the
 * client chose (disconnect, offline, navigation) needs no recovery, so it is not reported.
 */
import type { ConnectionType, DecodeResult, DeviceType, ServerDataOf, ServerFrame } from '@anmei/protocol';
import type { Codec } from './codec.ts';
import {
  SOCKET_OPEN,
  type SocketCloseEvent,
  type SocketMessageEvent,
  type WebSocketConstructor,
  type WebSocketLike,
} from './socket-types.ts';
import { type GetTicket, getTicketWithRefresh, isUnauthorizedError } from './ticket-source.ts';
import { OwnedTimers, type Timers } from './timers.ts';

/** 1006: what a browser reports for a connection that failed or dropped without a close frame. */
export const ABNORMAL_CLOSURE = 1006;

export interface ConnectionEnd {
  code: number;
  reason: string;
  /** Whether the `connected` frame had arrived (the server accepted and registered us). */
  opened: boolean;
  /** The ticket source refused our credentials even after a refresh. */
  unauthorized?: boolean;
  /** Client-side cause when the end is not just the server's close. */
  cause?: 'CONNECT_TIMEOUT' | 'TICKET_FAILED' | 'CONNECTION_FAILED' | 'HEARTBEAT_TIMEOUT';
  error?: unknown;
}

export interface ConnectionSetup {
  endpoint: URL;
  getTicket: GetTicket;
  WebSocket: WebSocketConstructor;
  codec: Codec;
  timers: Timers;
  connectionTimeout: number;
  deviceType: DeviceType;
  connectionType: ConnectionType;
  /** Ask the ticket source to refresh credentials first (after a 4001 close). */
  refreshAuth: boolean;
  /** Open with `resume=1`: the server holds live frames until our `resume` frame (see docs/delivery.md). */
  resume: boolean;
  /** The previous connection's resume ticket (single-use): used instead of asking `getTicket`. */
  resumeTicket: string | null;
}

/** The reason a running ticket request is aborted with: one shared value, so no AbortError is built per attempt. */
const ATTEMPT_ENDED = Object.freeze(new Error('@anmei/client: the connection attempt ended'));

export interface ConnectionEvents {
  open(connected: ServerDataOf<'connected'>): void;
  frame(frame: ServerFrame): void;
  undecodable(failure: Extract<DecodeResult<ServerFrame>, { ok: false }>): void;
  end(end: ConnectionEnd): void;
}

export class Connection {
  readonly #setup: ConnectionSetup;
  readonly #events: ConnectionEvents;
  readonly #timers: OwnedTimers;
  /** Non-null while `getTicket` runs: aborted if the attempt ends first. */
  #ticketRequest: AbortController | null = null;
  #socket: WebSocketLike | null = null;
  #removeMessageListener: (() => void) | null = null;
  #opened = false;
  #done = false;

  constructor(setup: ConnectionSetup, events: ConnectionEvents) {
    this.#setup = setup;
    this.#events = events;
    this.#timers = new OwnedTimers(setup.timers);
  }

  get opened(): boolean {
    return this.#opened;
  }

  /** This attempt presented a resume ticket rather than one from `getTicket`. */
  get usedResumeTicket(): boolean {
    return this.#setup.resumeTicket !== null;
  }

  async start(): Promise<void> {
    const timeout = this.#setup.connectionTimeout;
    this.#timers.after(timeout, () =>
      this.end({
        code: ABNORMAL_CLOSURE,
        reason: `no connected frame within ${timeout} ms`,
        opened: false,
        cause: 'CONNECT_TIMEOUT',
      }),
    );
    let ticket: string;
    try {
      ticket = this.#setup.resumeTicket ?? (await this.#requestTicket());
    } catch (error) {
      if (this.#done) return;
      const reason = error instanceof Error ? error.message : String(error);
      if (isUnauthorizedError(error)) {
        this.end({ code: 4001, reason, opened: false, unauthorized: true, error });
        return;
      }
      this.end({
        code: ABNORMAL_CLOSURE,
        reason: `ticket request failed: ${reason}`,
        opened: false,
        cause: 'TICKET_FAILED',
        error,
      });
      return;
    }
    if (this.#done) return;
    const url = new URL(this.#setup.endpoint);
    url.searchParams.set('ticket', ticket);
    url.searchParams.set('device_type', this.#setup.deviceType);
    url.searchParams.set('connection_type', this.#setup.connectionType);
    if (this.#setup.resume) url.searchParams.set('resume', '1');
    try {
      this.#socket = new this.#setup.WebSocket(url.toString());
    } catch (error) {
      const reason = `could not create the WebSocket: ${error instanceof Error ? error.message : String(error)}`;
      this.end({ code: ABNORMAL_CLOSURE, reason, opened: false, cause: 'CONNECTION_FAILED', error });
      return;
    }
    this.#listen(this.#socket);
  }

  async #requestTicket(): Promise<string> {
    const request = new AbortController();
    this.#ticketRequest = request;
    try {
      return await getTicketWithRefresh(this.#setup.getTicket, this.#setup.refreshAuth, request.signal);
    } finally {
      this.#ticketRequest = null;
    }
  }

  /** Writes one text frame; false when the connection is not open. */
  send(text: string): boolean {
    if (!this.#opened || this.#done || !this.#socket || this.#socket.readyState !== SOCKET_OPEN) return false;
    this.#socket.send(text);
    return true;
  }

  /** Closes on the client's own decision; `end` is NOT reported. Idempotent. */
  close(code = 1000, reason = 'client closed'): void {
    if (this.#done) return;
    this.#done = true;
    this.#shutdown(code, reason);
  }

  /** Ends the connection for a reason found by the client (timeout, heartbeat, drain) and reports it. */
  end(end: ConnectionEnd): void {
    if (this.#done) return;
    this.#done = true;
    this.#shutdown(isClientCloseCode(end.code) ? end.code : 1000, end.reason);
    this.#events.end(end);
  }

  #listen(socket: WebSocketLike): void {
    const onMessage = (event: SocketMessageEvent) => this.#receive(event.data);
    const onClose = (event: SocketCloseEvent) => {
      socket.removeEventListener('close', onClose);
      socket.removeEventListener('error', onError);
      if (this.#done) return;
      const cause = this.#opened ? undefined : 'CONNECTION_FAILED';
      this.end({ code: event.code, reason: event.reason, opened: this.#opened, ...(cause ? { cause } : {}) });
    };
    // A close event always follows an error event; without a listener `ws` would throw it.
    const onError = () => undefined;
    socket.addEventListener('message', onMessage);
    socket.addEventListener('close', onClose);
    socket.addEventListener('error', onError);
    // close/error stay until the close event, so the closing handshake can finish quietly.
    this.#removeMessageListener = () => socket.removeEventListener('message', onMessage);
  }

  #receive(data: unknown): void {
    if (this.#done) return;
    if (typeof data !== 'string') {
      const message = 'Binary frame from the server; expected JSON text.';
      this.#events.undecodable({ ok: false, code: 'INVALID_FRAME', message, requestId: null, issues: [] });
      return;
    }
    const decoded = this.#setup.codec.decode(data);
    if (!decoded.ok) {
      this.#events.undecodable(decoded);
      return;
    }
    const frame = decoded.frame;
    if (!this.#opened && frame.action === 'connected') {
      this.#opened = true;
      this.#timers.clearAll();
      this.#events.open(frame.data);
      return;
    }
    this.#events.frame(frame);
  }

  #shutdown(code: number, reason: string): void {
    this.#timers.dispose();
    this.#ticketRequest?.abort(ATTEMPT_ENDED);
    this.#removeMessageListener?.();
    this.#removeMessageListener = null;
    const socket = this.#socket;
    if (!socket) return;
    try {
      // Close reasons are limited to 123 bytes by RFC 6455; ours are short, but be safe.
      socket.close(code, reason.slice(0, 100));
    } catch {
      // Already closing or closed: nothing left to do.
    }
  }
}

/** Codes a client may send in a close frame (RFC 6455 §7.4: 1000 or 3000-4999). */
function isClientCloseCode(code: number): boolean {
  return code === 1000 || (code >= 3000 && code <= 4999);
}
