/**
 * Latency histogram with logarithmic buckets (2 % wide): constant memory however many
 * samples, cheap to record, and mergeable across worker threads by adding bucket counts.
 */
const BUCKETS = 1200;
const PER_LOG = 1 / Math.log(1.02);

export class Histogram {
  readonly counts: Uint32Array;
  count = 0;
  max = 0;

  constructor(counts?: Uint32Array) {
    this.counts = counts ?? new Uint32Array(BUCKETS);
    if (counts) for (const c of counts) this.count += c;
  }

  /** Record one latency in microseconds. */
  record(us: number): void {
    const v = Math.max(us, 1);
    let i = Math.floor(Math.log(v) * PER_LOG);
    if (i >= BUCKETS) i = BUCKETS - 1;
    this.counts[i]! += 1;
    this.count += 1;
    if (v > this.max) this.max = v;
  }

  merge(other: { counts: ArrayLike<number>; max: number }): void {
    for (let i = 0; i < BUCKETS; i++) {
      const c = other.counts[i] ?? 0;
      this.counts[i]! += c;
      this.count += c;
    }
    if (other.max > this.max) this.max = other.max;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max = 0;
  }

  /** Value (µs) at quantile q in [0, 1]: the upper edge of the bucket holding it. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(Math.exp((i + 1) / PER_LOG), this.max);
    }
    return this.max;
  }
}

/** Exact nearest-rank quantile of an ascending array (samples small enough to keep); NaN when empty. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
