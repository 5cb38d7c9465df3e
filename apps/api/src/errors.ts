/**
 * The one error type handlers throw. It carries a catalogued code (packages/protocol
 * codes.ts) so HTTP answers with a problem response and WS with an error frame or close code.
 */
import { type ErrorCode, ErrorCodes } from '@anmei/protocol';

export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra, safe-to-show detail (e.g. which field was wrong). */
  readonly issues: string[] | undefined;

  constructor(code: ErrorCode, detail?: string, issues?: string[]) {
    super(detail ?? ErrorCodes[code].message);
    this.code = code;
    this.status = ErrorCodes[code].status;
    this.issues = issues;
  }
}

/**
 * A refusal that passes with time (a rate limit, a connection cap): HTTP answers carry
 * `Retry-After` (whole seconds, rounded up), error frames `retry_after_ms`.
 */
export class RetryLaterError extends AppError {
  override name = 'RetryLaterError';
  /** ms until trying again may succeed. */
  readonly retryAfterMs: number;

  constructor(code: 'RATE_LIMITED' | 'TOO_MANY_CONNECTIONS', detail: string, retryAfterMs: number) {
    super(code, detail);
    this.retryAfterMs = Math.max(0, Math.ceil(retryAfterMs));
  }

  /** The `Retry-After` header value: seconds, at least 1 (0 would invite an immediate retry). */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }
}

/** RFC 9457 problem details, plus our catalogued `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance?: string;
  issues?: string[];
}

export function toProblem(code: ErrorCode, detail: string | undefined, instance?: string, issues?: string[]): Problem {
  const def = ErrorCodes[code];
  return {
    type: `urn:anmei:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: def.message,
    status: def.status,
    code,
    detail: detail ?? def.message,
    ...(instance ? { instance } : {}),
    ...(issues && issues.length > 0 ? { issues } : {}),
  };
}
