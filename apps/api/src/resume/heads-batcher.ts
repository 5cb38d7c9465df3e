/**
 * The stream heads a registering socket reads (ResumeService.heads), batched as the group commit
 * batches appends (db/append-batcher.ts): a statement starts at once when none is running; while
 * one runs, the registrations arriving meanwhile wait for it and go together in the next one,
 * unless `busyBatch` of them wait already, and at most `maxInFlight` run at once. Batching only
 * the registrations of one event-loop turn did not batch: a connecting server reads about one
 * upgrade per turn, so each connection paid a statement of its own (1.05 per connection in
 * scenario 8; its round trip through pg, drizzle and Postgres was ~15 % of a connection's server
 * CPU, docs/benchmarks.md, goal 2). A lone registration on a quiet server waits one
 * `setImmediate`, a busy one at most the running statement.
 *
 * A batch is read after every request in it was made, so each caller's heads are read after its
 * route went live (the caller's ordering guarantee).
 */
import type { Store } from '../db/store-types.ts';
import type { StreamHeadsAtConnect } from './resume-service.ts';

/** The store's two heads reads: one user's (a lone registration), many users' (a batch). */
export type HeadsReader = Pick<Store['events'], 'heads' | 'userHeads'>;

export interface HeadsBatcherOptions {
  /** Most users in one statement. Default 500. */
  maxBatch?: number;
  /** Statements running at once (each holds a pool connection). Default 4. */
  maxInFlight?: number;
  /** Waiting registrations that may start a statement while another runs. Default 8. */
  busyBatch?: number;
}

interface PendingHeads {
  userId: string;
  resolve(heads: StreamHeadsAtConnect): void;
  reject(error: unknown): void;
}

export class HeadsBatcher {
  readonly #events: HeadsReader;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #busyBatch: number;
  #waiting: PendingHeads[] = [];
  #scheduled = false;
  #inFlight = 0;
  readonly #settled = (): void => {
    this.#inFlight--;
    this.#schedule();
  };

  constructor(events: HeadsReader, options: HeadsBatcherOptions = {}) {
    this.#events = events;
    this.#maxBatch = options.maxBatch ?? 500;
    this.#maxInFlight = options.maxInFlight ?? 4;
    this.#busyBatch = options.busyBatch ?? 8;
  }

  heads(userId: string): Promise<StreamHeadsAtConnect> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ userId, resolve, reject });
      this.#schedule();
    });
  }

  #mayStart(): boolean {
    const waiting = this.#waiting.length;
    return waiting > 0 && this.#inFlight < this.#maxInFlight && (this.#inFlight === 0 || waiting >= this.#busyBatch);
  }

  #schedule(): void {
    if (this.#scheduled || !this.#mayStart()) return;
    this.#scheduled = true;
    // After this turn's I/O callbacks, so every registration of the turn joins the batch.
    setImmediate(this.#start);
  }

  readonly #start = (): void => {
    this.#scheduled = false;
    while (this.#mayStart()) {
      const batch = this.#waiting.splice(0, this.#maxBatch);
      this.#inFlight++;
      this.#read(batch).finally(this.#settled);
    }
  };

  /** Never rejects: a failed statement rejects its batch's callers. */
  #read(batch: PendingHeads[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [PendingHeads];
      return this.#events.heads(only.userId).then(only.resolve, only.reject);
    }
    return this.#events.userHeads(batch.map((p) => p.userId)).then(
      ({ globalSeq, userSeqs }) => {
        for (const p of batch) p.resolve({ userSeq: userSeqs.get(p.userId) ?? 0, globalSeq });
      },
      (error: unknown) => {
        for (const p of batch) p.reject(error);
      },
    );
  }
}
