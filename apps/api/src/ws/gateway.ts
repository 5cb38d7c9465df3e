/**
 * The WebSocket endpoint `/api/v1/ws`: authenticates the upgrade (upgrade-auth.ts; what a refused
 * one gets is upgrade-refusals.ts), registers each socket locally, with the bus (per-user
 * subscription) and in presence, runs the heartbeat, and delivers envelopes from the bus to local
 * sockets. Its own frames (`connected`, the drain's `reconnect`) go through the socket writer like
 * every other.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode } from '@anmei/protocol';
import { type RawData, WebSocket, WebSocketServer, type Server as WsServer } from 'ws';
import type { TicketStore } from '../auth/ticket-store.ts';
import type { TokenService } from '../auth/tokens.ts';
import type { BroadcastingService } from '../broadcasting/broadcasting-service.ts';
import type { ParticipantDirectory } from '../broadcasting/participant-directory.ts';
import type { ChatService } from '../chat/chat-service.ts';
import type { AppEvents } from '../events.ts';
import { addressKey, type ClientAddress } from '../http/client-address.ts';
import type { Logger } from '../observability/logger.ts';
import type { AppMetrics } from '../observability/metrics.ts';
import type { PresenceWatch } from '../presence-watch/presence-watch.ts';
import type { Bus } from '../realtime/bus/bus.ts';
import type { Presence } from '../realtime/presence/presence.ts';
import type { ResumeService } from '../resume/resume-service.ts';
import { connectedFrame } from './connected-frame.ts';
import type { ConnectionLimits } from './connection-limits.ts';
import { ConnectionSession, SESSION_LIMITS, type SessionContext } from './connection-session.ts';
import { drainSockets } from './drain.ts';
import { startHeartbeat } from './heartbeat.ts';
import type { LocalConnections } from './local-connections.ts';
import { ResumeTickets } from './resume-tickets.ts';
import type { SocketWriter } from './socket-writer.ts';
import { UpgradeAdmission } from './upgrade-admission.ts';
import { authenticateUpgrade, connectionInfoFor, type UpgradeIdentity, WS_PATH } from './upgrade-auth.ts';
import { UpgradeRefusals } from './upgrade-refusals.ts';
import { closeCodeOf, logConnectionStepFailed } from './ws-errors.ts';

/** ms a `?resume=1` connection holds live frames waiting for its `resume` frame. */
const RESUME_HOLD_MS = 10_000;

/** What a hold released by RESUME_HOLD_MS skips: nothing was replayed. */
const NOTHING_REPLAYED: ReadonlyMap<string, number> = new Map();

/**
 * Every socket of this gateway: ws builds them from this class (its `WebSocket` option), and
 * `session` lets the listeners below, shared by all sockets, find their connection without a
 * closure per socket.
 */
class SessionSocket extends WebSocket {
  session: ConnectionSession | undefined = undefined;
}

/** ws types listeners' `this` as a plain WebSocket; every socket here is a SessionSocket. */
function sessionOf(socket: WebSocket): ConnectionSession | undefined {
  return (socket as SessionSocket).session;
}

function onPong(this: WebSocket): void {
  const session = sessionOf(this);
  if (session) session.alive = true;
}

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  sessionOf(this)?.receive(data, isBinary);
}

/** Until ws owns the socket (it adds its own error handling), an error just ends the upgrade. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

export interface GatewayOptions {
  instanceId: string;
  /** ms between pings; a socket silent for a whole interval after a ping is terminated. */
  heartbeatIntervalMs: number;
  maxPayloadBytes: number;
  maxReconnectAttempts: number;
  allowedOrigins: '*' | ReadonlySet<string>;
  /** Frames per second a connection may send (WS_FRAME_RATE), and at once (WS_FRAME_BURST). */
  frameRate: number;
  frameBurst: number;
}

export interface GatewayDeps {
  tokens: TokenService;
  tickets: TicketStore;
  local: LocalConnections;
  bus: Bus;
  presence: Presence;
  events: AppEvents;
  chat: ChatService;
  broadcasting: BroadcastingService;
  resume: ResumeService;
  presenceWatch: PresenceWatch;
  participants: ParticipantDirectory;
  logger: Logger;
  /** Per-address upgrade rate, per-address and per-user connection caps. */
  limits: ConnectionLimits;
  /** The client's address behind trusted proxies (TRUST_PROXY). */
  clientAddress: ClientAddress;
  /** Connects, disconnects by close code, refused upgrades by code. */
  metrics: AppMetrics;
}

export class Gateway {
  readonly #opts: GatewayOptions;
  readonly #deps: GatewayDeps;
  readonly #writer: SocketWriter;
  readonly #wss: WsServer<typeof SessionSocket>;
  /** What an upgrade this gateway does not take gets (404, 503 while draining, auth failures). */
  readonly #refusals: UpgradeRefusals;
  readonly #sessionContext: SessionContext;
  /** Sessions whose socket closed and whose cleanup has not finished (drained on shutdown). */
  readonly #closing = new Set<ConnectionSession>();
  /** Sessions opened and not yet cleaned up; `close()` waits for 0. */
  #unsettled = 0;
  #onAllSettled: (() => void) | null = null;
  /** Shared by every socket (`this` is the socket); bound to this gateway once. */
  readonly #onClose: (this: WebSocket, code: number, reason: Buffer) => void;
  readonly #onError: (this: WebSocket, error: Error) => void;
  /** RESUME_HOLD_MS after a `?resume=1` connection opened without sending `resume`: its held frames go out as they are. */
  readonly #releaseUnclaimedHold = (session: ConnectionSession): number =>
    this.#writer.release(session, NOTHING_REPLAYED);
  #heartbeat: NodeJS.Timeout | undefined;
  #server: Server | undefined;
  #accepting = true;
  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    void this.#handleUpgrade(req, socket, head);
  /** Upgrades' checks start in batches, one batch at a time (upgrade-admission.ts says why). */
  readonly #admission = new UpgradeAdmission<{ req: IncomingMessage; address: string }, UpgradeIdentity>(
    ({ req, address }) =>
      authenticateUpgrade(req, address, {
        tokens: this.#deps.tokens,
        tickets: this.#deps.tickets,
        allowedOrigins: this.#opts.allowedOrigins,
        limits: this.#deps.limits,
      }),
  );

  constructor(options: GatewayOptions, deps: GatewayDeps) {
    this.#opts = options;
    this.#deps = deps;
    this.#writer = deps.local.writer;
    const gateway = this;
    this.#onClose = function onClose(code, reason) {
      gateway.#closed(this, code, reason);
    };
    this.#onError = function onError(error) {
      const session = sessionOf(this);
      deps.logger.warn(session?.bindings({ err: error }) ?? { err: error }, 'websocket error');
      if (session === undefined || session.closed) return;
      // ws is already closing this socket (a frame broke the protocol, e.g. invalid UTF-8, or the
      // transport failed): unregister it now, not when the peer answers, and wait for that at
      // most CLOSE_GRACE_MS instead of ws's 30 s.
      gateway.#release(session, closeCodeOf(error), error.message);
      gateway.#writer.endAfterGrace(session);
    };
    this.#sessionContext = {
      chat: deps.chat,
      broadcasting: deps.broadcasting,
      resume: deps.resume,
      presenceWatch: deps.presenceWatch,
      writer: this.#writer,
      resumeTickets: new ResumeTickets(deps.tokens),
      logger: deps.logger,
      cut: (session, code, reason) => this.#cut(session, code, reason),
      metrics: deps.metrics,
      ...SESSION_LIMITS,
      frameRate: options.frameRate,
      frameBurst: options.frameBurst,
    };
    this.#wss = new WebSocketServer({
      WebSocket: SessionSocket,
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      // Compression costs CPU per message on the hot path and enables CRIME-style attacks.
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.#refusals = new UpgradeRefusals({
      logger: deps.logger,
      metrics: deps.metrics,
      wss: this.#wss,
      onSocketError: this.#onError,
    });
  }

  attach(server: Server): void {
    this.#server = server;
    server.on('upgrade', this.#onUpgrade);
    this.#deps.bus.onEnvelope((envelope, targets) => {
      if (envelope.control) {
        if (envelope.control.type === 'participants_changed') {
          this.#deps.participants.invalidate(envelope.control.conversationId);
        }
        return;
      }
      const written = this.#deps.local.deliver(envelope, targets);
      this.#deps.logger.debug({ targets: targets === 'all' ? 'all' : targets.length, written }, 'local send');
    });
    this.#heartbeat = startHeartbeat(this.#deps.local, this.#deps.logger, this.#opts.heartbeatIntervalMs);
  }

  /**
   * Graceful drain: refuse new upgrades, tell every client to reconnect after a random delay
   * in [0, spreadMs] (so they do not all land on the survivors at once), let frames already
   * received finish, then close with 1001. Sockets that do not finish the close handshake
   * within 2 s are cut.
   */
  async close(options: { spreadMs?: number; timeoutMs?: number } = {}): Promise<void> {
    const { spreadMs = 0, timeoutMs = 10_000 } = options;
    // Keep listening for upgrades while draining so they get 503 (nginx retries another instance).
    this.#accepting = false;
    clearInterval(this.#heartbeat);
    const open = [...this.#deps.local.all()].filter((c) => c instanceof ConnectionSession);
    const force = await drainSockets(this.#deps.local, this.#writer, open, [...this.#closing], { spreadMs, timeoutMs });
    await this.#allSettled();
    clearTimeout(force);
    this.#server?.off('upgrade', this.#onUpgrade);
    this.#wss.close();
  }

  /** Resolves once every session opened so far has been cleaned up. */
  #allSettled(): Promise<void> {
    if (this.#unsettled === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onAllSettled = resolve;
    });
  }

  async #handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', destroyOnError);
    const path = (req.url ?? '').split('?')[0];
    if (path !== WS_PATH) return this.#refusals.notFound(socket, path);
    if (!this.#accepting) return this.#refusals.draining(socket);
    const address = addressKey(this.#deps.clientAddress.of(req));
    let identity: UpgradeIdentity;
    try {
      identity = await this.#admission.admit({ req, address });
    } catch (error) {
      return this.#refusals.failed(error, req, socket, head, address);
    }
    if (socket.destroyed) return;
    // Draining began while the ticket was checked: refuse, as for any upgrade after close().
    if (!this.#accepting) return this.#refusals.draining(socket);
    // The 101 waits in the socket's buffer until `connected` follows it (#register uncorks): one
    // write, one system call, for both (docs/benchmarks.md, goal 2). Clients wait for `connected` anyway.
    socket.cork();
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('error', destroyOnError);
      this.#onConnection(ws, identity, socket);
    });
  }

  #onConnection(socket: SessionSocket, identity: UpgradeIdentity, tcp: Duplex): void {
    const info = connectionInfoFor(identity, this.#opts.instanceId);
    const session = new ConnectionSession(info, socket, identity.holdUntilResume, this.#sessionContext);
    socket.session = session;
    this.#unsettled++;
    if (session.held) {
      // A client that asked to resume but never sends `resume` still gets its live frames.
      // The first `resume` clears this timer (SocketWriter.hold); so does the socket's close.
      session.holdTimer = setTimeout(this.#releaseUnclaimedHold, RESUME_HOLD_MS, session);
      session.holdTimer.unref();
    }
    socket.on('error', this.#onError);
    socket.on('pong', onPong);
    socket.on('message', onMessage);
    socket.on('close', this.#onClose);
    session.registering = this.#register(session, tcp);
  }

  /**
   * Subscribe before announcing `connected`, so nothing sent after the client sees it is missed.
   * Never rejects: a failure closes the socket with 1011, an outage too (no catalogued "try later" close code).
   */
  async #register(session: ConnectionSession, tcp: Duplex): Promise<void> {
    const { local, bus, presence, events, logger } = this.#deps;
    const { info } = session;
    try {
      const firstForUser = local.add(session);
      // Route and presence together (one Redis round trip of waiting instead of two): neither
      // needs the other. The heads are read after the route is live, so an event stored in
      // between is either within the heads or delivered live.
      await Promise.all([firstForUser ? bus.subscribeUser(info.userId) : undefined, presence.add(info)]);
      const heads = await this.#deps.resume.heads(info.userId);
      if (session.closed) return;
      session.registeredUserSeq = heads.userSeq;
      session.registeredGlobalSeq = heads.globalSeq;
      events.emit('connection.opened', { connection: info });
      this.#deps.metrics.connected(info);
      if (logger.isLevelEnabled('info')) {
        logger.info(
          session.bindings({ deviceType: info.deviceType, connectionType: info.connectionType }),
          'websocket connected',
        );
      }
      const resumeTicket = this.#sessionContext.resumeTickets.issue(session);
      this.#writer.writeDirect(session, connectedFrame(info, this.#opts, heads, resumeTicket));
    } catch (error) {
      logConnectionStepFailed(logger, session.bindings(), 'registering connection', error);
      session.cut(CloseCode.internalError, 'registration failed');
    } finally {
      session.registering = null;
      tcp.uncork(); // the 101 and `connected` (or the 1011 close) in one write
    }
  }

  /** The socket's 'close' (unless the socket was cut or failed before: then it was released then). */
  #closed(socket: WebSocket, code: number, reason: Buffer): void {
    const session = sessionOf(socket);
    if (session !== undefined) this.#release(session, code, reason.toString());
  }

  /**
   * LocalConnection.cut: close from our side and release the connection at once, so a peer that
   * never answers the close frame is not counted online (nor sent to) while we wait for it; its
   * TCP connection (and send queue) goes CLOSE_GRACE_MS later at the latest (issue #15).
   */
  #cut(session: ConnectionSession, code: CloseCode, reason: string): void {
    if (session.closed) return;
    this.#release(session, code, reason);
    this.#writer.close(session, code, reason);
  }

  /**
   * The connection is over (closed, cut or failed; only the first call counts): release its timers
   * and listeners now, its registrations after registration settled. The 'error' listener stays:
   * ws may still report an error while the socket closes.
   */
  #release(session: ConnectionSession, code: number, reason: string): void {
    if (session.closed) return;
    const { socket } = session;
    session.close();
    this.#deps.metrics.disconnected(code);
    socket.off('message', onMessage);
    socket.off('pong', onPong);
    socket.off('close', this.#onClose);
    this.#deps.presenceWatch.unwatch(session);
    this.#closing.add(session);
    // Clean up only after registration settled, so a fast close cannot leave a ghost.
    void (session.registering ?? Promise.resolve())
      .then(() => this.#cleanup(session, code, reason))
      .catch((e: unknown) => logConnectionStepFailed(this.#deps.logger, session.bindings(), 'connection cleanup', e))
      .finally(() => {
        this.#closing.delete(session);
        if (--this.#unsettled === 0) this.#onAllSettled?.();
      });
  }

  async #cleanup(session: ConnectionSession, code: number, reason: string): Promise<void> {
    const { info } = session;
    const removed = this.#deps.local.remove(info.connectionId);
    // Issue the unsubscribe before any await: a new socket of the same user arriving during the
    // awaits below subscribes AFTER it, so the user never ends up unsubscribed with a live socket.
    const unsubscribed = removed?.lastForUser ? this.#deps.bus.unsubscribeUser(info.userId) : undefined;
    // Awaited together: while Redis is down both reject, and awaiting them one after the other
    // would leave the second rejection unhandled (which ends a Node process).
    await Promise.all([this.#deps.presence.remove(info.connectionId), unsubscribed]);
    this.#deps.events.emit('connection.closed', { connection: info, code, reason });
    this.#deps.logger.info(session.bindings({ code }), 'websocket disconnected');
  }
}
