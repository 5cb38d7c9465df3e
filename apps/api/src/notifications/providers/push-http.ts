/**
 * What the HTTP push providers share: a failed attempt's shape, a raw answer, and the texts for
 * a push service that could not be reached. No I/O here; each provider keeps its own connection.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { PushResult } from '../types.ts';

export type Failure = Extract<PushResult, { ok: false }>;
export function failed(
  error: string,
  retryable: boolean,
  more?: { retryAfterMs?: number; targetGone?: true },
): Failure {
  return { ok: false, error, retryable, ...more };
}
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}
export type Posted = { answer: Answer } | { failure: string };

export const unreachable = (url: URL, reason: string) => failed(`could not reach ${url.host}: ${reason}`, true);
export const abandoned = (url: URL) =>
  failed(`the attempt to reach ${url.host} was abandoned (timeout or shutdown)`, true);

/** Untrusted JSON, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Statuses a later attempt may get past: timeouts, "too early", rate limits, server errors. */
const RETRYABLE_STATUSES = new Set([408, 425, 429]);

/** The one rule every HTTP push provider applies: 408, 425, 429 and 5xx may succeed later. */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status) || status >= 500;
}

/** Longest Retry-After honoured (ms): a gateway asking for more is treated as asking for this. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * `Retry-After` in ms: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); undefined when absent
 * or unreadable, so the policy's own backoff applies.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}
