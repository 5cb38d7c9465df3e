/**
 * What an error means at the WebSocket edge: a ws error on an open socket → its close code (ws
 * fails a connection itself when a frame breaks the protocol: invalid UTF-8, too big, … and
 * reports it as an 'error' with its own code; the gateway releases the connection at once under
 * the code ws sends); an error while authenticating an upgrade → a "try later" code when a store
 * did not answer; a failed step of a connection's bookkeeping → its log level.
 */
import { CloseCode } from '@anmei/protocol';
import { isDatabaseUnavailable } from '../db/db-common.ts';
import type { Logger } from '../observability/logger.ts';
import { isRedisUnavailable } from '../realtime/redis/clients.ts';

/** The close code ws sends when it fails a connection over a frame, by its error code (ws/lib/receiver.js). */
const WS_ERROR_CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_INVALID_UTF8: CloseCode.invalidPayload,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: CloseCode.messageTooBig,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: CloseCode.messageTooBig,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: CloseCode.policyViolation,
};

/** Every other ws frame error is a protocol error (1002); a transport error exchanges no close frame (1006). */
export function closeCodeOf(error: Error): number {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return WS_ERROR_CLOSE_CODES[code] ?? (code.startsWith('WS_ERR_') ? 1002 : 1006);
}

/** The "try later" code of an error that means a store did not answer (an outage, not a bug), else null. */
export function outageCodeOf(error: unknown): 'DATABASE_UNAVAILABLE' | 'SERVICE_UNAVAILABLE' | null {
  if (isDatabaseUnavailable(error)) return 'DATABASE_UNAVAILABLE';
  if (isRedisUnavailable(error)) return 'SERVICE_UNAVAILABLE';
  return null;
}

/**
 * Logs a failed step of a connection's bookkeeping in Redis or the database. A store that did not
 * answer is an outage, an expected state with its own recovery (the client reconnects after 1011;
 * presence and bus routes are re-synced when Redis is back): WARN, naming the store. Anything else
 * is a bug: ERROR `<step> failed`.
 */
export function logConnectionStepFailed(
  logger: Logger,
  fields: Record<string, unknown>,
  step: 'registering connection' | 'connection cleanup',
  error: unknown,
): void {
  const outage = outageCodeOf(error);
  if (outage === null) {
    logger.error({ ...fields, err: error }, `${step} failed`);
    return;
  }
  const store = outage === 'DATABASE_UNAVAILABLE' ? 'database' : 'redis';
  logger.warn({ ...fields, err: error }, `${store} unavailable: ${step} failed`);
}
