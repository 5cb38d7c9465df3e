/** Scenario 8's tables (connect rate; ours' path step by step) and its goal. */
import { TARGET_LABEL, type TargetKind } from '../common/types.ts';
import type { ConnectPhaseResult, ConnectResult } from '../scenarios/connect.ts';
import { fmt, fmtRatio, med, medRatio, pct, verdict } from './stats.ts';

interface RunsWithConnect {
  connect?: ConnectResult[];
}

type Row = { target: TargetKind; phase: ConnectPhaseResult };

/** Rows in table order: the peers, then ours' phases. */
const ROWS: Array<{ target: TargetKind; path: ConnectPhaseResult['path']; label: string; accepted: string }> = [
  { target: 'rawws', path: 'upgrade', label: 'upgrade', accepted: '`open` (no application handshake)' },
  {
    target: 'socketio',
    path: 'upgrade',
    label: 'upgrade + Engine.IO open + Socket.IO CONNECT',
    accepted: '`connect` event',
  },
  {
    target: 'ours',
    path: 'upgrade',
    label: '(a) upgrade alone (ticket fetched beforehand) + registration',
    accepted: '`connected` frame',
  },
  {
    target: 'ours',
    path: 'full',
    label: '(b) full path: `POST /api/v1/ws/ticket` + upgrade + registration',
    accepted: '`connected` frame',
  },
  {
    target: 'ours',
    path: 'resume',
    label: '(c) reconnect with the `resume_ticket` of (b)',
    accepted: '`connected` frame',
  },
];

export function renderConnect(runs: RunsWithConnect[]): { lines: string[]; goals: string[] } {
  const connectRuns = runs.map((r) => r.connect ?? []).filter((x) => x.length > 0);
  if (connectRuns.length === 0) return { lines: [], goals: [] };
  const first = connectRuns[0]![0]!;
  const rowRuns: Row[][] = connectRuns.map((rows) =>
    rows.flatMap((r) => r.phases.map((phase) => ({ target: r.target, phase }))),
  );
  const find = (target: TargetKind, path: ConnectPhaseResult['path']) => (rows: Row[]) =>
    rows.find((r) => r.target === target && r.phase.path === path);
  const rate = (r: Row) => r.phase.perSecond;
  const cpu = (r: Row) => r.phase.serverCpuUsPerConnection;
  const lines = [
    `### Scenario 8 — connect rate: ${first.connections} new connections per phase, up to ${first.inFlight} attempts in flight (median of ${connectRuns.length} run(s))`,
    '',
    '| target | path | counted at | connections/s | vs raw ws | server CPU µs/connection | vs raw ws | Postgres CPU µs/connection | latency p50 / p99 / max ms | server / generator CPU |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of ROWS) {
    const rows = rowRuns.map(find(row.target, row.path)).filter((r): r is Row => r !== undefined);
    if (rows.length === 0) continue;
    const vsRaw = (pick: (r: Row) => number) =>
      fmtRatio(medRatio(rowRuns, find(row.target, row.path), find('rawws', 'upgrade'), pick));
    // The peers never talk to Postgres: whatever it did meanwhile was someone else's work.
    const postgres =
      row.target === 'ours'
        ? fmt(
            med(rows, (r) => r.phase.postgresCpuUsPerConnection),
            0,
          )
        : '—';
    const latency = [
      med(rows, (r) => r.phase.latency.p50Ms),
      med(rows, (r) => r.phase.latency.p99Ms),
      med(rows, (r) => r.phase.latency.maxMs),
    ];
    const util = `${pct(med(rows, (r) => r.phase.serverUtil))} / ${pct(med(rows, (r) => r.phase.generatorUtil))}`;
    lines.push(
      `| ${TARGET_LABEL[row.target]} | ${row.label} | ${row.accepted} | ${fmt(med(rows, rate), 0)} | ${vsRaw(rate)} | ` +
        `${fmt(med(rows, cpu), 0)} | ${vsRaw(cpu)} | ${postgres} | ${latency.map((v) => fmt(v)).join(' / ')} | ${util} |`,
    );
  }
  lines.push(
    '',
    'connections/s: from the first attempt to the last connection accepted; a generator near 100 % means it, not the server, set the pace. ' +
      'Latency includes the wait behind the other attempts in flight (≈ in flight ÷ rate once the server is the limit). ' +
      "Postgres CPU: every `postgres` process's (ours reads the user's stream heads while registering; on a shared machine, others' queries too).",
    '',
  );

  // ours' path step by step: p50 of each step, each measured from the end of the one before.
  const stepRows = ROWS.filter((r) => r.target === 'ours')
    .map((r) => ({
      ...r,
      rows: rowRuns.map(find('ours', r.path)).filter((x): x is Row => x?.phase.steps !== undefined),
    }))
    .filter((r) => r.rows.length > 0);
  if (stepRows.length > 0) {
    lines.push(
      '| ours, p50 ms (p99) | ticket requested → received | → socket open (HTTP 101) | → `connected` frame | whole connection |',
      '|---|---|---|---|---|',
    );
    const cell = (rows: Row[], pick: (p: ConnectPhaseResult) => { p50Ms: number; p99Ms: number } | undefined) => {
      if (rows.every((r) => pick(r.phase) === undefined)) return '—';
      return `${fmt(med(rows, (r) => pick(r.phase)?.p50Ms ?? Number.NaN))} (${fmt(med(rows, (r) => pick(r.phase)?.p99Ms ?? Number.NaN))})`;
    };
    for (const { label, rows } of stepRows) {
      lines.push(
        `| ${label} | ${cell(rows, (p) => p.steps?.ticket)} | ${cell(rows, (p) => p.steps?.upgrade)} | ${cell(rows, (p) => p.steps?.registration)} | ${cell(rows, (p) => p.latency)} |`,
      );
    }
    lines.push(
      '',
      'Medians of the steps do not add up to the median of the whole: each column is its own distribution.',
      '',
    );
  }
  const notes = [
    ...new Set(connectRuns.flat().flatMap((r) => r.notes.map((note) => `${TARGET_LABEL[r.target]} ${note}`))),
  ];
  if (notes.length > 0) lines.push(...notes.map((note) => `- ${note}`), '');
  const foreign = rowRuns.flat().map((r) => r.phase.foreignUtil);
  lines.push(`Processes outside the bench used up to ${pct(Math.max(...foreign))} of a core during these phases.`, '');

  if (!rowRuns.some((rows) => find('ours', 'upgrade')(rows))) return { lines, goals: [] };
  const vsRaw = medRatio(rowRuns, find('ours', 'upgrade'), find('rawws', 'upgrade'), rate);
  return { lines, goals: [verdict('G8 connect rate, upgrade alone ≥ 0.8× raw ws', vsRaw, 0.8, 'ge')] };
}
