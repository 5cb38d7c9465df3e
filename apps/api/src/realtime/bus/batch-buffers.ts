/**
 * The buffers routed batches are written into (redis-route-batch.ts), kept for the batches
 * after them instead of allocated per batch.
 *
 * Why: a busy publisher's batches are 100 KiB to 1 MiB, a hundred a second, and each lives
 * for a Redis round trip or two. On the core it shares with Redis that is long enough for the
 * buffer's handle to outlive two scavenges and be promoted, and a promoted buffer's memory
 * (outside V8's heap) comes back only with a full GC: in scenario 4 a publisher's array-buffer
 * memory climbed 15–20 MB a second between full GCs, which that growth itself brought on
 * (docs/benchmarks.md, round 6, fifth pass). Kept buffers are promoted once and written over.
 *
 * A buffer may be given back only when nothing will read it again: a batch's, once every
 * command carrying its bytes was answered (ioredis resends unanswered commands after a
 * reconnect); one a batch outgrew, at once (only that batch wrote to it).
 */

/** Buffers kept at most (with one batch in flight, two are in use at a time: sent and gathering). */
const MAX_KEPT = 4;
/** The smallest buffer handed out (64 KiB): a batch of a few records needs no more. */
const MIN_BYTES = 64 * 1024;

export class BatchBuffers {
  readonly #kept: Buffer[] = [];
  readonly #maxBytes: number;

  /** `maxBytes`: larger buffers are not kept (a full batch's size, with room). */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /**
   * A buffer of at least `bytes`: the smallest kept one that is large enough, else a new one of
   * the next power of two (so that it serves batches of about that size after this one too).
   */
  take(bytes: number): Buffer {
    let best = -1;
    for (let k = 0; k < this.#kept.length; k++) {
      const length = (this.#kept[k] as Buffer).length;
      if (length >= bytes && (best < 0 || length < (this.#kept[best] as Buffer).length)) best = k;
    }
    if (best >= 0) return this.#kept.splice(best, 1)[0] as Buffer;
    return Buffer.allocUnsafe(Math.max(MIN_BYTES, 2 ** Math.ceil(Math.log2(bytes))));
  }

  /** Keeps `buffer` for a later `take`; when full, drops the smallest. The caller must not use it afterwards. */
  give(buffer: Buffer): void {
    if (buffer.length > this.#maxBytes) return;
    if (this.#kept.length < MAX_KEPT) {
      this.#kept.push(buffer);
      return;
    }
    let smallest = 0;
    for (let k = 1; k < this.#kept.length; k++) {
      if ((this.#kept[k] as Buffer).length < (this.#kept[smallest] as Buffer).length) smallest = k;
    }
    if ((this.#kept[smallest] as Buffer).length < buffer.length) this.#kept[smallest] = buffer;
  }

  /** How many buffers are kept (tests). */
  get size(): number {
    return this.#kept.length;
  }
}
