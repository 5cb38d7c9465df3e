/**
 * What to do after the server closed an OPEN connection, by close code (docs/protocol.md,
 * "Close codes"). Failures before the `connected` frame (a refused upgrade shows up in a
 * browser only as 1006) are always retried with a fresh ticket.
 */
import { CloseCode, NON_RETRYABLE_CLOSE_CODES } from '@anmei/protocol';

export type CloseDecision =
  /** Do not reconnect by itself (4003 forbidden, 4008 too many invalid frames). */
  | 'stop'
  /** Credentials expired or were revoked (4001): refresh the token, then reconnect. */
  | 'refresh-auth'
  /** Reconnect with backoff and a new ticket. */
  | 'retry';

export function decideAfterClose(code: number): CloseDecision {
  if (NON_RETRYABLE_CLOSE_CODES.has(code)) return 'stop';
  if (code === CloseCode.unauthorized) return 'refresh-auth';
  return 'retry';
}

const NAMES: ReadonlyMap<number, string> = new Map([
  ...Object.entries(CloseCode).map(([name, code]) => [code, name] as const),
  [1006, 'abnormalClosure'],
]);

/** `goingAway` for 1001 etc.; `unknown` for codes we do not define. */
export function closeCodeName(code: number): string {
  return NAMES.get(code) ?? 'unknown';
}
