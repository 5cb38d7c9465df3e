/**
 * The WebSocket endpoint `/api/v1/ws`: authenticates the upgrade, registers each socket
 * locally, with the bus (per-user subscription) and in presence, runs the heartbeat, and
 * delivers envelopes from the bus to local sockets.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, encodeFrame, ServerAction, serverFrame } from '@anmei/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import type { TicketStore } from '../auth/ticket-store.ts';
import type { TokenService } from '../auth/tokens.ts';
import type { BroadcastingService } from '../broadcasting/broadcasting-service.ts';
import type { ParticipantDirectory } from '../broadcasting/participant-directory.ts';
import type { ChatService } from '../chat/chat-service.ts';
import { AppError } from '../errors.ts';
import type { AppEvents } from '../events.ts';
import type { Logger } from '../observability/logger.ts';
import type { Bus } from './bus/bus.ts';
import { ConnectionSession } from './connection-session.ts';
import { release } from './held-frames.ts';
import type { LocalConnection, LocalConnections } from './local-connections.ts';
import type { Presence } from './presence/presence.ts';
import type { ResumeService } from './resume-service.ts';
import type { ConnectionInfo } from './types.ts';
import { authenticateUpgrade, rejectUpgrade, type UpgradeIdentity, WS_PATH } from './upgrade-auth.ts';

/** ms a peer that missed its heartbeat has to answer our close frame before the TCP connection is cut. */
const HEARTBEAT_CLOSE_GRACE_MS = 1_000;

/** ms a `?resume=1` connection holds live frames waiting for its `resume` frame. */
const RESUME_HOLD_MS = 10_000;

export interface GatewayOptions {
  instanceId: string;
  /** ms between pings; a socket silent for a whole interval after a ping is terminated. */
  heartbeatIntervalMs: number;
  maxPayloadBytes: number;
  maxReconnectAttempts: number;
  allowedOrigins: '*' | ReadonlySet<string>;
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
  participants: ParticipantDirectory;
  logger: Logger;
}

export class Gateway {
  readonly #opts: GatewayOptions;
  readonly #deps: GatewayDeps;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<string, { session: ConnectionSession; settled: Promise<void> }>();
  #heartbeat: NodeJS.Timeout | undefined;
  #server: Server | undefined;
  #accepting = true;
  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    void this.#handleUpgrade(req, socket, head);

  constructor(options: GatewayOptions, deps: GatewayDeps) {
    this.#opts = options;
    this.#deps = deps;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      // Compression costs CPU per message on the hot path and enables CRIME-style attacks.
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  attach(server: Server): void {
    this.#server = server;
    server.on('upgrade', this.#onUpgrade);
    this.#deps.bus.onEnvelope((envelope, targets) => {
      if (envelope.control) {
        this.#deps.participants.invalidate(envelope.control.conversationId);
        return;
      }
      const written = this.#deps.local.deliver(envelope, targets);
      this.#deps.logger.debug({ targets: targets === 'all' ? 'all' : targets.length, written }, 'local send');
    });
    this.#heartbeat = setInterval(() => this.#beat(), this.#opts.heartbeatIntervalMs);
    this.#heartbeat.unref();
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
    const sessions = [...this.#sessions.values()];
    for (const connection of this.#deps.local.all()) {
      connection.socket.send(
        encodeFrame(
          serverFrame(ServerAction.reconnect, {
            reason: 'server_draining',
            retry_after_ms: Math.floor(Math.random() * spreadMs),
          }),
        ),
      );
    }
    await withDeadline(Promise.allSettled(sessions.map((s) => s.session.drained())), timeoutMs);
    for (const connection of this.#deps.local.all()) connection.socket.close(CloseCode.goingAway, 'server draining');
    // A peer that does not answer the close handshake is cut after 2 s.
    const force = setTimeout(() => {
      for (const connection of this.#deps.local.all()) connection.socket.terminate();
    }, 2_000);
    force.unref();
    await Promise.allSettled(sessions.map((s) => s.settled));
    clearTimeout(force);
    this.#server?.off('upgrade', this.#onUpgrade);
    this.#wss.close();
  }

  async #handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path !== WS_PATH)
      return rejectUpgrade(socket, 'NOT_FOUND', `No WebSocket endpoint at ${path}; use ${WS_PATH}.`);
    if (!this.#accepting) return rejectUpgrade(socket, 'SERVER_SHUTTING_DOWN');
    let identity: UpgradeIdentity;
    try {
      identity = await authenticateUpgrade(req, {
        tokens: this.#deps.tokens,
        tickets: this.#deps.tickets,
        allowedOrigins: this.#opts.allowedOrigins,
      });
    } catch (error) {
      if (error instanceof AppError && error.code === 'FORBIDDEN') {
        // Authenticated but not allowed (a non-admin asking for an admin socket): a browser cannot
        // read an HTTP 403 on a failed upgrade, so accept and close with 4003, which clients do not retry.
        this.#deps.logger.warn({ code: error.code }, 'websocket upgrade refused');
        this.#wss.handleUpgrade(req, socket, head, (ws) => ws.close(CloseCode.forbidden, error.message));
        return;
      }
      if (error instanceof AppError) {
        this.#deps.logger.warn({ code: error.code, origin: req.headers.origin }, 'websocket upgrade refused');
        return rejectUpgrade(socket, error.code, error.message);
      }
      this.#deps.logger.error({ err: error }, 'websocket upgrade failed');
      return rejectUpgrade(socket, 'INTERNAL');
    }
    if (socket.destroyed) return;
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, identity));
  }

  #onConnection(socket: WebSocket, identity: UpgradeIdentity): void {
    const { local, bus, presence, events, logger } = this.#deps;
    const info: ConnectionInfo = {
      connectionId: randomUUID(),
      userId: identity.userId,
      role: identity.role,
      deviceType: identity.deviceType,
      connectionType: identity.connectionType,
      instanceId: this.#opts.instanceId,
      connectedAt: new Date(),
    };
    const connection: LocalConnection = { info, socket, alive: true, held: identity.holdUntilResume ? [] : null };
    const abort = new AbortController();
    const log = logger.child({ connectionId: info.connectionId, userId: info.userId });
    const session = new ConnectionSession(connection, abort.signal, {
      chat: this.#deps.chat,
      broadcasting: this.#deps.broadcasting.withLogger(log),
      resume: this.#deps.resume,
      logger: log,
    });
    if (connection.held) {
      // A client that asked to resume but never sends `resume` still gets its live frames.
      // The first `resume` clears this timer (held-frames.ts hold()).
      connection.holdTimer = setTimeout(() => release(connection, new Map()), RESUME_HOLD_MS);
      connection.holdTimer.unref();
      abort.signal.addEventListener('abort', () => clearTimeout(connection.holdTimer), { once: true });
    }

    socket.on('error', (error) => log.warn({ err: error }, 'websocket error'));
    socket.on('pong', () => {
      connection.alive = true;
    });
    socket.on('message', (data, isBinary) => session.receive(data, isBinary));

    // Subscribe before announcing `connected`, so nothing sent after the client sees it is missed.
    const firstForUser = local.add(connection);
    const ready = (async () => {
      if (firstForUser) await bus.subscribeUser(info.userId);
      await presence.add(info);
      return this.#deps.resume.heads(info.userId);
    })();
    ready.then(
      (heads) => {
        if (abort.signal.aborted) return;
        events.emit('connection.opened', { connection: info });
        if (firstForUser) events.emit('presence.changed', { userId: info.userId, online: true });
        log.info({ deviceType: info.deviceType, connectionType: info.connectionType }, 'websocket connected');
        socket.send(
          encodeFrame(
            serverFrame(ServerAction.connected, {
              connection_id: info.connectionId,
              user_id: info.userId,
              role: info.role,
              device_type: info.deviceType,
              connection_type: info.connectionType,
              heartbeat_interval_ms: this.#opts.heartbeatIntervalMs,
              max_payload_bytes: this.#opts.maxPayloadBytes,
              max_reconnect_attempts: this.#opts.maxReconnectAttempts,
              user_seq: heads.userSeq,
              global_seq: heads.globalSeq,
            }),
          ),
        );
      },
      (error: unknown) => {
        log.error({ err: error }, 'registering connection failed');
        socket.close(CloseCode.internalError, 'registration failed');
      },
    );

    const settled = new Promise<void>((resolve) => {
      socket.once('close', (code, reasonBuffer) => {
        abort.abort();
        socket.removeAllListeners('message');
        socket.removeAllListeners('pong');
        // Clean up only after registration settled, so a fast close cannot leave a ghost.
        void ready
          .catch(() => undefined)
          .then(() => this.#cleanup(info, code, reasonBuffer.toString()))
          .catch((error: unknown) => log.error({ err: error }, 'connection cleanup failed'))
          .finally(() => {
            this.#sessions.delete(info.connectionId);
            resolve();
          });
      });
    });
    this.#sessions.set(info.connectionId, { session, settled });
  }

  async #cleanup(info: ConnectionInfo, code: number, reason: string): Promise<void> {
    const removed = this.#deps.local.remove(info.connectionId);
    // Issue the unsubscribe before any await: a new socket of the same user arriving during the
    // awaits below subscribes AFTER it, so the user never ends up unsubscribed with a live socket.
    const unsubscribed = removed?.lastForUser ? this.#deps.bus.unsubscribeUser(info.userId) : undefined;
    await this.#deps.presence.remove(info.connectionId);
    await unsubscribed;
    if (removed?.lastForUser) this.#deps.events.emit('presence.changed', { userId: info.userId, online: false });
    this.#deps.events.emit('connection.closed', { connection: info, code, reason });
    this.#deps.logger.info({ connectionId: info.connectionId, userId: info.userId, code }, 'websocket disconnected');
  }

  #beat(): void {
    for (const connection of this.#deps.local.all()) {
      if (!connection.alive) {
        this.#deps.logger.warn(
          { connectionId: connection.info.connectionId, userId: connection.info.userId },
          'heartbeat timeout: terminating connection',
        );
        // Say why when the peer can still hear it; cut the TCP connection if it does not answer.
        connection.socket.close(CloseCode.heartbeatTimeout, 'heartbeat timeout');
        setTimeout(() => connection.socket.terminate(), HEARTBEAT_CLOSE_GRACE_MS).unref();
        continue;
      }
      if (connection.socket.readyState !== connection.socket.OPEN) continue;
      connection.alive = false;
      connection.socket.ping();
    }
  }
}

/** Resolves when `work` settles or after `ms`, whichever is first. */
function withDeadline(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    void work.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
