/**
 * When batched database statements start (BatchGate): the one policy of the group commit
 * (append-batcher.ts) and of the registrations' heads reads (resume/heads-batcher.ts); with
 * `spacingMs`, also when the gateway's upgrade checks start (ws/upgrade-admission.ts). Callers
 * `request` one input each; the gate hands `run` the waiting requests as batches, and `run`
 * settles every request of its batch.
 *
 * - A statement starts at once when none is running, one `setImmediate` after the request (so
 *   every request made in this event-loop turn joins it): a lone request on a quiet server
 *   waits that turn and nothing else.
 * - While one runs, requests arriving meanwhile wait for it and go together in the next one,
 *   unless `busyBatch` of them wait already: then they start a statement beside it.
 * - At most `maxInFlight` statements run at once, and at most `maxBatch` requests go in one;
 *   batches are taken in arrival order.
 * - With `spacingMs`, a start waits until that long after the previous start (a timer instead of
 *   `setImmediate`); after a longer pause it is not delayed.
 *
 * Why wait for a running statement: a busy server reads about one frame (or one upgrade) per
 * turn, so batching only the requests of one turn started a statement per request, and a
 * statement costs Postgres and the pg driver far more than a row (figures in the two users'
 * comments). It lives in db/ because what it gates are statements, each holding a pool connection.
 *
 * Cost: per request one promise (with its executor closure) and one `PendingRequest`, what a
 * caller needs anyway; per batch its array, the `run` promise and its `finally`, and only with
 * `onBatch` one closure for the timing. The start callback is bound once, not made per schedule.
 */

/** A request waiting for its batch's statement: its input and its caller's promise's settlers. */
export interface PendingRequest<Input, Output> {
  readonly input: Input;
  resolve(output: Output): void;
  reject(error: unknown): void;
}

/**
 * Runs one batch's statement(s) and settles every request in it (a failed statement rejects its
 * callers with its error). Must never reject: the gate does not catch, so a rejection would be an
 * unhandled one.
 */
export type RunBatch<Input, Output> = (batch: PendingRequest<Input, Output>[]) => Promise<void>;

export interface BatchGateOptions {
  /** Most requests in one statement. */
  maxBatch: number;
  /** Statements running at once (each holds a pool connection). Default 4. */
  maxInFlight?: number;
  /**
   * Waiting requests that may start a statement while another is running; fewer wait for a running
   * one to settle and then go together. Default 8; 1 starts a statement whenever a slot is free.
   */
  busyBatch?: number;
  /** Called once per batch when its `run` settled: how many requests it carried and its seconds. */
  onBatch?: (size: number, seconds: number) => void;
  /** ms from one start of batches to the next at the soonest. Default 0: no wait. */
  spacingMs?: number;
}

export class BatchGate<Input, Output> {
  readonly #run: RunBatch<Input, Output>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #busyBatch: number;
  readonly #onBatch: ((size: number, seconds: number) => void) | undefined;
  readonly #spacingMs: number;
  #waiting: PendingRequest<Input, Output>[] = [];
  /** A `#start` is queued (setImmediate, or a timer while spacing). */
  #scheduled = false;
  #inFlight = 0;
  /** performance.now() of the last `#start`, ms; read only with a spacing. */
  #lastStart = Number.NEGATIVE_INFINITY;

  constructor(run: RunBatch<Input, Output>, options: BatchGateOptions) {
    this.#run = run;
    this.#maxBatch = options.maxBatch;
    this.#maxInFlight = options.maxInFlight ?? 4;
    this.#busyBatch = options.busyBatch ?? 8;
    this.#onBatch = options.onBatch;
    this.#spacingMs = options.spacingMs ?? 0;
  }

  /** Settles as `run` settles this request. */
  request(input: Input): Promise<Output> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ input, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Removes and returns every request still waiting for a statement, in arrival order: for a
   * caller that fails them at once (the database stopped answering) instead of letting each wait
   * out another timeout.
   */
  takeWaiting(): PendingRequest<Input, Output>[] {
    return this.#waiting.splice(0);
  }

  /** Whether the requests waiting now may start a statement (see the file's comment). */
  #mayStart(): boolean {
    const waiting = this.#waiting.length;
    return waiting > 0 && this.#inFlight < this.#maxInFlight && (this.#inFlight === 0 || waiting >= this.#busyBatch);
  }

  #schedule(): void {
    if (this.#scheduled || !this.#mayStart()) return;
    this.#scheduled = true;
    const wait = this.#spacingMs > 0 ? this.#lastStart + this.#spacingMs - performance.now() : 0;
    // setImmediate, not a microtask: it runs after this turn's I/O callbacks, so every frame or
    // upgrade read in this turn has made its request.
    if (wait > 0) setTimeout(this.#start, wait);
    else setImmediate(this.#start);
  }

  readonly #start = (): void => {
    if (this.#spacingMs > 0) {
      const now = performance.now();
      const early = this.#lastStart + this.#spacingMs - now;
      // Node's timers count libuv's whole milliseconds, so one may fire up to about a millisecond
      // before `spacingMs` has passed as performance.now() counts it: wait out the rest.
      if (early > 0) {
        setTimeout(this.#start, early);
        return;
      }
      this.#lastStart = now;
    }
    this.#scheduled = false;
    while (this.#mayStart()) this.#begin(this.#waiting.splice(0, this.#maxBatch));
  };

  #begin(batch: PendingRequest<Input, Output>[]): void {
    this.#inFlight++;
    const onBatch = this.#onBatch;
    if (onBatch === undefined) {
      void this.#run(batch).finally(this.#settled);
      return;
    }
    const started = performance.now();
    void this.#run(batch).finally(() => {
      onBatch(batch.length, (performance.now() - started) / 1000);
      this.#settled();
    });
  }

  /** A statement settled: its slot is free, so the requests that waited for it may start. */
  readonly #settled = (): void => {
    this.#inFlight--;
    this.#schedule();
  };
}
