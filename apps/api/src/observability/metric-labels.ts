/**
 * Label values, buckets and shapes of this instance's metrics (metrics.ts): every label has one
 * of the bounded sets listed here, and each series starts at 0 (docs/operations.md "Metrics").
 */
import { CloseCode, type DeviceType, type ErrorCode, type Role } from '@anmei/protocol';

/** The BroadcastingService methods, as `broadcast.completed` names them (`kind`). */
export const BROADCAST_METHODS = [
  'message',
  'sender_sync',
  'consultation_reply',
  'mobile_notification',
  'typing_status',
  'read_status',
  'system_notification',
  'system_notification_all',
  'direct_message',
] as const;

/**
 * Every limit that refuses work (docs/operations.md "Limits"): the HTTP rules by their name in
 * http/rate-limits.ts, the upgrade limits of ws/connection-limits.ts, and a connection's frame
 * rate and queue (ws/connection-session.ts).
 */
export const RATE_LIMITS = [
  'login-ip',
  'login-username',
  'register-ip',
  'register-username',
  'ticket-user',
  'upload-user',
  'password-user',
  'ws-upgrade-ip',
  'ws-connections-ip',
  'ws-connections-user',
  'ws-frame-rate',
  'ws-frame-queue',
] as const;
export type RateLimitName = (typeof RATE_LIMITS)[number];

/** Close codes counted by their number; any other (a peer may send any 3000–4999) counts as `other`. */
export const KNOWN_CLOSE_CODES: readonly number[] = [
  ...new Set([...Object.values(CloseCode), 1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012]),
].sort((a, b) => a - b);

export type PushOutcome = 'success' | 'retryable' | 'permanent';
export type PushFinalState = 'delivered' | 'failed' | 'expired';
export const PUSH_OUTCOMES: readonly PushOutcome[] = ['success', 'retryable', 'permanent'];
export const PUSH_FINAL_STATES: readonly PushFinalState[] = ['delivered', 'failed', 'expired'];

export type ResumeStream = 'conversation' | 'user' | 'global';
export type ResumeStatus = 'recovered' | 'reload' | 'forbidden';

export const INVALID_FRAME_CODES = [
  'MALFORMED_JSON',
  'UNKNOWN_ACTION',
  'INVALID_FRAME',
  'BINARY_FRAME_UNSUPPORTED',
] as const satisfies readonly ErrorCode[];
export const RESUME_STREAMS: readonly ResumeStream[] = ['conversation', 'user', 'global'];
export const RESUME_STATUSES: readonly ResumeStatus[] = ['recovered', 'reload', 'forbidden'];
export const REDIS_CONNECTIONS = ['command', 'subscriber'] as const;

/** s: from 0.5 ms (a local publish) to 5 s (a stalled store). */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Messages per append statement: AppendBatcher's default maximum is 100. */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 100];

/** What the gauges read at scrape time; attached once the parts they read exist (`AppMetrics.watch`). */
export interface MetricSources {
  /** This instance's sockets, one pass over its users (LocalConnections.census). */
  census(): ConnectionCensus;
  /** The Postgres pool now; null on PGlite (one in-process connection, no pool: the gauges read 0). */
  pool(): { total: number; idle: number; waiting: number } | null;
  /** Pending push jobs (cluster-wide, from the database); rejects when the database does not answer. */
  pushQueue(): Promise<{ pending: number; oldestAgeSeconds: number | null }>;
  /** The Redis connections by role (`command`, `subscriber`) and whether each is ready; empty without Redis. */
  redisConnections(): ReadonlyArray<{ connection: string; up: boolean }>;
}

/** This instance's sockets by device type and role, and its distinct users (LocalConnections.census). */
export interface ConnectionCensus {
  connections: Record<DeviceType, Record<Role, number>>;
  /** Distinct users by role. */
  usersByRole: Record<Role, number>;
  /** Distinct users with at least one socket of the device type (a user on a phone and a desktop counts in both). */
  usersByDevice: Record<DeviceType, number>;
}

export interface AppMetricsOptions {
  /** Whether Redis is configured: its per-connection counters then start at 0. */
  redis: boolean;
  /** ms a push-queue read may take at scrape time before the gauges keep their last value. */
  pushQueueTimeoutMs: number;
  /** prom-client's default process and Node.js metrics (CPU, memory, event-loop lag, GC). Default true. */
  processMetrics?: boolean;
}
