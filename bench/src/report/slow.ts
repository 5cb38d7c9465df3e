/** Scenario 5's table (slow consumer) and its goals. */
import { TARGET_LABEL, type TargetKind } from '../common/types.ts';
import type { SlowResult } from '../scenarios/slow.ts';
import { fmt, fmtRatio, med, medRatio, pct, verdict } from './stats.ts';

interface RunsWithSlow {
  slow?: SlowResult[];
}

const mib = (bytes: number) => bytes / 1048576;
const growth = (r: SlowResult) => mib(r.rssMax - r.rssAtPause);

export function renderSlow(runs: RunsWithSlow[]): { lines: string[]; goals: string[] } {
  const slowRuns = runs.map((r) => r.slow ?? []).filter((s) => s.length > 0);
  if (slowRuns.length === 0) return { lines: [], goals: [] };
  const first = slowRuns[0]![0]!;
  const slowS = first.samples.at(-1)?.t ?? 0;
  const find = (t: TargetKind) => (rows: SlowResult[]) => rows.find((r) => r.target === t);
  const lines = [
    `### Scenario 5 — slow consumer: 1 of ${first.subscribers} subscribers stops reading for ${fmt(slowS, 0)} s (median of ${slowRuns.length} run(s))`,
    '',
    '| target | queue cap | others p50 / p99 ms, all reading → one paused | p99 paused / all reading | p99 paused vs raw ws | server RSS MiB at pause → max → end | RSS growth MiB | vs raw ws | largest socket queue MiB | slow socket closed after | close code seen by the slow client | server CPU all reading → one paused |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const goals: string[] = [];
  for (const t of [...new Set(slowRuns.flat().map((r) => r.target))]) {
    const rows = slowRuns.map((r) => find(t)(r)).filter((r): r is SlowResult => r !== undefined);
    const rise = med(rows, (r) => r.slow.p99Ms / r.baseline.p99Ms);
    const closed = rows.map((r) => r.closedAfterS).filter((s): s is number => s !== null);
    const codes = [...new Set(rows.map((r) => String(r.closeCode ?? 'none')))].join(', ');
    lines.push(
      `| ${TARGET_LABEL[t]} | ${rows[0]!.cap ? `${fmt(mib(rows[0]!.cap), 1)} MiB (WS_MAX_BUFFERED_BYTES)` : 'none'} | ${fmt(med(rows, (r) => r.baseline.p50Ms))} / ${fmt(med(rows, (r) => r.baseline.p99Ms))} → ${fmt(med(rows, (r) => r.slow.p50Ms))} / ${fmt(med(rows, (r) => r.slow.p99Ms))} | ${fmtRatio(rise)} | ${fmtRatio(medRatio(slowRuns, find(t), find('rawws'), (r) => r.slow.p99Ms))} | ${fmt(
        med(rows, (r) => mib(r.rssAtPause)),
        1,
      )} → ${fmt(
        med(rows, (r) => mib(r.rssMax)),
        1,
      )} → ${fmt(
        med(rows, (r) => mib(r.rssEnd)),
        1,
      )} | ${fmt(med(rows, growth), 1)} | ${fmtRatio(medRatio(slowRuns, find(t), find('rawws'), growth))} | ${fmt(
        med(rows, (r) => mib(r.maxQueuedBytes)),
        2,
      )} | ${
        closed.length === rows.length
          ? `${fmt(
              med(rows, (r) => r.closedAfterS ?? Number.NaN),
              1,
            )} s`
          : closed.length === 0
            ? 'never'
            : `${closed.length} of ${rows.length} runs`
      } | ${codes} | ${pct(med(rows, (r) => r.baseline.serverUtil))} → ${pct(med(rows, (r) => r.slow.serverUtil))} |`,
    );
    if (t === 'ours') {
      const allClosed = closed.length === rows.length;
      goals.push(
        `- G5a server memory bounded by the queue cap: slow socket ${
          allClosed
            ? `closed after ${fmt(
                med(rows, (r) => r.closedAfterS ?? Number.NaN),
                1,
              )} s with ${codes}`
            : 'not closed'
        }, RSS +${fmt(med(rows, growth), 1)} MiB — **${allClosed ? 'met' : 'not met'}**`,
        verdict("G5b the others' p99 does not rise (paused / all reading ≤ 1.1)", rise, 1.1, 'le'),
      );
    }
  }
  lines.push(
    '',
    "The slow subscriber also reads a side stream of large messages that nobody else gets, so its queue fills in seconds; the others' latency excludes it. \"Closed after\" is when the server's own queue report first showed the socket closing or gone; the slow client then reads again, so the close code is the one in the server's close frame (Socket.IO: its disconnect reason).",
    '',
  );
  return { lines, goals };
}
