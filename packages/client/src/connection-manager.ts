/**
 * Drives the state machine (seed: core/reconnect.ts): starts attempts, decides after each end
 * whether and when to retry, and reacts to network and page events. It owns at most one
 * Connection at a time; a connection that is not the current one can no longer change state.
 *
 * Rules: a manual disconnect() never resumes by itself; retries use full-jitter backoff and
 * stop after maxReconnectAttempts; the counter resets only after a connection stayed up for
 * stableConnectionTime; a server `reconnect` notice is honoured and not counted; `offline`
 * burns no attempts; a retry that falls due while the page is hidden waits until it is visible.
 */
import type { ConnectionType, ServerDataOf, ServerFrame } from '@anmei/protocol';
import type { ClientError } from './client-events.ts';
import { decideAfterClose } from './close-policy.ts';
import { Connection, type ConnectionEnd } from './connection.ts';
import { EnvironmentWatcher } from './environment.ts';
import { Heartbeat } from './heartbeat.ts';
import { toPingFrame } from './message-adapter.ts';
import type { ResolvedOptions } from './options.ts';
import { ReconnectScheduler } from './reconnect-scheduler.ts';
import { resolveWebSocket } from './socket-types.ts';
import {
  type CloseInfo,
  type ConnectionState,
  ConnectionStateMachine,
  openState,
  type StateChange,
  type StateOf,
} from './state-machine.ts';
import type { TimerHandle } from './timers.ts';

/** How long after half of a resume ticket's life the renewing ping goes out (the server renews from half on), ms. */
const RENEWAL_MARGIN_MS = 1_000;

export interface ManagerHooks {
  state(change: StateChange): void;
  opened(state: StateOf<'open'>): void;
  /** The client is about to close the open connection itself: the last frames may be written now. */
  closing(): void;
  /** The open connection is gone (any reason): in-flight sends must wait again. */
  lost(): void;
  closed(info: CloseInfo & { willRetry: boolean }): void;
  frame(frame: ServerFrame): void;
  error(error: Omit<ClientError, 'at'>): void;
  rtt(rttMs: number): void;
}

export class ConnectionManager {
  readonly #o: ResolvedOptions;
  readonly #hooks: ManagerHooks;
  readonly #machine: ConnectionStateMachine;
  readonly #retries: ReconnectScheduler;
  readonly #env: EnvironmentWatcher;
  readonly #heartbeat: Heartbeat;
  #connectionType: ConnectionType;
  #connection: Connection | null = null;
  /** The app wants a connection (connect() called, no disconnect() or terminal state since). */
  #wanted = false;
  #refreshAuth = false;
  #resumeOnPageShow = false;
  /** The current connection got a `reconnect` notice: it only delivers late acks until it closes. */
  #draining = false;
  /** The last resume ticket the server gave (single-use), and until when to use it (client clock, ms). */
  #resumeTicket: { ticket: string; usableUntil: number } | null = null;
  /** Pings once the resume ticket is past half its life, so the pong renews it on a busy connection too. */
  #renewal: TimerHandle | undefined;

  constructor(options: ResolvedOptions, hooks: ManagerHooks) {
    this.#o = options;
    this.#hooks = hooks;
    this.#connectionType = options.connectionType;
    this.#machine = new ConnectionStateMachine((change) => hooks.state(change));
    this.#env = new EnvironmentWatcher(options.environment);
    this.#retries = new ReconnectScheduler({
      baseMs: options.reconnectInterval,
      maxMs: options.maxReconnectDelay,
      maxAttempts: options.maxReconnectAttempts,
      random: options.random,
      timers: options.timers,
      clock: options.clock,
      isHidden: () => this.#env.hidden,
      run: (attempt) => this.#attempt(attempt),
    });
    this.#heartbeat = new Heartbeat({
      intervalMs: options.heartbeatInterval,
      timeoutMs: options.heartbeatTimeout,
      clock: options.clock,
      timers: options.timers,
      sendPing: (ts) => this.send(this.#o.codec.encode(toPingFrame(ts))),
      onTimeout: () => {
        const reason = `no frame within ${options.heartbeatTimeout} ms of a ping`;
        this.#connection?.end({ code: 4000, reason, opened: true, cause: 'HEARTBEAT_TIMEOUT' });
      },
      onRtt: (rttMs) => hooks.rtt(rttMs),
    });
  }

  get state(): ConnectionState {
    return this.#machine.state;
  }

  get connectionType(): ConnectionType {
    return this.#connectionType;
  }

  /** Whether window/document listeners are currently attached (for lifecycle tests). */
  get listening(): boolean {
    return this.#env.attached;
  }

  /** Starts connecting unless already connected or on the way with the same connection type. */
  connect(connectionType: ConnectionType = this.#connectionType): void {
    resolveWebSocket(this.#o.WebSocket);
    const changed = connectionType !== this.#connectionType;
    this.#connectionType = connectionType;
    if (this.#wanted && !changed && this.#machine.is('connecting', 'open', 'reconnecting', 'offline')) return;
    this.#wanted = true;
    this.#restart();
  }

  /** Manual: drop the current connection (if any) and try again now with a fresh retry budget. */
  reconnect(): void {
    resolveWebSocket(this.#o.WebSocket);
    this.#wanted = true;
    this.#restart();
  }

  /** Closes and stays closed until connect()/reconnect(). */
  disconnect(code = 1000, reason = 'client disconnect'): void {
    this.#wanted = false;
    // A manual close (a logout) ends the session: nothing may reopen it without new credentials.
    this.#resumeTicket = null;
    this.#resumeOnPageShow = false;
    this.#env.detach();
    this.#drop(code, reason);
    if (!this.#machine.is('idle', 'closed')) this.#machine.transition({ status: 'closed', code, reason });
  }

  send(text: string): boolean {
    return this.#connection?.send(text) ?? false;
  }

  /** Sends a ping now (RTT is reported when its pong arrives). */
  probe(): boolean {
    if (!this.#machine.is('open')) return false;
    this.#heartbeat.probe();
    return true;
  }

  #restart(): void {
    this.#resumeOnPageShow = false;
    this.#retries.reset();
    this.#refreshAuth = false;
    this.#drop(1000, 'reconnecting');
    this.#attachEnvironment();
    if (!this.#env.online) {
      this.#to({ status: 'offline' });
      return;
    }
    this.#attempt(0);
  }

  #to(state: ConnectionState): void {
    this.#machine.transition(state);
  }

  /** Forget the current connection and every pending timer, without reporting an end. */
  #drop(code: number, reason: string): void {
    this.#draining = false;
    this.#retries.cancel();
    this.#heartbeat.stop();
    this.#clearRenewal();
    const connection = this.#connection;
    if (!connection) return;
    // Before it is forgotten: the hook's last frames go through send() to this connection.
    if (connection.opened) this.#hooks.closing();
    this.#connection = null;
    connection.close(code, reason);
    if (connection.opened) this.#hooks.lost();
  }

  #attempt(attempt: number): void {
    this.#drop(1000, 'reconnecting');
    this.#to({ status: 'connecting', attempt });
    const connection: Connection = new Connection(
      {
        ...this.#o,
        WebSocket: resolveWebSocket(this.#o.WebSocket),
        connectionType: this.#connectionType,
        refreshAuth: this.#refreshAuth,
        resumeTicket: this.#takeResumeTicket(),
      },
      {
        open: (data) => this.#onOpen(connection, data),
        frame: (frame) => this.#onFrame(connection, frame),
        undecodable: (failure) => this.#hooks.error({ code: 'UNDECODABLE_FRAME', reason: failure.message }),
        end: (end) => this.#onEnd(connection, end),
      },
    );
    this.#connection = connection;
    void connection.start();
  }

  /**
   * The resume ticket for the next attempt, if one is held and still usable; it is forgotten
   * either way (single-use). Not after a 4001 close: then credentials are refreshed over HTTP.
   */
  #takeResumeTicket(): string | null {
    const held = this.#resumeTicket;
    this.#resumeTicket = null;
    if (held === null || this.#refreshAuth || this.#o.clock.now() >= held.usableUntil) return null;
    return held.ticket;
  }

  /** Keeps the resume ticket of a `connected` or `pong` frame (absent from servers that issue none). */
  #keepResumeTicket(data: { resume_ticket?: string | undefined; resume_ticket_ttl_ms?: number | undefined }): void {
    if (data.resume_ticket === undefined || data.resume_ticket_ttl_ms === undefined) return;
    // 10 % short of its lifetime: the frame spent some of it in transit, and clocks run apart.
    const usableUntil = this.#o.clock.now() + Math.floor(data.resume_ticket_ttl_ms * 0.9);
    this.#resumeTicket = { ticket: data.resume_ticket, usableUntil };
    // The heartbeat pings only an idle connection: a busy one would never renew its ticket.
    this.#clearRenewal();
    this.#renewal = this.#o.timers.setTimeout(
      () => {
        this.#renewal = undefined;
        this.probe();
      },
      Math.ceil(data.resume_ticket_ttl_ms / 2) + RENEWAL_MARGIN_MS,
    );
  }

  #clearRenewal(): void {
    if (this.#renewal !== undefined) this.#o.timers.clearTimeout(this.#renewal);
    this.#renewal = undefined;
  }

  #onOpen(connection: Connection, data: ServerDataOf<'connected'>): void {
    if (connection !== this.#connection) return;
    this.#keepResumeTicket(data);
    this.#refreshAuth = false;
    const state = openState(data, this.#o.clock.now());
    this.#to(state);
    this.#retries.opened(this.#o.stableConnectionTime);
    this.#heartbeat.start();
    this.#hooks.opened(state);
  }

  #onFrame(connection: Connection, frame: ServerFrame): void {
    if (connection !== this.#connection) return;
    this.#heartbeat.received(frame.action === 'pong' ? frame.data.ts : undefined);
    if (frame.action === 'pong') this.#keepResumeTicket(frame.data);
    this.#hooks.frame(frame);
    if (frame.action === 'reconnect' && connection === this.#connection && !this.#draining) {
      this.#drain(frame.data.retry_after_ms);
    }
  }

  /**
   * The server is draining and will close with 1001 once it has answered what it already
   * received. Stop writing, keep reading (late acks still settle sends), and move after
   * `retry_after_ms` (plus jitter) whether or not the close came: not counted as an attempt.
   */
  #drain(retryAfterMs: number): void {
    this.#draining = true;
    this.#heartbeat.stop();
    this.#hooks.lost();
    const plan = this.#retries.move(retryAfterMs);
    const cause = { code: 1001, reason: 'server draining' };
    this.#to({ status: 'reconnecting', ...plan, maxAttempts: this.#retries.maxAttempts, cause });
  }

  #onEnd(connection: Connection, end: ConnectionEnd): void {
    if (connection !== this.#connection) return;
    this.#connection = null;
    const info: CloseInfo = { code: end.code, reason: end.reason };
    if (this.#draining) {
      // The move is already scheduled by #drain.
      this.#draining = false;
      this.#hooks.closed({ ...info, willRetry: true });
      return;
    }
    this.#retries.cancel();
    this.#heartbeat.stop();
    this.#clearRenewal();
    if (end.opened) this.#hooks.lost();
    if (!end.opened && connection.usedResumeTicket && end.cause !== 'CONNECT_TIMEOUT') {
      // Refused (spent, expired, or the server restarted with a new secret) or the server is
      // unreachable: try once more at once with a ticket from getTicket, which tells which.
      this.#attempt(this.#retries.attempts);
      return;
    }
    if (end.unauthorized) {
      this.#hooks.error({ code: 'UNAUTHORIZED', reason: end.reason, cause: end.error });
      this.#stop(info, { status: 'unauthorized', reason: end.reason });
      return;
    }
    if (end.cause) this.#hooks.error({ code: end.cause, reason: end.reason, closeCode: end.code, cause: end.error });
    if (end.opened && !end.cause) {
      const decision = decideAfterClose(end.code);
      if (decision === 'stop') {
        const reason = `server closed with ${end.code} ${end.reason}`;
        this.#hooks.error({ code: 'CLOSED_BY_SERVER', reason, closeCode: end.code });
        this.#stop(info, { status: 'closed', code: end.code, reason: end.reason });
        return;
      }
      if (decision === 'refresh-auth') this.#refreshAuth = true;
    }
    this.#scheduleRetry(info, end.opened);
  }

  #stop(info: CloseInfo, state: ConnectionState): void {
    this.#wanted = false;
    this.#env.detach();
    this.#to(state);
    this.#hooks.closed({ ...info, willRetry: false });
  }

  #scheduleRetry(cause: CloseInfo, afterOpen: boolean): void {
    if (!this.#env.online) {
      this.#to({ status: 'offline' });
      this.#hooks.closed({ ...cause, willRetry: true });
      return;
    }
    const plan = this.#retries.backoff(afterOpen);
    if (!plan) {
      const attempts = this.#retries.attempts;
      const reason = `gave up after ${attempts} reconnect attempts`;
      this.#hooks.error({ code: 'RECONNECT_EXHAUSTED', reason, closeCode: cause.code });
      this.#stop(cause, { status: 'failed', code: cause.code, reason: cause.reason, attempts });
      return;
    }
    this.#to({ status: 'reconnecting', ...plan, maxAttempts: this.#retries.maxAttempts, cause });
    this.#hooks.closed({ ...cause, willRetry: true });
  }

  #attachEnvironment(): void {
    this.#env.attach({
      online: () => {
        if (this.#wanted && this.#machine.is('offline', 'reconnecting')) this.#restart();
      },
      offline: () => {
        if (!this.#wanted || !this.#machine.is('connecting', 'open', 'reconnecting')) return;
        this.#drop(1000, 'offline');
        this.#to({ status: 'offline' });
      },
      visible: () => {
        if (!this.#wanted) return;
        if (!this.#retries.visible() && this.#machine.is('open')) this.#heartbeat.probe();
      },
      hidden: () => undefined,
      pageHide: () => {
        if (!this.#wanted || this.#machine.is('closed')) return;
        this.#drop(1000, 'page hidden');
        this.#resumeOnPageShow = true;
        this.#to({ status: 'closed', code: 1000, reason: 'page hidden' });
      },
      pageShow: () => {
        if (this.#wanted && this.#resumeOnPageShow) this.#restart();
      },
    });
  }
}
