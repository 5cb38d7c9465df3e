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
 * reported so the app reloads it over HTTP and calls `track()` again.
 */
import { type ResumeFrame, type ServerFrame, streamPositionOf } from '@anmei/protocol';

export interface DeliveryStats {
  /** Durable frames handed to the app (live and replayed). */
  delivered: number;
  /** Of those, frames the server replayed (from its `resumed` answers). */
  replayed: number;
  /** Frames dropped because they were already delivered. */
  duplicates: number;
  /** Streams a `resume` was sent for because a position jumped or a `positions` frame showed them behind. */
  gapRepairs: number;
  /** Streams the server answered with `reload`. */
  reloads: number;
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
  readonly #requested = new Set<Stream>();
  readonly #sendResume: (data: ResumeFrame['data']) => boolean;
  readonly #onReload: (notice: ReloadNotice) => void;
  #stats: DeliveryStats = { delivered: 0, replayed: 0, duplicates: 0, gapRepairs: 0, reloads: 0 };

  constructor(deps: { sendResume(data: ResumeFrame['data']): boolean; onReload(notice: ReloadNotice): void }) {
    this.#sendResume = deps.sendResume;
    this.#onReload = deps.onReload;
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
    this.#requested.clear();
    this.#sendResume(this.#resumeData());
  }

  /** The frames to hand to the app now, in order (possibly none, possibly several). */
  accept(frame: ServerFrame): ServerFrame[] {
    if (frame.action === 'resumed') return [...this.#onResumed(frame.data), frame];
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
    this.#sendResume(this.#resumeData([stream]));
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
    this.#sendResume(this.#resumeData(behind));
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
    for (const c of data.conversations) {
      this.#stats.replayed += c.replayed_messages + c.replayed_events;
      if (c.status === 'reload') {
        released.push(...this.#giveUp(`m:${c.conversation_id}`), ...this.#giveUp(`e:${c.conversation_id}`));
        this.#stats.reloads++;
        this.#onReload({ conversationId: c.conversation_id, stream: 'conversation' });
      }
      this.#requested.delete(`m:${c.conversation_id}`);
      this.#requested.delete(`e:${c.conversation_id}`);
    }
    for (const [key, answer] of [
      ['u', data.user],
      ['g', data.global],
    ] as const) {
      if (!answer) continue;
      this.#stats.replayed += answer.replayed;
      if (answer.status === 'reload') {
        released.push(...this.#giveUp(key));
        this.#stats.reloads++;
        this.#onReload({ conversationId: null, stream: key === 'u' ? 'user' : 'global' });
      }
      this.#requested.delete(key);
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

  #resumeData(only?: readonly Stream[]): ResumeFrame['data'] {
    const conversations = new Map<string, { last_seq: number; last_event_seq: number }>();
    const add = (id: string) => {
      if (conversations.has(id)) return;
      conversations.set(id, {
        last_seq: this.#cursor.get(`m:${id}`) ?? 0,
        last_event_seq: this.#cursor.get(`e:${id}`) ?? 0,
      });
    };
    for (const stream of only ?? this.#cursor.keys()) {
      if (stream.startsWith('m:') || stream.startsWith('e:')) add(stream.slice(2));
    }
    const data: ResumeFrame['data'] = {
      conversations: [...conversations].slice(0, 200).map(([conversation_id, p]) => ({ conversation_id, ...p })),
    };
    if (!only || only.includes('u')) data.user_seq = this.#cursor.get('u') ?? 0;
    if (!only || only.includes('g')) data.global_seq = this.#cursor.get('g') ?? 0;
    return data;
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
