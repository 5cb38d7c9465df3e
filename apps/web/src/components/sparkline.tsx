/** A tiny SVG line chart of the last samples. */
export function Sparkline({ values, label, color = '#d9468c' }: { values: number[]; label: string; color?: string }) {
  const width = 160;
  const height = 40;
  if (values.length < 2)
    return <svg className="spark" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label} />;
  const max = Math.max(...values, 1);
  const step = width / (values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`);
  return (
    <svg className="spark" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label} preserveAspectRatio="none">
      <polyline points={`0,${height} ${points.join(' ')} ${width},${height}`} fill={`${color}22`} stroke="none" />
      <polyline
        points={points.join(' ')}
        fill="none"
        stroke={color}
        strokeWidth="2"
        vectorEffect="non-scaling-stroke"
      />
    </svg>
  );
}

/** Horizontal bars for a small breakdown (e.g. sockets per role). */
export function Bars({
  data,
  labels = {},
  wrapLabels = false,
}: {
  data: Record<string, number>;
  labels?: Record<string, string>;
  /** Labels on their own line, whole (e.g. instance ids), instead of cut to 5rem. */
  wrapLabels?: boolean;
}) {
  const entries = Object.entries(data);
  const max = Math.max(1, ...entries.map(([, v]) => v));
  if (entries.length === 0) return <p className="muted">—</p>;
  return (
    <ul className={wrapLabels ? 'bars bars-wrap' : 'bars'}>
      {entries.map(([key, value]) => (
        <li key={key}>
          <span className="bar-label" title={key}>
            {labels[key] ?? key}
          </span>
          <span className="bar-track">
            <span className="bar-fill" style={{ width: `${(value / max) * 100}%` }} />
          </span>
          <span className="bar-value">{value}</span>
        </li>
      ))}
    </ul>
  );
}
