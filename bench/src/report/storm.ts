/** Scenario 6's table (reconnect storm) and its goal. */
import { TARGET_LABEL, type TargetKind } from '../common/types.ts';
import type { StormResult } from '../scenarios/storm.ts';
import { fmt, fmtRatio, med, medRatio, pct, verdict } from './stats.ts';

interface RunsWithStorm {
  storm?: StormResult[];
}

const LOGIC: Record<TargetKind, string> = {
  ours: '@anmei/client (full jitter: first retry ≤ 1 s after a drop, then 2 s → 30 s; resume ticket, else a new HTTP ticket)',
  socketio: 'socket.io-client built-in (1 s → 5 s, ±50 %)',
  rawws: 'bench loop, full jitter 2 s → 30 s',
};

const s = (ms: number) => fmt(ms / 1000, 2);

export function renderStorm(runs: RunsWithStorm[]): { lines: string[]; goals: string[] } {
  const stormRuns = runs.map((r) => r.storm ?? []).filter((x) => x.length > 0);
  if (stormRuns.length === 0) return { lines: [], goals: [] };
  const first = stormRuns[0]![0]!;
  const find = (t: TargetKind) => (rows: StormResult[]) => rows.find((r) => r.target === t);
  const all = (r: StormResult) => r.allReconnectedMs ?? Number.NaN;
  const lines = [
    `### Scenario 6 — reconnect storm: ${first.clients} clients on A, A killed (SIGKILL), all reconnect to B; ${first.survivors} survivors on B (median of ${stormRuns.length} run(s))`,
    '',
    '| target | reconnect logic | back on B | all back after s | vs raw ws | reconnect time p50 / p90 / p99 / max s | failed attempts | B CPU mean / busiest 1 s | storm generator CPU | survivors p50 / p99 ms before → during | survivors p99 during vs raw ws |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const goals: string[] = [];
  for (const t of [...new Set(stormRuns.flat().map((r) => r.target))]) {
    const rows = stormRuns.map((r) => find(t)(r)).filter((r): r is StormResult => r !== undefined);
    const p99 = med(rows, (r) => r.survivorsDuring.p99Ms);
    lines.push(
      `| ${TARGET_LABEL[t]} | ${LOGIC[t]} | ${fmt(
        med(rows, (r) => r.reconnected),
        0,
      )} / ${first.clients} | ${s(med(rows, all))} | ${fmtRatio(medRatio(stormRuns, find(t), find('rawws'), all))} | ${s(med(rows, (r) => r.p50Ms))} / ${s(med(rows, (r) => r.p90Ms))} / ${s(med(rows, (r) => r.p99Ms))} / ${s(med(rows, (r) => r.maxMs))} | ${fmt(
        med(rows, (r) => r.failedAttempts),
        0,
      )} | ${pct(med(rows, (r) => r.serverBUtil))} / ${pct(med(rows, (r) => r.serverBPeakUtil))} | ${pct(med(rows, (r) => r.generatorUtil ?? Number.NaN))} | ${fmt(med(rows, (r) => r.survivorsBefore.p50Ms))} / ${fmt(med(rows, (r) => r.survivorsBefore.p99Ms))} → ${fmt(med(rows, (r) => r.survivorsDuring.p50Ms))} / ${fmt(p99)} | ${fmtRatio(medRatio(stormRuns, find(t), find('rawws'), (r) => r.survivorsDuring.p99Ms))} |`,
    );
    if (t === 'ours') {
      goals.push(
        verdict("G6 survivors' p99 during the storm ≤ 1 s (value in s)", p99 / 1000, 1, 'le').replace('×', ' s'),
      );
    }
  }
  lines.push(
    '',
    'The generator plays the load balancer: it routes new connections (and ours\' ticket requests) to B before A is killed. Times are from the kill; "during" is from the kill until the last client is back.',
    '',
  );
  return { lines, goals };
}
