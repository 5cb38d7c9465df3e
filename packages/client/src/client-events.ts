/** The client's typed lifecycle events; every payload that describes an ending carries `{code, reason}`. */

import type { ErrorCode } from '@anmei/protocol';
import type { ReloadNotice } from './delivery-tracker.ts';
import type { PendingMessage, SendResult, UiFrame } from './message-adapter.ts';
import type { SendError } from './send-error.ts';
import type { CloseInfo, StateChange, StateOf } from './state-machine.ts';

export type ClientErrorCode =
  /** A handler threw or rejected; `action` says which. Other handlers still ran. */
  | 'HANDLER_FAILED'
  /** The server sent a frame the codec could not decode; it was skipped. */
  | 'UNDECODABLE_FRAME'
  /** An `error` frame that answers no pending send (e.g. for a typing or read frame) and is no passing refusal of a `resume`. */
  | 'SERVER_ERROR'
  | 'TICKET_FAILED'
  | 'CONNECT_TIMEOUT'
  /** The socket failed before the `connected` frame (a refused upgrade looks like this in browsers). */
  | 'CONNECTION_FAILED'
  | 'HEARTBEAT_TIMEOUT'
  | 'UNAUTHORIZED'
  | 'RECONNECT_EXHAUSTED'
  /** The server closed with a code that must not be retried (4003, 4008). */
  | 'CLOSED_BY_SERVER'
  /**
   * The outbox storage failed to load, put or delete (`cause` has its error). Messages are still
   * sent from memory; they may not survive a reload.
   */
  | 'STORAGE_FAILED';

export interface ClientError {
  code: ClientErrorCode;
  reason: string;
  /** When it happened, epoch ms. */
  at: number;
  action?: string;
  serverCode?: ErrorCode;
  closeCode?: number;
  cause?: unknown;
}

export interface ClientEventMap {
  state: StateChange;
  open: StateOf<'open'>;
  /** A connection or attempt ended; `willRetry` tells whether the client reconnects by itself. */
  close: CloseInfo & { willRetry: boolean };
  error: ClientError;
  rtt: { rttMs: number };
  /** Every decoded server frame, in the UI model. */
  message: UiFrame;
  /** The server could not replay a gap (too large): reload this stream over HTTP, then `track()` it. */
  reload: ReloadNotice;
  /**
   * Pending messages loaded from the outbox storage (sent before a reload, or by another tab):
   * show them as pending. Each then ends in one `sent` or `sendFailed`, like a `send()`.
   */
  restored: { messages: PendingMessage[] };
  /** A send (from `send()` or restored) was acked; `result.duplicate` when the server had it already. */
  sent: { message: PendingMessage; result: SendResult };
  /** A send (from `send()` or restored) failed for good; `error.code` says why (e.g. EXPIRED). */
  sendFailed: { message: PendingMessage; error: SendError };
}
