/** Why a `send()` promise rejected. Program against `code`, not the message text. */
import type { ErrorCode } from '@anmei/protocol';

export type SendFailureCode =
  /** Content empty or over LIMITS.messageContentMaxChars, or a bad clientMessageId. Nothing was queued. */
  | 'INVALID'
  /** The encoded frame is larger than the outbox byte budget or the server's max payload. */
  | 'TOO_LARGE'
  /** The outbox is at its count or byte limit and the overflow policy is `reject-new`. */
  | 'OUTBOX_FULL'
  /** Evicted by a newer message under the `drop-oldest` overflow policy. */
  | 'DROPPED'
  /** No ack within the message's TTL. It may still have been stored: resending it with the same clientMessageId is safe. */
  | 'EXPIRED'
  /** The server answered with an `error` frame; see `serverCode`. */
  | 'SERVER_REJECTED'
  /** The client was disposed. A stored message stays in its storage, for the next page. */
  | 'DISPOSED'
  /**
   * The outbox changed owner (`setOutboxStorage()` with another storage, `discardPending()`,
   * `clearOutbox()`, e.g. on sign-out) before the message was acked. It was not sent as anyone
   * else; a stored message stays in its storage, except after `clearOutbox()`.
   */
  | 'DISCARDED';

export class SendError extends Error {
  override name = 'SendError';
  readonly code: SendFailureCode;
  readonly clientMessageId: string;
  /**
   * For SERVER_REJECTED: the protocol error code, e.g. NOT_PARTICIPANT. For EXPIRED: the server's
   * last transient answer (RATE_LIMITED, DATABASE_UNAVAILABLE or INTERNAL) if it gave one while the
   * message was retried.
   */
  readonly serverCode: ErrorCode | undefined;

  constructor(code: SendFailureCode, message: string, clientMessageId: string, serverCode?: ErrorCode) {
    super(message);
    this.code = code;
    this.clientMessageId = clientMessageId;
    this.serverCode = serverCode;
  }
}
