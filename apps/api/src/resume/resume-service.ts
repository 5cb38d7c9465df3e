/**
 * Replays what a reconnecting client missed, from the database, in order, before its live
 * frames continue (see docs/delivery.md). Per conversation: messages after `last_seq`, then
 * conversation events after `last_event_seq` (an event that is not for this socket as its
 * `event_skipped`); then the user's direct messages; then global notices. A stream whose gap exceeds the window is not replayed: the answer says `reload`.
 * It writes nothing itself: each replayed frame goes to the caller's `write` (the socket writer).
 */
import {
  ServerAction as Action,
  encodeFrame,
  type ResumeFrame,
  type ServerAction,
  StreamKey,
  serverFrame,
} from '@anmei/protocol';
import type { ParticipantDirectory } from '../broadcasting/participant-directory.ts';
import { messageToWire, rolesOf } from '../chat/wire.ts';
import type { Store, StoredEvent } from '../db/store-types.ts';
import type { AppMetrics, ResumeStatus, ResumeStream } from '../observability/metrics.ts';
import type { ConnectionInfo } from '../realtime/types.ts';
import { HeadsBatcher } from './heads-batcher.ts';

type ResumeData = ResumeFrame['data'];
type Status = 'recovered' | 'reload';

export interface ResumeOutcome {
  conversations: Array<{
    conversation_id: string;
    status: Status | 'forbidden';
    replayed_messages: number;
    replayed_events: number;
  }>;
  user?: { status: Status; replayed: number };
  global?: { status: Status; replayed: number };
  /** Highest position replayed per stream (keys: the protocol's StreamKey), to drop held duplicates. */
  replayedUpTo: Map<string, number>;
}

/**
 * The user's and the global stream heads read when a socket registered, after its route was
 * live: every event past them reaches that socket live. So the socket's FIRST `resume`, for a
 * stream it already holds up to that head, has nothing to replay and needs no query (issue #19:
 * two of a reconnect's three queries). Later resumes get no heads: a live frame may have been
 * lost since (a Redis outage), and those resumes are how it is repaired.
 */
export interface StreamHeadsAtConnect {
  userSeq: number;
  globalSeq: number;
}

export class ResumeService {
  readonly #store: Store;
  readonly #participants: ParticipantDirectory;
  /** Most events replayed per stream before answering `reload` (RESUME_WINDOW, default 1000). */
  readonly #window: number;
  readonly #metrics: AppMetrics | undefined;
  readonly #heads: HeadsBatcher;

  constructor(deps: { store: Store; participants: ParticipantDirectory; window: number; metrics?: AppMetrics }) {
    this.#store = deps.store;
    this.#participants = deps.participants;
    this.#window = deps.window;
    this.#metrics = deps.metrics;
    this.#heads = new HeadsBatcher(deps.store.events);
  }

  /**
   * The user's and the global stream heads, for a socket that registered, read after the
   * caller's route is live. Concurrent registrations share a statement (heads-batcher.ts).
   */
  heads(userId: string): Promise<StreamHeadsAtConnect> {
    return this.#heads.heads(userId);
  }

  /**
   * Hands the replayed frames of `info`'s connection to `write` in order (the caller writes them
   * past its hold on live frames) and returns what it did.
   */
  async replay(
    info: ConnectionInfo,
    data: ResumeData,
    write: (frame: string) => void,
    registeredHeads: StreamHeadsAtConnect | null = null,
  ): Promise<ResumeOutcome> {
    let replayed = 0;
    const send = (action: ServerAction, payload: unknown, at: Date) => {
      replayed++;
      write(encodeFrame(serverFrame(action, payload as never, at)));
    };
    const outcome: ResumeOutcome = { conversations: [], replayedUpTo: new Map() };

    for (const c of data.conversations) {
      const id = c.conversation_id;
      // The participant list is cached (ParticipantDirectory), as isParticipant read it: gives replayed messages their sender_role.
      const participants = await this.#participants.of(id);
      if (!participants.some((p) => p.userId === info.userId)) {
        outcome.conversations.push({
          conversation_id: id,
          status: 'forbidden',
          replayed_messages: 0,
          replayed_events: 0,
        });
        continue;
      }
      const messages = await this.#store.messages.history(id, { afterSeq: c.last_seq, limit: this.#window + 1 });
      const events = await this.#store.events.conversationAfter(id, c.last_event_seq, this.#window + 1);
      if (messages.length > this.#window || events.length > this.#window) {
        outcome.conversations.push({ conversation_id: id, status: 'reload', replayed_messages: 0, replayed_events: 0 });
        continue;
      }
      const roles = messages.length > 0 ? rolesOf(participants) : undefined;
      for (const m of messages) send(Action.newMessage, messageToWire(m, roles?.get(m.senderId)), m.createdAt);
      let visible = 0;
      for (const e of events) {
        if (e.excludeUserId !== info.userId && (!e.deviceTypes || e.deviceTypes.includes(info.deviceType))) {
          send(e.kind as ServerAction, e.payload, e.createdAt);
          visible++;
        } else {
          // Not for this socket, but its position is: the stream stays gap-free (as live).
          send(Action.eventSkipped, { conversation_id: id, event_seq: e.position }, e.createdAt);
        }
      }
      outcome.replayedUpTo.set(StreamKey.messages(id), messages.at(-1)?.seq ?? c.last_seq);
      outcome.replayedUpTo.set(StreamKey.events(id), events.at(-1)?.position ?? c.last_event_seq);
      outcome.conversations.push({
        conversation_id: id,
        status: 'recovered',
        replayed_messages: messages.length,
        replayed_events: visible,
      });
    }

    if (data.user_seq !== undefined) {
      const after = data.user_seq;
      const events =
        registeredHeads !== null && after >= registeredHeads.userSeq
          ? []
          : await this.#store.events.userAfter(info.userId, after, this.#window + 1);
      outcome.user = this.#replayStream(events, StreamKey.user, after, outcome.replayedUpTo, send);
    }
    if (data.global_seq !== undefined) {
      const after = data.global_seq;
      const events =
        registeredHeads !== null && after >= registeredHeads.globalSeq
          ? []
          : await this.#store.events.globalAfter(after, this.#window + 1);
      outcome.global = this.#replayStream(events, StreamKey.global, after, outcome.replayedUpTo, send);
    }
    this.#metrics?.resumed(streamsOf(outcome), replayed);
    return outcome;
  }

  #replayStream(
    events: StoredEvent[],
    key: string,
    after: number,
    replayedUpTo: Map<string, number>,
    send: (action: ServerAction, payload: unknown, at: Date) => void,
  ): { status: Status; replayed: number } {
    if (events.length > this.#window) return { status: 'reload', replayed: 0 };
    for (const e of events) send(e.kind as ServerAction, e.payload, e.createdAt);
    replayedUpTo.set(key, events.at(-1)?.position ?? after);
    return { status: 'recovered', replayed: events.length };
  }
}

/** Each stream of a resume's answer with its status (anmei_resume_streams_total). */
function streamsOf(outcome: ResumeOutcome): Array<{ stream: ResumeStream; status: ResumeStatus }> {
  const streams: Array<{ stream: ResumeStream; status: ResumeStatus }> = outcome.conversations.map((c) => ({
    stream: 'conversation',
    status: c.status,
  }));
  if (outcome.user) streams.push({ stream: 'user', status: outcome.user.status });
  if (outcome.global) streams.push({ stream: 'global', status: outcome.global.status });
  return streams;
}
