/**
 * The stream heads a registering socket reads (ResumeService.heads), batched by the group
 * commit's policy (db/batch-gate.ts, shared with db/append-batcher.ts): a statement starts at
 * once when none is running; while one runs, the registrations arriving meanwhile wait for it and
 * go together in the next one, unless `busyBatch` of them wait already, and at most `maxInFlight`
 * run at once. Batching only the registrations of one event-loop turn did not batch: a
 * connecting server reads about one upgrade per turn, so each connection paid a statement of its
 * own (1.05 per connection in scenario 8; its round trip through pg, drizzle and Postgres was
 * ~15 % of a connection's server CPU, docs/benchmarks.md, goal 2). A lone registration on a quiet
 * server waits one `setImmediate`, a busy one at most the running statement.
 *
 * A batch is read after every request in it was made, so each caller's heads are read after its
 * route went live (the caller's ordering guarantee).
 */
import { BatchGate, type BatchGateOptions, type PendingRequest } from '../db/batch-gate.ts';
import type { Store } from '../db/store-types.ts';
import type { StreamHeadsAtConnect } from './resume-service.ts';

/** The store's two heads reads: one user's (a lone registration), many users' (a batch). */
export type HeadsReader = Pick<Store['events'], 'heads' | 'userHeads'>;

/** The gate's options (db/batch-gate.ts), each optional here; no batch timing. */
export interface HeadsBatcherOptions extends Partial<Omit<BatchGateOptions, 'onBatch'>> {
  /** Most users in one statement. Default 500. */
  maxBatch?: number;
}

/** A registration waiting for its heads: its user id is the request's input. */
type PendingHeads = PendingRequest<string, StreamHeadsAtConnect>;

export class HeadsBatcher {
  readonly #events: HeadsReader;
  /** When statements start and which registrations share one (the policy in this file's comment). */
  readonly #gate: BatchGate<string, StreamHeadsAtConnect>;

  constructor(events: HeadsReader, options: HeadsBatcherOptions = {}) {
    this.#events = events;
    this.#gate = new BatchGate((batch) => this.#read(batch), { ...options, maxBatch: options.maxBatch ?? 500 });
  }

  heads(userId: string): Promise<StreamHeadsAtConnect> {
    return this.#gate.request(userId);
  }

  /** Never rejects: a failed statement rejects its batch's callers. */
  #read(batch: PendingHeads[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [PendingHeads];
      return this.#events.heads(only.input).then(only.resolve, only.reject);
    }
    return this.#events.userHeads(batch.map((p) => p.input)).then(
      ({ globalSeq, userSeqs }) => {
        for (const p of batch) p.resolve({ userSeq: userSeqs.get(p.input) ?? 0, globalSeq });
      },
      (error: unknown) => {
        for (const p of batch) p.reject(error);
      },
    );
  }
}
