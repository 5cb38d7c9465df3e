/**
 * Error and close codes, defined once and imported by the server and every client.
 *
 * Each error code has the HTTP status used when it is returned as a problem response,
 * and the WebSocket close code used when it ends a connection (`null` when the error is
 * reported with an `error` frame and the socket stays open).
 */

/** WebSocket close codes. 1000-1015 are RFC 6455; 4000-4999 are ours. */
export const CloseCode = {
  normal: 1000,
  /** Server is shutting down or draining; reconnect (to another instance). */
  goingAway: 1001,
  /**
   * A text frame was not valid UTF-8: the connection is failed at once (RFC 6455 §8.1), without an
   * `error` frame. Do not retry without fixing the client.
   */
  invalidPayload: 1007,
  /** The peer broke the protocol badly enough that the connection is ended. */
  policyViolation: 1008,
  /** A frame exceeded the configured maximum payload (WS_MAX_PAYLOAD). */
  messageTooBig: 1009,
  internalError: 1011,
  /** The peer stopped answering heartbeat pings. Sent only when the socket is still writable. */
  heartbeatTimeout: 4000,
  /** Credentials expired or were revoked while connected: get a new ticket, then reconnect. */
  unauthorized: 4001,
  /** The user may not use this connection type (e.g. a non-admin on an admin socket). Do not retry. */
  forbidden: 4003,
  /** Too many invalid frames in a short time. Do not retry without fixing the client. */
  tooManyInvalidFrames: 4008,
  /** The socket could not keep up: its send buffer stayed above the cap. Retry later. */
  slowConsumer: 4009,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which a client must not reconnect by itself. */
export const NON_RETRYABLE_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.forbidden,
  CloseCode.invalidPayload,
  CloseCode.tooManyInvalidFrames,
]);

export interface ErrorDefinition {
  /** HTTP status of the problem response carrying this error. */
  readonly status: number;
  /** Close code when this error ends a WebSocket connection; null when it does not. */
  readonly closeCode: CloseCode | null;
  /** Human-readable default text; a specific `detail` may be added where it is raised. */
  readonly message: string;
}

export const ErrorCodes = {
  // --- input
  VALIDATION_FAILED: { status: 400, closeCode: null, message: 'The request body or parameters are invalid.' },
  MALFORMED_JSON: { status: 400, closeCode: null, message: 'The frame is not valid JSON.' },
  UNKNOWN_ACTION: { status: 400, closeCode: null, message: 'The frame names an action this server does not know.' },
  INVALID_FRAME: { status: 400, closeCode: null, message: 'The frame does not match the schema of its action.' },
  BINARY_FRAME_UNSUPPORTED: {
    status: 400,
    closeCode: null,
    message: 'Binary frames are not supported; send JSON text frames.',
  },
  FRAME_TOO_LARGE: {
    status: 413,
    closeCode: CloseCode.messageTooBig,
    message: 'The frame exceeds the maximum payload size.',
  },
  TOO_MANY_INVALID_FRAMES: {
    status: 400,
    closeCode: CloseCode.tooManyInvalidFrames,
    message: 'Too many invalid frames; the connection is closed.',
  },
  // --- authentication and authorisation
  UNAUTHENTICATED: { status: 401, closeCode: CloseCode.unauthorized, message: 'Authentication is required.' },
  INVALID_CREDENTIALS: { status: 401, closeCode: null, message: 'Username or password is wrong.' },
  /** 403, not 401: the caller is signed in; only the password they typed to confirm a change is wrong. */
  CURRENT_PASSWORD_WRONG: { status: 403, closeCode: null, message: 'The current password is wrong.' },
  TOKEN_INVALID: { status: 401, closeCode: CloseCode.unauthorized, message: 'The access token is invalid or expired.' },
  TICKET_MISSING: {
    status: 401,
    closeCode: null,
    message: 'The WebSocket upgrade needs a ticket: POST /api/v1/ws/ticket, then connect with ?ticket=<ticket>.',
  },
  TICKET_INVALID: {
    status: 401,
    closeCode: null,
    message: 'The WebSocket ticket is invalid or expired; request a new one.',
  },
  TICKET_REUSED: {
    status: 401,
    closeCode: null,
    message: 'The WebSocket ticket was already used; tickets are single-use.',
  },
  ORIGIN_NOT_ALLOWED: {
    status: 403,
    closeCode: null,
    message: 'The Origin of this request is not in ALLOWED_ORIGINS.',
  },
  FORBIDDEN: { status: 403, closeCode: CloseCode.forbidden, message: 'Your role may not do this.' },
  NOT_PARTICIPANT: { status: 403, closeCode: null, message: 'You are not a participant of this conversation.' },
  // --- resources
  NOT_FOUND: { status: 404, closeCode: null, message: 'No such route.' },
  CONVERSATION_NOT_FOUND: { status: 404, closeCode: null, message: 'The conversation does not exist.' },
  USER_NOT_FOUND: { status: 404, closeCode: null, message: 'The user does not exist.' },
  DEVICE_NOT_FOUND: { status: 404, closeCode: null, message: 'You have no registered device with this id.' },
  USERNAME_TAKEN: { status: 409, closeCode: null, message: 'That username is already taken.' },
  CLIENT_MESSAGE_ID_CONFLICT: {
    status: 409,
    closeCode: null,
    message: 'This client_message_id was already used for a message in another conversation.',
  },
  PAYLOAD_TOO_LARGE: { status: 413, closeCode: null, message: 'The request body is too large.' },
  /** The request line and headers exceed Node's limit (16 KiB): usually a URL far too long. */
  HEADERS_TOO_LARGE: {
    status: 431,
    closeCode: null,
    message: 'The request line and headers are too large.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    closeCode: null,
    message: 'The Content-Type of the request is not supported.',
  },
  // --- connection health
  HEARTBEAT_TIMEOUT: { status: 408, closeCode: CloseCode.heartbeatTimeout, message: 'No heartbeat answer in time.' },
  SLOW_CONSUMER: {
    status: 503,
    closeCode: CloseCode.slowConsumer,
    message: 'The connection could not keep up with its messages.',
  },
  SERVER_SHUTTING_DOWN: {
    status: 503,
    closeCode: CloseCode.goingAway,
    message: 'The server is shutting down; reconnect.',
  },
  // --- server
  /** A rate limit (docs/operations.md "Limits"): HTTP answers carry `Retry-After`, error frames `retry_after_ms`. */
  RATE_LIMITED: { status: 429, closeCode: null, message: 'Too many requests; slow down.' },
  /**
   * A WebSocket upgrade over a cap on open connections (per user or per client address). Waiting
   * alone may not help: a slot frees when another connection of that user or address closes.
   */
  TOO_MANY_CONNECTIONS: {
    status: 429,
    closeCode: null,
    message: 'Too many open WebSocket connections; close one before opening another.',
  },
  /**
   * The database did not answer in time or could not be reached (docs/operations.md "Database
   * stalls"). Retryable: a send may or may not have been stored, so resend it with the same
   * client_message_id (stored at most once). Over HTTP with `Retry-After`.
   */
  DATABASE_UNAVAILABLE: {
    status: 503,
    closeCode: null,
    message: 'The database is not answering; try again later.',
  },
  /**
   * A service the request needs besides the database did not answer: Redis (WebSocket tickets,
   * presence, the bus) while it is unreachable (docs/operations.md "When Redis is unreachable"), or
   * the attachments' object storage (docs/operations.md "Attachments on object storage").
   * Retryable, with `Retry-After` over HTTP.
   */
  SERVICE_UNAVAILABLE: {
    status: 503,
    closeCode: null,
    message: 'A service this request needs is not answering; try again later.',
  },
  /**
   * GET /ready: this instance should get no traffic now (database or Redis unreachable, a migration
   * missing, or draining); the problem's `checks` say which (docs/operations.md "Health and readiness").
   */
  NOT_READY: {
    status: 503,
    closeCode: null,
    message: 'This instance is not ready to serve traffic; see `checks`.',
  },
  INTERNAL: {
    status: 500,
    closeCode: CloseCode.internalError,
    message: 'An internal error occurred; it has been logged.',
  },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ErrorCodes;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value);
}
