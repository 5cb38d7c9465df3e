/**
 * Tells this instance's sockets the heads of their streams (`positions` frames; docs/delivery.md,
 * "Trailing gaps"), so a client that missed live frames resumes without waiting for a later
 * frame to show it the gap:
 * - at once for every local user when the bus reports that envelopes may have been lost (its
 *   link to Redis came back, or a peer's publishes failed): `announce('bus_recovered')`;
 * - periodically for quiet streams (a publisher that died between storing and publishing, a
 *   frame lost anywhere else): every local user once per `intervalMs`, spread over the interval
 *   in one slice per second, starting an interval after the user's oldest socket connected (a
 *   socket resumes when it connects, so it needs no check before then).
 * It writes through LocalConnections (the socket writer), like any broadcast.
 */
import { encodeFrame, ServerAction, type ServerDataOf, serverFrame } from '@anmei/protocol';
import type { Store, UserStreamHeads } from '../db/store-types.ts';
import type { Logger } from '../observability/logger.ts';
import type { AppMetrics } from '../observability/metrics.ts';
import type { LocalConnections } from '../ws/local-connections.ts';

type Reason = ServerDataOf<'positions'>['reason'];

export interface StreamPositionsOptions {
  /** WS_POSITIONS_INTERVAL: how often each user's streams are checked, in ms; 0 = never (recovery checks still run). */
  intervalMs: number;
  /** Users whose heads are read with one pair of statements (default 500). */
  batchSize?: number;
}

/** The periodic check runs one slice per tick (ms). */
const TICK_MS = 1_000;

/** The encoded `positions` frame of one user's heads. */
export function positionsFrame(reason: Reason, user: UserStreamHeads, globalSeq: number): string {
  return encodeFrame(
    serverFrame(ServerAction.positions, {
      reason,
      conversations: user.conversations.map((c) => ({
        conversation_id: c.conversationId,
        last_seq: c.lastSeq,
        last_event_seq: c.lastEventSeq,
      })),
      user_seq: user.userSeq,
      global_seq: globalSeq,
    }),
  );
}

export class StreamPositions {
  readonly #store: Store;
  readonly #local: LocalConnections;
  readonly #log: Logger;
  readonly #instanceId: string;
  readonly #intervalMs: number;
  readonly #batchSize: number;
  readonly #metrics: AppMetrics | undefined;
  #timer: NodeJS.Timeout | null = null;
  /** Users still to check in the current periodic round. */
  #round: string[] = [];
  #roundSlice = 0;
  #tickBusy = false;
  #announcing: Promise<number> | null = null;
  #announceAgain = false;
  #closed = false;

  constructor(
    deps: { store: Store; local: LocalConnections; logger: Logger; instanceId: string; metrics?: AppMetrics },
    options: StreamPositionsOptions,
  ) {
    this.#store = deps.store;
    this.#local = deps.local;
    this.#log = deps.logger;
    this.#instanceId = deps.instanceId;
    this.#intervalMs = options.intervalMs;
    this.#batchSize = options.batchSize ?? 500;
    this.#metrics = deps.metrics;
  }

  start(): void {
    if (this.#intervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), Math.min(TICK_MS, this.#intervalMs));
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /**
   * Sends every local user (or `userIds`) a `positions` frame; resolves with the frames written.
   * A call while one for every user runs is folded into one more run after it.
   */
  announce(reason: Reason, userIds?: readonly string[]): Promise<number> {
    if (userIds) return this.#send(reason, userIds);
    if (this.#announcing) {
      this.#announceAgain = true;
      return this.#announcing;
    }
    const run = async (): Promise<number> => {
      let written = 0;
      do {
        this.#announceAgain = false;
        written += await this.#send(reason, this.#localUsers());
      } while (this.#announceAgain && !this.#closed);
      return written;
    };
    this.#announcing = run().finally(() => {
      this.#announcing = null;
    });
    return this.#announcing;
  }

  async #send(reason: Reason, userIds: readonly string[]): Promise<number> {
    let written = 0;
    for (let start = 0; start < userIds.length && !this.#closed; start += this.#batchSize) {
      const batch = userIds.slice(start, start + this.#batchSize);
      const heads = await this.#store.events.headsOf(batch);
      let sent = 0;
      for (const [userId, user] of heads.users) {
        const frame = positionsFrame(reason, user, heads.globalSeq);
        sent += this.#local.deliver({ frame, origin: this.#instanceId }, [userId]);
      }
      this.#metrics?.positionsSent(reason, sent);
      written += sent;
    }
    if (written > 0) this.#log.debug({ reason, users: userIds.length, written }, 'positions sent');
    return written;
  }

  #localUsers(): string[] {
    const users = new Set<string>();
    for (const connection of this.#local.all()) users.add(connection.info.userId);
    return [...users];
  }

  /** One slice of the periodic round; a new round starts with the users connected then. */
  #tick(): void {
    if (this.#tickBusy || this.#closed) return;
    if (this.#round.length === 0) {
      this.#round = this.#localUsers();
      this.#roundSlice = Math.ceil((this.#round.length * Math.min(TICK_MS, this.#intervalMs)) / this.#intervalMs);
      if (this.#round.length === 0) return;
    }
    const slice = this.#round.splice(0, this.#roundSlice);
    const due = Date.now() - this.#intervalMs;
    const ready = slice.filter((u) => this.#local.ofUser(u).some((c) => c.info.connectedAt.getTime() <= due));
    if (ready.length === 0) return;
    this.#tickBusy = true;
    this.#send('periodic', ready)
      .catch((error: unknown) => this.#log.warn({ err: error }, 'periodic position check failed'))
      .finally(() => {
        this.#tickBusy = false;
      });
  }
}
