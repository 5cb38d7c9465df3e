/** Small helpers for turning repeated runs into one figure. */
export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function ratio(a: number, b: number): number {
  return b > 0 ? a / b : Number.NaN;
}

export function fmt(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

export function fmtRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a';
}

export function med<T>(rows: T[], pick: (r: T) => number): number {
  return median(rows.map(pick));
}

/** Median over runs of (metric of `a` / metric of `b`) within the same run. */
export function medRatio<T>(
  runs: T[][],
  a: (rows: T[]) => T | undefined,
  b: (rows: T[]) => T | undefined,
  pick: (r: T) => number,
): number {
  return median(
    runs.map((rows) => {
      const x = a(rows);
      const y = b(rows);
      return x && y ? ratio(pick(x), pick(y)) : Number.NaN;
    }),
  );
}

/** A share of one core (or any fraction) as a whole percentage. */
export function pct(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value * 100)} %` : 'n/a';
}

/** `- label: 1.23× — **met**` (or not met, with the distance to the goal). */
export function verdict(label: string, value: number, target: number, dir: 'le' | 'ge'): string {
  if (!Number.isFinite(value)) return `- ${label}: not measured`;
  const met = dir === 'le' ? value <= target : value >= target;
  const distance = dir === 'le' ? value / target : target / value;
  return `- ${label}: ${fmtRatio(value)} — **${met ? 'met' : 'not met'}**${met ? '' : ` (off by ${((distance - 1) * 100).toFixed(0)} %)`}`;
}
