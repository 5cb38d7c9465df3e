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
}

/** Orchestrator -> target server. */
export type ServerCommand =
  | { type: 'setup'; users: number; rooms: RoomPlan[] }
  | { type: 'gc' }
  | { type: 'stats' }
  /** CPU profile of exactly a measured phase (inspector), written as a .cpuprofile file. */
  | { type: 'profile-start' }
  | { type: 'profile-stop'; file: string }
  | { type: 'heap-snapshot'; file: string };

/** Target server -> orchestrator. */
export type ServerReply =
  | { type: 'listening'; port: number; ingressPort?: number }
  | { type: 'setup-done'; users: Array<{ id: string; token: string }>; rooms: string[] }
  | { type: 'gc-done'; rss: number; heapUsed: number }
  | { type: 'stats'; connections: number }
  | { type: 'profile-done'; file?: string }
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
  | { type: 'close' };

export interface Snapshot {
  delivered: number;
  published: number;
  /** Open loop: sends skipped because the publisher's socket was backed up. */
  skipped: number;
  histogram: { counts: number[]; max: number };
  /** Clients whose socket closed unexpectedly. */
  dropped: number;
}

/** Generator -> orchestrator (and workers -> generator main thread). */
export type GeneratorReply =
  | { type: 'ready' }
  | { type: 'connected'; connected: number; failed: number; firstError?: string }
  | { type: 'ok' }
  | { type: 'snapshot'; snapshot: Snapshot }
  | { type: 'error'; message: string };
