/**
 * Group commit (AppendBatcher): the appends that arrive in one event-loop turn are stored by one
 * statement (appendManyStatement), so under load many messages share a round trip, a
 * transaction and a WAL flush, while `synchronous_commit` stays on (an ack still means the
 * message is on disk). When a statement starts is BatchGate's policy (batch-gate.ts): at once
 * when none is running; while one runs, appends arriving meanwhile wait for it and form the next,
 * larger batch, unless `busyBatch` of them are waiting already, and at most `maxInFlight`
 * statements run at once. Without that wait a server at a few thousand messages a second started
 * a statement for nearly every message (each turn reads one or two frames), and a statement costs
 * Postgres and the pg driver far more than a row (bench/src/tools/append-cost.ts: 398 µs of
 * Postgres CPU per message alone, 172 in fives, 123 in tens). A lone append takes the single-row
 * statement, so a quiet server pays one `setImmediate` of latency and nothing else; a busy one
 * pays at most the running statement. Within a batch, a conversation's inputs get consecutive
 * seqs in arrival order; batches running at once take row locks in whatever order Postgres
 * receives them, as separate appends did. Nothing needs more: one connection's frames run one
 * after another, so a client's own messages are never in flight together, and messages from
 * different senders have no order before they are stored.
 *
 * The window (`spacingMs`, DATABASE_BATCH_WINDOW_MS, 5 ms in the app): while appends keep coming,
 * a statement starts no sooner than that long after the previous one started, so the appends of
 * the whole window share it. Waiting for the running statement was not enough at a few thousand
 * messages a second: a statement took about a millisecond, batches stayed at one or two, and
 * Postgres paid a statement's fixed cost per message (a bare INSERT of message rows: about 250 µs of
 * Postgres CPU a row alone, 73 in fives, 49 in tens; docs/benchmarks.md, round 6, eleventh pass).
 * An append after a quieter spell than the window starts at once.
 */
import { BatchGate, type BatchGateOptions, type PendingRequest } from './batch-gate.ts';
import { isDatabaseUnavailable } from './db-common.ts';
import type { AppendMessageInput, AppendMessageResult, MessageRow } from './store-types.ts';

/** The gate's options (batch-gate.ts), each optional here. */
export interface AppendBatcherOptions extends Partial<BatchGateOptions> {
  /** Most appends in one statement. Default 100. */
  maxBatch?: number;
  /**
   * Called once per statement's batch when it settled: how many appends it carried and its
   * seconds, failed ones included (anmei_db_append_batch_size, anmei_db_append_duration_seconds).
   */
  onBatch?: (size: number, seconds: number) => void;
}

export interface BatchStatements {
  /** Row i is the message stored for input i, or null when it was not stored (see `appendOne`). */
  insertMany(inputs: readonly AppendMessageInput[]): Promise<Array<MessageRow | null>>;
  /** The full single append: stores, or classifies a duplicate / conflict, or throws. */
  appendOne(input: AppendMessageInput): Promise<AppendMessageResult>;
}

type Waiting = PendingRequest<AppendMessageInput, AppendMessageResult>;

export class AppendBatcher {
  readonly #statements: BatchStatements;
  /** When statements start and which appends share one (the policy in this file's comment). */
  readonly #gate: BatchGate<AppendMessageInput, AppendMessageResult>;

  constructor(statements: BatchStatements, options: AppendBatcherOptions = {}) {
    this.#statements = statements;
    this.#gate = new BatchGate((batch) => this.#run(batch), { ...options, maxBatch: options.maxBatch ?? 100 });
  }

  append(input: AppendMessageInput): Promise<AppendMessageResult> {
    return this.#gate.request(input);
  }

  async #run(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) return this.#each(batch);
    let rows: Array<MessageRow | null>;
    try {
      rows = await this.#statements.insertMany(batch.map((w) => w.input));
    } catch (error) {
      if (isDatabaseUnavailable(error)) return this.#unavailable(batch, error);
      // Nothing was stored (one statement). One input failed it: a key twice in the batch, a
      // sender that does not exist, a deadlock. Each goes alone, in order, and fails alone.
      return this.#each(batch);
    }
    const leftOver: Waiting[] = [];
    batch.forEach((waiting, i) => {
      const message = rows[i];
      if (message) waiting.resolve({ status: 'created', message });
      else leftOver.push(waiting);
    });
    // Not stored: a duplicate key or no such conversation; the single append tells which.
    await this.#each(leftOver);
  }

  /** Single appends, in order; once the database stops answering, the rest fail with that error at once. */
  async #each(list: Waiting[]): Promise<void> {
    for (const [i, waiting] of list.entries()) {
      try {
        waiting.resolve(await this.#statements.appendOne(waiting.input));
      } catch (error) {
        if (isDatabaseUnavailable(error)) return this.#unavailable(list.slice(i), error);
        waiting.reject(error);
      }
    }
  }

  /**
   * The database did not answer (a timeout, a lost connection): these appends fail with that error,
   * and so does every append waiting for a free statement slot, at once. Retried one by one, or
   * left to start their own statements, they would each wait out another timeout, so a send's
   * answer would no longer be bounded by one (docs/operations.md "Database stalls").
   */
  #unavailable(batch: Waiting[], error: unknown): void {
    for (const waiting of [...batch, ...this.#gate.takeWaiting()]) waiting.reject(error);
  }
}
