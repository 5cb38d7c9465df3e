/**
 * Effectively-once, in-order delivery on top of an at-least-once wire (docs/delivery.md).
 *
 * Keeps, per stream (a conversation's messages, its events, my direct messages, global notices),
 * the highest position delivered. A frame at or below it is a duplicate and is dropped. Messages,
 * conversation events and direct messages are gap-free for every socket (an event that is not
 * for this socket arrives as `event_skipped`, which moves the position and is not handed on), so
 * a frame further ahead than the next is held and a `resume` for that stream is requested: the
 * server replays the gap and the held frames follow in order. Global notices may skip numbers and
 * are delivered at once. After every (re)connect the client sends `resume` with all its
 * positions; a `positions` frame (the stream heads, sent after a Redis outage and periodically)
 * makes it resume every stream it is behind on. A stream the server cannot replay (`reload`) is
 * reported so the app reloads it over HTTP and calls `track()` again. Every `resume` carries a
 * `request_id`: one the server refuses (an `error` frame, e.g. RATE_LIMITED) is sent again later
 * (resume-requests.ts), never left unanswered while frames wait for it.
 */
import { type ResumeFrame, type ServerFrame, streamPositionOf } from '@anmei/protocol';
import { isTransientRefusal, ResumeRequests, resumeFrames } from './resume-requests.ts';
import type { Timers } from './timers.ts';

export interface DeliveryStats {
  /** Durable frames handed to the app (live and replayed). */
  delivered: number;
  /** Of those, frames the server replayed (from its `resumed` answers). */
  replayed: number;
  /** Frames dropped because they were already delivered. */
  duplicates: number;
  /** Streams a `resume` was sent for because a position jumped or a `positions` frame showed them behind. */
  gapRepairs: number;
  /** Streams the server answered with `reload`, or whose `resume` it refused for good. */
  reloads: number;
  /** `resume` frames sent again because the server refused one (RATE_LIMITED, DATABASE_UNAVAILABLE, …). */
  resumeRetries: number;
}

export interface ReloadNotice {
  /** The conversation to reload over HTTP, or null for the user / global streams. */
  conversationId: string | null;
  stream: 'conversation' | 'user' | 'global';
}

type Stream = string; // `m:<id>` messages, `e:<id>` conversation events, `u` user, `g` global

interface Located {
  stream: Stream;
  position: number;
  id: string | null;
}

/** Ids remembered for duplicate detection where positions cannot tell (global notices). */
const SEEN_IDS = 5_000;

export class DeliveryTracker {
  readonly #cursor = new Map<Stream, number>();
  /** Frames waiting for a gap to fill; null marks a position known from our own send's ack (nothing to hand over). */
  readonly #held = new Map<Stream, Map<number, ServerFrame | null>>();
  readonly #seen = new Set<string>();
  /**
   * Streams being repaired. Invariant: a stream in here has a `resume` naming it outstanding on
   * the current socket, or a retry of one the server refused scheduled (#requests). Its held
   * frames and its `positions` checks wait on that answer, so an answer that never comes would
   * hold them for good: every path that ends a request without filling the gap (refusal, an
   * answer that leaves the stream out, a frame that could not be written) removes or re-asks.
   */
  readonly #requested = new Set<Stream>();
  readonly #requests: ResumeRequests<Stream>;
  readonly #sendResume: (data: ResumeFrame['data'], requestId: string) => boolean;
  readonly #onReload: (notice: ReloadNotice) => void;
  #stats: DeliveryStats = { delivered: 0, replayed: 0, duplicates: 0, gapRepairs: 0, reloads: 0, resumeRetries: 0 };

  constructor(deps: {
    sendResume(data: ResumeFrame['data'], requestId: string): boolean;
    onReload(notice: ReloadNotice): void;
    timers: Timers;
  }) {
    this.#sendResume = deps.sendResume;
    this.#onReload = deps.onReload;
    this.#requests = new ResumeRequests<Stream>({
      timers: deps.timers,
      retry: (streams) => {
        this.#stats.resumeRetries++;
        this.#resume(streams);
      },
    });
  }

  stats(): DeliveryStats {
    return { ...this.#stats };
  }

  /**
   * Start tracking a conversation from positions the app already has (e.g. from HTTP history).
   * Positions only move forward: a history page fetched while newer frames were being delivered
   * must not rewind the cursor, or those frames would be taken for a gap's replay and dropped
   * as duplicates (their ids are remembered) after the app's view had lost them.
   */
  track(conversationId: string, positions: { lastSeq: number; lastEventSeq?: number }): void {
    const m = `m:${conversationId}`;
    const e = `e:${conversationId}`;
    this.#cursor.set(m, Math.max(this.#cursor.get(m) ?? 0, positions.lastSeq));
    // Without a known event position the stream starts at its first event frame (as untracked).
    if (positions.lastEventSeq !== undefined || this.#cursor.has(e)) {
      this.#cursor.set(e, Math.max(this.#cursor.get(e) ?? 0, positions.lastEventSeq ?? 0));
    }
  }

  /** Positions the client has, per conversation (for tests and for a UI's own cache). */
  positions(conversationId: string): { lastSeq: number | null; lastEventSeq: number | null } {
    return {
      lastSeq: this.#cursor.get(`m:${conversationId}`) ?? null,
      lastEventSeq: this.#cursor.get(`e:${conversationId}`) ?? null,
    };
  }

  /** After `connected`: first connect adopts the server's stream ends; every connect resumes. */
  connected(heads: { userSeq: number; globalSeq: number }): void {
    if (!this.#cursor.has('u')) this.#cursor.set('u', heads.userSeq);
    if (!this.#cursor.has('g')) this.#cursor.set('g', heads.globalSeq);
    this.detach();
    this.#resume(null);
  }

  /** The socket is gone (or the client disposed): no answer can come, no retry may stay behind. */
  detach(): void {
    this.#requests.reset();
    this.#requested.clear();
  }

  /** The frames to hand to the app now, in order (possibly none, possibly several). */
  accept(frame: ServerFrame): ServerFrame[] {
    if (frame.action === 'resumed') return [...this.#onResumed(frame.data), frame];
    if (frame.action === 'error' && this.#requests.owns(frame.data.request_id)) return this.#onRefused(frame);
    if (frame.action === 'ack') return [frame, ...this.#ownMessage(frame.data)];
    if (frame.action === 'positions') {
      this.#onPositions(frame.data);
      return [frame];
    }
    const at = locate(frame);
    if (!at) return [frame];
    if (at.id !== null) {
      if (this.#seen.has(at.id)) return this.#duplicate();
      this.#remember(at.id);
    }
    // A skipped event is a position without anything to hand over (null), like our own ack.
    const handed = frame.action === 'event_skipped' ? null : frame;
    const cursor = this.#cursor.get(at.stream);
    // Global positions may skip numbers, so there a jump is normal: deliver, and resume from the
    // highest position seen. An untracked stream has no baseline yet: deliver as is.
    if (cursor === undefined || at.stream === 'g') {
      this.#cursor.set(at.stream, Math.max(cursor ?? 0, at.position));
      return this.#handOver(handed);
    }
    if (at.position <= cursor) return handed ? this.#duplicate() : [];
    if (at.position > cursor + 1) {
      this.#hold(at.stream, at.position, handed);
      return [];
    }
    this.#cursor.set(at.stream, at.position);
    return [...this.#handOver(handed), ...this.#drain(at.stream)];
  }

  #handOver(frame: ServerFrame | null): ServerFrame[] {
    if (!frame) return [];
    this.#stats.delivered++;
    return [frame];
  }

  /**
   * Our own message never comes back live to the socket it was sent on (the server skips it), but
   * its ack carries its seq: the position is ours, so the next message is not mistaken for a gap.
   */
  #ownMessage(ack: { conversation_id: string; seq: number; message_id: string }): ServerFrame[] {
    const stream = `m:${ack.conversation_id}`;
    this.#remember(ack.message_id);
    const cursor = this.#cursor.get(stream);
    if (cursor === undefined) {
      this.#cursor.set(stream, ack.seq);
      return [];
    }
    if (ack.seq <= cursor) return [];
    if (ack.seq > cursor + 1) {
      this.#hold(stream, ack.seq, null);
      return [];
    }
    this.#cursor.set(stream, ack.seq);
    return this.#drain(stream);
  }

  #hold(stream: Stream, position: number, frame: ServerFrame | null): void {
    let held = this.#held.get(stream);
    if (!held) {
      held = new Map();
      this.#held.set(stream, held);
    }
    held.set(position, frame);
    this.#requestGap(stream);
  }

  /** Ask the server to replay the gap of one stream (once until it answers). */
  #requestGap(stream: Stream): void {
    if (this.#requested.has(stream)) return;
    this.#requested.add(stream);
    this.#stats.gapRepairs++;
    this.#resume([stream]);
  }

  /**
   * The server's stream heads: every tracked stream we are behind on (and not already asking
   * for) is resumed, all in one `resume`. Untracked conversations are left alone.
   */
  #onPositions(heads: Extract<ServerFrame, { action: 'positions' }>['data']): void {
    const behind: Stream[] = [];
    const check = (stream: Stream, head: number) => {
      const cursor = this.#cursor.get(stream);
      if (cursor !== undefined && head > cursor && !this.#requested.has(stream)) behind.push(stream);
    };
    for (const c of heads.conversations) {
      check(`m:${c.conversation_id}`, c.last_seq);
      check(`e:${c.conversation_id}`, c.last_event_seq);
    }
    check('u', heads.user_seq);
    check('g', heads.global_seq);
    if (behind.length === 0) return;
    for (const stream of behind) this.#requested.add(stream);
    this.#stats.gapRepairs += behind.length;
    this.#resume(behind);
  }

  /** Held frames that are next in line, in order. */
  #drain(stream: Stream): ServerFrame[] {
    const held = this.#held.get(stream);
    const out: ServerFrame[] = [];
    if (!held) return out;
    let next = (this.#cursor.get(stream) ?? 0) + 1;
    while (held.has(next)) {
      const frame = held.get(next);
      held.delete(next);
      if (frame) {
        out.push(frame);
        this.#stats.delivered++;
      }
      this.#cursor.set(stream, next);
      next++;
    }
    for (const position of held.keys()) if (position < next) held.delete(position);
    if (held.size === 0) {
      this.#held.delete(stream);
      this.#requested.delete(stream);
    }
    return out;
  }

  #onResumed(data: Extract<ServerFrame, { action: 'resumed' }>['data']): ServerFrame[] {
    const released: ServerFrame[] = [];
    const answered = new Set<Stream>();
    for (const c of data.conversations) {
      const streams = [`m:${c.conversation_id}`, `e:${c.conversation_id}`];
      this.#stats.replayed += c.replayed_messages + c.replayed_events;
      if (c.status === 'reload') released.push(...this.#reload(streams));
      // No longer a participant: nothing will fill the gap, and what is held was sent to us.
      if (c.status === 'forbidden') for (const stream of streams) released.push(...this.#giveUp(stream));
      for (const stream of streams) {
        this.#requested.delete(stream);
        answered.add(stream);
      }
    }
    for (const [key, answer] of [
      ['u', data.user],
      ['g', data.global],
    ] as const) {
      if (!answer) continue;
      this.#stats.replayed += answer.replayed;
      if (answer.status === 'reload') released.push(...this.#reload([key]));
      this.#requested.delete(key);
      answered.add(key);
    }
    // A stream our frame named but the answer left out is still unanswered: ask again.
    this.#requests.schedule(this.#requests.answered(data.request_id).filter((s) => !answered.has(s)));
    return released;
  }

  /**
   * The server refused one of our `resume` frames. A limit or an outage passes: the same streams
   * are asked for again later, quietly. Any other refusal will not pass: the streams are given up
   * as if answered `reload` (the app reloads them over HTTP), and the error goes on to the app.
   */
  #onRefused(frame: Extract<ServerFrame, { action: 'error' }>): ServerFrame[] {
    const { request_id: requestId, code, retry_after_ms: retryAfterMs } = frame.data;
    const streams = this.#requests.refused(requestId!);
    if (isTransientRefusal(code)) {
      this.#requests.schedule(streams, retryAfterMs);
      return [];
    }
    for (const stream of streams) this.#requested.delete(stream);
    return [...this.#reload(streams), frame];
  }

  /** Hand over what is held of `streams` and tell the app to reload them (once per conversation). */
  #reload(streams: readonly Stream[]): ServerFrame[] {
    const released: ServerFrame[] = [];
    const notices = new Map<string, ReloadNotice>();
    for (const stream of streams) {
      released.push(...this.#giveUp(stream));
      const conversationId = stream.startsWith('m:') || stream.startsWith('e:') ? stream.slice(2) : null;
      const notice: ReloadNotice = conversationId
        ? { conversationId, stream: 'conversation' }
        : { conversationId: null, stream: stream === 'u' ? 'user' : 'global' };
      notices.set(conversationId ?? stream, notice);
    }
    for (const notice of notices.values()) {
      this.#stats.reloads++;
      this.#onReload(notice);
    }
    return released;
  }

  /** The server cannot fill this gap: hand over what is held, in order, and continue from there. */
  #giveUp(stream: Stream): ServerFrame[] {
    const held = this.#held.get(stream);
    this.#held.delete(stream);
    if (!held || held.size === 0) return [];
    const positions = [...held.keys()].sort((a, b) => a - b);
    this.#cursor.set(stream, positions.at(-1)!);
    const frames = positions.map((p) => held.get(p)).filter((f): f is ServerFrame => f !== null && f !== undefined);
    this.#stats.delivered += frames.length;
    return frames;
  }

  /** Sends `resume` for `only` (every stream when null), from the positions delivered now. */
  #resume(only: readonly Stream[] | null): void {
    if (only?.length === 0) return;
    for (const { data, streams } of resumeFrames(this.#cursor, only)) {
      const requestId = this.#requests.issue(streams);
      if (this.#sendResume(data, requestId)) continue;
      // Not written (the socket is closing): nothing will answer; the next `connected` resumes all.
      this.#requests.unsent(requestId);
      for (const stream of streams) this.#requested.delete(stream);
    }
  }

  #duplicate(): ServerFrame[] {
    this.#stats.duplicates++;
    return [];
  }

  #remember(id: string): void {
    this.#seen.add(id);
    if (this.#seen.size > SEEN_IDS) this.#seen.delete(this.#seen.values().next().value!);
  }
}

/** Stream, position and id of a durable frame (the protocol's one table); null for ephemeral ones. */
function locate(frame: ServerFrame): Located | null {
  const at = streamPositionOf(frame);
  return at ? { stream: at.stream, position: at.position, id: idOf(frame) } : null;
}

/** The id duplicates are recognised by, where the frame has one. */
function idOf(frame: ServerFrame): string | null {
  switch (frame.action) {
    case 'new_message':
      return frame.data.id;
    case 'consultation_reply':
      return frame.data.message?.id ?? null;
    case 'read_status':
    case 'mobile_notification':
    case 'system_notification':
    case 'direct_message':
      return frame.data.event_id ?? null;
    default:
      return null;
  }
}
