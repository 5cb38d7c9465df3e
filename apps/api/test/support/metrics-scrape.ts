/**
 * Reads /metrics as Prometheus does (the text format, parsed here without the server's code) so
 * tests can compare two scrapes: `after.delta(before, name, labels)`.
 */

export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

export class Scrape {
  readonly samples: readonly Sample[];
  /** Family name → type, from the `# TYPE` lines. */
  readonly families: ReadonlyMap<string, string>;

  constructor(text: string) {
    const samples: Sample[] = [];
    const families = new Map<string, string>();
    for (const line of text.split('\n')) {
      if (line.startsWith('# TYPE ')) {
        const [, , name, type] = line.split(' ');
        if (name && type) families.set(name, type);
        continue;
      }
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[pair[1] as string] = (pair[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      }
      samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
    }
    this.samples = samples;
    this.families = families;
  }

  /** Sum of every sample of `name` whose labels include `labels`. */
  value(name: string, labels: Record<string, string> = {}): number {
    let sum = 0;
    for (const s of this.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
    }
    return sum;
  }

  /** How much `name` (with `labels`) grew since `before`. */
  delta(before: Scrape, name: string, labels: Record<string, string> = {}): number {
    return this.value(name, labels) - before.value(name, labels);
  }

  /** Cumulative bucket counts of histogram `name` (summed over its other labels): upper bound → count. */
  buckets(name: string): Map<number, number> {
    const buckets = new Map<number, number>();
    for (const s of this.samples) {
      if (s.name !== `${name}_bucket`) continue;
      const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + s.value);
    }
    return buckets;
  }
}

/** GET /metrics at `url` (the full URL); fails with the status and body unless it is 200. */
export async function scrape(url: string, token?: string): Promise<Scrape> {
  const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}: ${text.slice(0, 300)}`);
  return new Scrape(text);
}

/**
 * Prometheus' `histogram_quantile(q, …)` over cumulative buckets (the test's own, to check the
 * server's estimate): linear inside the bucket holding the rank, the highest finite bound for a
 * rank in +Inf, 0 for an empty histogram.
 */
export function histogramQuantile(q: number, buckets: ReadonlyMap<number, number>): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Number.POSITIVE_INFINITY) ?? 0;
  if (total === 0) return 0;
  const rank = q * total;
  let previousBound = 0;
  let previousCount = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound) as number;
    if (count >= rank) {
      if (!Number.isFinite(bound)) return previousBound;
      if (count === previousCount) return bound;
      return previousBound + ((bound - previousBound) * (rank - previousCount)) / (count - previousCount);
    }
    previousBound = bound;
    previousCount = count;
  }
  return previousBound;
}
