/**
 * The connection's state as an explicit machine: every state has its own data, and only the
 * transitions in TRANSITIONS are allowed, so an impossible sequence (e.g. `failed` -> `open`
 * without a new attempt) is a bug that throws instead of a UI that silently lies.
 */
import type { ConnectionType, DeviceType, Role, ServerDataOf } from '@anmei/protocol';

/** A WebSocket close code and reason (RFC 6455 codes, our 4000-4999, or 1006 for a dropped connection). */
export interface CloseInfo {
  code: number;
  reason: string;
}

export type ConnectionState =
  /** Created, never asked to connect. */
  | { status: 'idle' }
  /** Getting a ticket, opening the socket and waiting for the server's `connected` frame. 0 = first try. */
  | { status: 'connecting'; attempt: number }
  | {
      status: 'open';
      connectionId: string;
      userId: string;
      role: Role;
      deviceType: DeviceType;
      connectionType: ConnectionType;
      /** Server ping interval announced in `connected`, ms. */
      heartbeatIntervalMs: number;
      /** Largest frame the server accepts, bytes. */
      maxPayloadBytes: number;
      /** Ends of this user's direct-message stream and the global-notice stream at connect time. */
      userSeq: number;
      globalSeq: number;
      /** Clock time the connection opened, epoch ms. */
      openedAt: number;
    }
  | {
      status: 'reconnecting';
      /** Retry number counted against maxAttempts; 0 when the server asked us to move (not counted). */
      attempt: number;
      maxAttempts: number;
      /** When the next attempt starts, epoch ms. */
      nextRetryAt: number;
      delayMs: number;
      /** Why the previous connection or attempt ended. */
      cause: CloseInfo;
    }
  /** The browser reports no network; no attempt is made until it is back. */
  | { status: 'offline' }
  /** Closed on purpose (disconnect(), page hidden) or by a close code that must not be retried. */
  | { status: 'closed'; code: number; reason: string }
  /** The ticket/token endpoint refused us even after one token refresh: log in again. */
  | { status: 'unauthorized'; reason: string }
  /** maxReconnectAttempts retries failed. */
  | { status: 'failed'; code: number; reason: string; attempts: number };

export type ConnectionStatus = ConnectionState['status'];
export type StateOf<S extends ConnectionStatus> = Extract<ConnectionState, { status: S }>;

/** From a resting state the only ways out are a new connect() (which may find no network) or a close. */
const RESTARTABLE = ['connecting', 'offline', 'closed'] as const;
export const TRANSITIONS: Readonly<Record<ConnectionStatus, readonly ConnectionStatus[]>> = {
  idle: ['connecting', 'offline', 'closed'],
  connecting: ['connecting', 'open', 'reconnecting', 'offline', 'closed', 'unauthorized', 'failed'],
  open: ['connecting', 'reconnecting', 'offline', 'closed', 'failed'],
  reconnecting: ['connecting', 'reconnecting', 'offline', 'closed', 'failed'],
  offline: ['connecting', 'closed'],
  closed: RESTARTABLE,
  unauthorized: RESTARTABLE,
  failed: RESTARTABLE,
};

export class InvalidTransitionError extends Error {
  override name = 'InvalidTransitionError';
  constructor(from: ConnectionStatus, to: ConnectionStatus) {
    super(
      `Invalid connection state transition ${from} -> ${to}; allowed from ${from}: ${TRANSITIONS[from].join(', ')}.`,
    );
  }
}

export interface StateChange {
  state: ConnectionState;
  previous: ConnectionState;
}

export class ConnectionStateMachine {
  #state: ConnectionState = { status: 'idle' };
  readonly #onChange: (change: StateChange) => void;

  constructor(onChange: (change: StateChange) => void) {
    this.#onChange = onChange;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get status(): ConnectionStatus {
    return this.#state.status;
  }

  is<S extends ConnectionStatus>(...statuses: S[]): boolean {
    return (statuses as ConnectionStatus[]).includes(this.#state.status);
  }

  canTransition(to: ConnectionStatus): boolean {
    return TRANSITIONS[this.#state.status].includes(to);
  }

  /** Moves to `next` (a fresh object, so snapshots compare by reference) or throws InvalidTransitionError. */
  transition(next: ConnectionState): void {
    const previous = this.#state;
    if (!this.canTransition(next.status)) throw new InvalidTransitionError(previous.status, next.status);
    this.#state = Object.freeze({ ...next });
    this.#onChange({ state: this.#state, previous });
  }
}

/** The `open` state for a server's `connected` frame. */
export function openState(connected: ServerDataOf<'connected'>, now: number): StateOf<'open'> {
  return {
    status: 'open',
    connectionId: connected.connection_id,
    userId: connected.user_id,
    role: connected.role,
    deviceType: connected.device_type,
    connectionType: connected.connection_type,
    heartbeatIntervalMs: connected.heartbeat_interval_ms,
    maxPayloadBytes: connected.max_payload_bytes,
    userSeq: connected.user_seq,
    globalSeq: connected.global_seq,
    openedAt: now,
  };
}
