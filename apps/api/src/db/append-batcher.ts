/**
 * Group commit for `messages.append`: the appends that arrive in one event-loop turn are stored
 * by one statement (AppendStatements.insertMany), so under load many messages share a round
 * trip, a transaction and a WAL flush, while `synchronous_commit` stays on (an ack still means
 * the message is on disk). At most `maxInFlight` statements run at once; appends arriving
 * meanwhile wait and form the next, larger batch. A lone append takes the single-row statement,
 * so a quiet server pays one `setImmediate` of latency and nothing else.
 *
 * Order: within a batch, a conversation's inputs get consecutive seqs in arrival order. Batches
 * running at once take row locks in whatever order Postgres receives them, as separate appends
 * did. Nothing needs more: one connection's frames run one after another, so a client's own
 * messages are never in flight together, and messages from different senders have no order
 * before they are stored.
 */
import type { AppendMessageInput, AppendMessageResult, MessageRow } from './store-types.ts';

export interface AppendBatcherOptions {
  /** Most appends in one statement. Default 100. */
  maxBatch?: number;
  /** Statements running at once (each holds a pool connection). Default 4. */
  maxInFlight?: number;
}

export interface BatchStatements {
  /** Row i is the message stored for input i, or null when it was not stored (see `appendOne`). */
  insertMany(inputs: readonly AppendMessageInput[]): Promise<Array<MessageRow | null>>;
  /** The full single append: stores, or classifies a duplicate / conflict, or throws. */
  appendOne(input: AppendMessageInput): Promise<AppendMessageResult>;
}

interface Waiting {
  input: AppendMessageInput;
  resolve(result: AppendMessageResult): void;
  reject(error: unknown): void;
}

export class AppendBatcher {
  readonly #statements: BatchStatements;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #waiting: Waiting[] = [];
  #scheduled = false;
  #inFlight = 0;

  constructor(statements: BatchStatements, options: AppendBatcherOptions = {}) {
    this.#statements = statements;
    this.#maxBatch = options.maxBatch ?? 100;
    this.#maxInFlight = options.maxInFlight ?? 4;
  }

  append(input: AppendMessageInput): Promise<AppendMessageResult> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ input, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: it runs after this turn's I/O callbacks, so every frame read
    // in this turn has queued its append.
    setImmediate(() => {
      this.#scheduled = false;
      this.#start();
    });
  }

  #start(): void {
    while (this.#waiting.length > 0 && this.#inFlight < this.#maxInFlight) {
      const batch = this.#waiting.splice(0, this.#maxBatch);
      this.#inFlight++;
      void this.#run(batch).finally(() => {
        this.#inFlight--;
        if (this.#waiting.length > 0) this.#schedule();
      });
    }
  }

  async #run(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) return this.#one(batch[0] as Waiting);
    let rows: Array<MessageRow | null>;
    try {
      rows = await this.#statements.insertMany(batch.map((w) => w.input));
    } catch {
      // Nothing was stored (one statement). One input failed it: a key twice in the batch, a
      // sender that does not exist, a deadlock. Each goes alone, in order, and fails alone.
      for (const waiting of batch) await this.#one(waiting);
      return;
    }
    const leftOver: Waiting[] = [];
    batch.forEach((waiting, i) => {
      const message = rows[i];
      if (message) waiting.resolve({ status: 'created', message });
      else leftOver.push(waiting);
    });
    // Not stored: a duplicate key or no such conversation; the single append tells which.
    for (const waiting of leftOver) await this.#one(waiting);
  }

  async #one(waiting: Waiting): Promise<void> {
    try {
      waiting.resolve(await this.#statements.appendOne(waiting.input));
    } catch (error) {
      waiting.reject(error);
    }
  }
}
