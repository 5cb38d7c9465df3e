/** Shapes shared by the orchestrator, the target servers and the load generator. */

export type TargetKind = 'ours' | 'socketio' | 'rawws';
export const TARGETS: readonly TargetKind[] = ['ours', 'socketio', 'rawws'];
export const TARGET_LABEL: Record<TargetKind, string> = {
  ours: 'ours',
  socketio: 'Socket.IO 4.8',
  rawws: 'raw ws',
};

/** A room (ours: a conversation) and the indices of the users who are its members. */
export interface RoomPlan {
  members: number[];
  /** ours: these members are consultants (staff), the others customers (scenario 7 with `--chatmix-staff`). */
  consultants?: number[];
}

/** Orchestrator -> target server. */
export type ServerCommand =
  | { type: 'setup'; users: number; rooms: RoomPlan[] }
  | { type: 'gc' }
  | { type: 'stats' }
  /** CPU profile of exactly a measured phase (inspector), written as a .cpuprofile file. */
  | { type: 'profile-start' }
  | { type: 'profile-stop'; file: string }
  | { type: 'heap-snapshot'; file: string }
  /** Outbound queue of every socket (slow-consumer scenario). */
  | { type: 'buffers' };

/** What a server has queued toward its clients, bytes; `closing` = sockets it closed that are not gone yet. */
export interface BufferStats {
  connections: number;
  /** Largest per-socket queue (ws bufferedAmount, plus Engine.IO's write buffer for Socket.IO). */
  maxQueuedBytes: number;
  totalQueuedBytes: number;
  closing: number;
  rss: number;
}

/** Target server -> orchestrator. */
export type ServerReply =
  | { type: 'listening'; port: number; ingressPort?: number }
  | { type: 'setup-done'; users: Array<{ id: string; token: string }>; rooms: string[] }
  | { type: 'gc-done'; rss: number; heapUsed: number }
  | { type: 'stats'; connections: number }
  | { type: 'profile-done'; file?: string }
  | { type: 'buffers'; stats: BufferStats }
  | { type: 'error'; message: string };

/** One simulated client, as the generator should open it. */
export interface ClientSpec {
  kind: TargetKind;
  /** http://127.0.0.1:<port> of the instance this client connects to. */
  url: string;
  /** Worker thread that owns it (publishers share a worker with their room's sentinel). */
  worker: number;
  /** ours: bearer token used to get a WS ticket. */
  token?: string;
  /** ours: the user id (publishers send as this user). */
  userId?: string;
  /** socketio/rawws: rooms to join. ours: membership lives in the database. */
  rooms: string[];
  /** Publish into this room (a publisher is not a subscriber). */
  publishTo?: string;
  /** ours publishers: 'ingress' = bench ingress -> BroadcastingService; 'chat' = WS send_message (persisted). */
  publishVia?: 'ingress' | 'chat';
  /** ours ingress: ws://127.0.0.1:<port> of the bench ingress on the same instance. */
  ingressUrl?: string;
  /** Deliveries of this room to this client complete the publisher's closed-loop window. */
  sentinelFor?: string;
  /** Open loop: this publisher's own rate (msg/s) and body size, instead of the run's. */
  rate?: number;
  bodyBytes?: number;
  /** Open loop: offset in [0, 1) of a period, so many publishers at the same rate do not send in lock-step. */
  phase?: number;
  /** The slow consumer (scenario 5): can stop reading; its deliveries are counted apart. */
  slow?: boolean;
  /**
   * ours chat members (scenario 7 with `--chatmix-reads`): mark every `new_message` from another
   * member read, as the web app's open chat view does, through the SDK's ReadReceipts with this
   * interval (ms; 0: a `read` frame per message).
   */
  readReceiptIntervalMs?: number;
  /** Storm client (scenario 6): reconnects by itself (ours: @anmei/client; peers: their own loop). */
  storm?: boolean;
}

export interface RunOptions {
  mode: 'open' | 'closed';
  /** open loop: messages per second per publisher. */
  ratePerPublisher: number;
  /** closed loop: messages in flight per publisher. */
  window: number;
  bodyBytes: number;
}

/** Orchestrator -> generator (and generator main thread -> workers). */
export type GeneratorCommand =
  | { type: 'connect'; specs: ClientSpec[]; concurrency: number }
  | { type: 'start'; options: RunOptions }
  /** Every publisher sends `count` messages at once (the smoke test's deterministic load). */
  | { type: 'burst'; count: number; bodyBytes: number }
  | { type: 'reset' }
  | { type: 'snapshot' }
  | { type: 'stop' }
  | { type: 'close' }
  /** Slow consumer: stop reading from its TCP socket, or read again. */
  | { type: 'slow'; paused: boolean }
  /** From now on clients connect to `to` wherever they were sent to `from` (a load balancer's new route). */
  | { type: 'reroute'; from: string; to: string }
  | { type: 'storm-status' }
  /** Scenario 8, untimed: hold `specs` for the next `connect-rate-run` and get what `path` needs beforehand (ours' tickets). */
  | { type: 'connect-rate-prepare'; specs: ClientSpec[]; path: ConnectPath }
  /** Scenario 8, timed: open every prepared connection, `concurrency` attempts in flight, and keep them open. */
  | { type: 'connect-rate-run'; concurrency: number };

/**
 * Scenario 8, how a connection is opened. `upgrade`: the upgrade alone (ours: with a ticket
 * fetched beforehand); `full`: ours' `POST /api/v1/ws/ticket` + upgrade; `resume`: ours' upgrade
 * with the `resume_ticket` of the previous phase's `connected` frame.
 */
export type ConnectPath = 'upgrade' | 'full' | 'resume';

/**
 * One connection of scenario 8, µs since the epoch (one clock for every thread). `accepted` =
 * the first application handshake completed: ours' `connected` frame, Socket.IO's `connect`
 * event, raw ws's `open` (it has no application handshake).
 */
export interface ConnectTiming {
  /** The attempt started (full path: the ticket request; otherwise the WebSocket was created). */
  start: number;
  /** Full path: the ticket's answer arrived. */
  ticket?: number;
  /** ours: the socket opened (HTTP 101). */
  open?: number;
  accepted: number;
}

/** One worker's (or the merged) result of a `connect-rate-run`. */
export interface ConnectRateReport {
  timings: ConnectTiming[];
  failed: number;
  firstError?: string;
  /** ours: `connected` frames that carried a `resume_ticket`. */
  resumeTickets: number;
}

/** The slow consumer as the generator saw it. */
export interface SlowStatus {
  delivered: number;
  /** Send time (µs, epoch) of the last payload it received; 0 = none. */
  lastSentMicros: number;
  /** Close code (Socket.IO: its disconnect reason) and when it was seen, epoch ms; null while open. */
  closeCode: number | string | null;
  closedAt: number | null;
}

/** Storm clients: how many are open, and each reconnect's time since it lost its connection. */
export interface StormStatus {
  clients: number;
  open: number;
  /** Epoch ms at which each client opened again after losing its connection (one entry per reconnect). */
  reopenedAt: number[];
  /** Epoch ms at which each client lost its connection. */
  lostAt: number[];
  /** Failed attempts (refused, timed out) seen by the storm clients. */
  failedAttempts: number;
  /** ours only: epoch ms at which a client asked for a ticket, and at which it got one (one entry per request). */
  ticketRequestedAt: number[];
  ticketReceivedAt: number[];
}

export interface Snapshot {
  delivered: number;
  published: number;
  /** Open loop: sends skipped because the publisher's socket was backed up. */
  skipped: number;
  histogram: { counts: number[]; max: number };
  /** Clients whose socket closed unexpectedly. */
  dropped: number;
  /** Present when a slow consumer exists (scenario 5). */
  slow?: SlowStatus;
}

/** Generator -> orchestrator (and workers -> generator main thread). */
export type GeneratorReply =
  | { type: 'ready' }
  | { type: 'connected'; connected: number; failed: number; firstError?: string }
  | { type: 'ok' }
  | { type: 'snapshot'; snapshot: Snapshot }
  | { type: 'storm'; status: StormStatus }
  /** `missing`: prepared specs without what their path needs (a `resume` phase without resume tickets). */
  | { type: 'connect-rate-ready'; prepared: number; missing: number }
  | { type: 'connect-rate'; report: ConnectRateReport }
  | { type: 'error'; message: string };
