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
