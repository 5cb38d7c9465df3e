/**
 * The delivery tracker's `resume` frames on the current socket: each carries a `request_id`, so
 * the server's answer (`resumed`, or an `error` that refused it) names the frame it answers.
 * A refused frame's streams are asked for again once, after the server's `retry_after_ms` or
 * else a backoff (1 s, doubling, at most 10 s); refusals arriving while a retry waits join it.
 * A new socket starts over (`reset()`): its `connected` resumes everything anyway.
 */
import { type ErrorCode, LIMITS, type ResumeFrame } from '@anmei/protocol';
import type { TimerHandle, Timers } from './timers.ts';

/** First retry delay when the server gave no `retry_after_ms`, ms; doubles per refusal in a row. */
export const RESUME_RETRY_BASE_MS = 1_000;
/** Largest retry delay without `retry_after_ms`, ms. */
export const RESUME_RETRY_MAX_MS = 10_000;

/**
 * Answers after which the same `resume` succeeds later: a limit (frame rate, frames waiting) or
 * a store that did not answer. Any other refusal means the frame itself is wrong; sending it
 * again cannot help.
 */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'RATE_LIMITED',
  'DATABASE_UNAVAILABLE',
  'SERVICE_UNAVAILABLE',
  'INTERNAL',
]);

export function isTransientRefusal(code: ErrorCode): boolean {
  return TRANSIENT.has(code);
}

export class ResumeRequests<Stream extends string> {
  readonly #timers: Timers;
  /** Sends a `resume` for these streams again (the tracker builds it from its positions then). */
  readonly #retry: (streams: readonly Stream[]) => void;
  /** Streams each unanswered `resume` named, by its request id. */
  readonly #outstanding = new Map<string, readonly Stream[]>();
  /** Streams of refused frames, waiting for the retry timer. */
  readonly #waiting = new Set<Stream>();
  #timer: TimerHandle | undefined = undefined;
  /** Refusals in a row since the last `resumed` (the backoff's exponent). */
  #refusals = 0;
  #counter = 0;

  constructor(deps: { timers: Timers; retry(streams: readonly Stream[]): void }) {
    this.#timers = deps.timers;
    this.#retry = deps.retry;
  }

  /** A new request id for a `resume` naming `streams`; forget it with `unsent()` if it could not be written. */
  issue(streams: readonly Stream[]): string {
    const requestId = `resume-${++this.#counter}`;
    this.#outstanding.set(requestId, streams);
    return requestId;
  }

  unsent(requestId: string): void {
    this.#outstanding.delete(requestId);
  }

  /** Whether `requestId` is one of ours still unanswered. */
  owns(requestId: string | null): requestId is string {
    return requestId !== null && this.#outstanding.has(requestId);
  }

  /** The server answered `resumed`: the streams that frame named (empty when it was not ours). */
  answered(requestId: string | null): readonly Stream[] {
    if (!this.owns(requestId)) return [];
    const streams = this.#outstanding.get(requestId)!;
    this.#outstanding.delete(requestId);
    this.#refusals = 0;
    return streams;
  }

  /** The server refused the frame `requestId`: forget it and return the streams it named. */
  refused(requestId: string): readonly Stream[] {
    const streams = this.#outstanding.get(requestId) ?? [];
    this.#outstanding.delete(requestId);
    return streams;
  }

  /** Ask for `streams` again after `retryAfterMs` (the server's word) or the backoff. */
  schedule(streams: readonly Stream[], retryAfterMs?: number): void {
    if (streams.length === 0) return;
    for (const stream of streams) this.#waiting.add(stream);
    this.#refusals++;
    if (this.#timer !== undefined) return;
    const backoff = Math.min(RESUME_RETRY_MAX_MS, RESUME_RETRY_BASE_MS * 2 ** Math.min(this.#refusals - 1, 10));
    const delay = retryAfterMs !== undefined && retryAfterMs >= 0 ? retryAfterMs : backoff;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      const due = [...this.#waiting];
      this.#waiting.clear();
      this.#retry(due);
    }, delay);
  }

  /** Whether a retry is waiting for its timer. */
  get scheduled(): boolean {
    return this.#timer !== undefined;
  }

  /** The socket is gone (or the client disposed): nothing outstanding, no retry left behind. */
  reset(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting.clear();
    this.#outstanding.clear();
    this.#refusals = 0;
  }
}

/**
 * The `resume` frames for `only` (every stream with a position when null), from `cursor`
 * (`m:<id>` messages, `e:<id>` events, `u` user, `g` global): one frame per
 * LIMITS.resumeMaxConversations conversations, the user and global streams in the first one.
 * Each comes with the streams it names.
 */
export function resumeFrames(
  cursor: ReadonlyMap<string, number>,
  only: readonly string[] | null,
): Array<{ data: ResumeFrame['data']; streams: string[] }> {
  const ids = new Set<string>();
  for (const stream of only ?? cursor.keys()) {
    if (stream.startsWith('m:') || stream.startsWith('e:')) ids.add(stream.slice(2));
  }
  const all = [...ids];
  const frames: Array<{ data: ResumeFrame['data']; streams: string[] }> = [];
  for (let i = 0; i === 0 || i < all.length; i += LIMITS.resumeMaxConversations) {
    const chunk = all.slice(i, i + LIMITS.resumeMaxConversations);
    const data: ResumeFrame['data'] = {
      conversations: chunk.map((id) => ({
        conversation_id: id,
        last_seq: cursor.get(`m:${id}`) ?? 0,
        last_event_seq: cursor.get(`e:${id}`) ?? 0,
      })),
    };
    const streams = chunk.flatMap((id) => [`m:${id}`, `e:${id}`]);
    if (i === 0 && (only === null || only.includes('u'))) {
      data.user_seq = cursor.get('u') ?? 0;
      streams.push('u');
    }
    if (i === 0 && (only === null || only.includes('g'))) {
      data.global_seq = cursor.get('g') ?? 0;
      streams.push('g');
    }
    frames.push({ data, streams });
  }
  return frames;
}
