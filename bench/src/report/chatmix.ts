/** Scenario 7's table (chat mix). */
import { TARGET_LABEL, type TargetKind } from '../common/types.ts';
import type { ChatMixResult } from '../scenarios/chatmix.ts';
import { fmt, fmtRatio, med, medRatio, pct } from './stats.ts';

interface RunsWithChatMix {
  chatmix?: ChatMixResult[];
}

const serverCpu = (r: ChatMixResult) => Object.values(r.phase.serverCpu).reduce((a, b) => a + b, 0);
/** Server CPU µs per message sent (each message is delivered to 1–4 others). */
const perMessage = (r: ChatMixResult) => (r.phase.published > 0 ? (serverCpu(r) * 1e6) / r.phase.published : 0);
const util = (r: ChatMixResult) => serverCpu(r) / r.phase.seconds;

/** The path column's part for reads: a `read` frame per delivery, or the SDK's coalescing interval. */
function readsLabel(rows: ChatMixResult[]): string {
  const interval = rows.find((r) => r.readIntervalMs !== null)?.readIntervalMs;
  if (interval === undefined || interval === null) return '';
  return interval === 0 ? '; `read` per delivery' : `; reads coalesced per ${interval} ms (SDK)`;
}

export function renderChatMix(runs: RunsWithChatMix[]): { lines: string[]; goals: string[] } {
  const mixRuns = runs.map((r) => r.chatmix ?? []).filter((x) => x.length > 0);
  if (mixRuns.length === 0) return { lines: [], goals: [] };
  const first = mixRuns[0]![0]!;
  const find = (t: TargetKind) => (rows: ChatMixResult[]) => rows.find((r) => r.target === t);
  const lines = [
    `### Scenario 7 — chat mix: ${first.connections} connections in ${first.conversations} conversations of 2–5, every member sends ${first.ratePerMember} msg/s${mixRuns.flat().some((r) => r.readIntervalMs !== null) ? ' (ours: and every message received marked read)' : ''}${mixRuns.flat().some((r) => r.staff) ? ' (ours: a consultant in each conversation)' : ''} (median of ${mixRuns.length} run(s))`,
    '',
    '| target | path | messages/s sent | deliveries/s (expected) | p50 / p99 / max ms | p99 vs raw ws | server CPU (share of a core) | vs raw ws | server CPU µs/message | Postgres CPU |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const t of [...new Set(mixRuns.flat().map((r) => r.target))]) {
    const rows = mixRuns.map((r) => find(t)(r)).filter((r): r is ChatMixResult => r !== undefined);
    lines.push(
      `| ${TARGET_LABEL[t]} | ${t === 'ours' ? `send_message → store (seq) → BroadcastingService${readsLabel(rows)}${rows.some((r) => r.staff) ? '; push decisions' : ''}` : 'relay, nothing stored'} | ${fmt(
        med(rows, (r) => r.phase.published / r.phase.seconds),
        0,
      )} | ${fmt(
        med(rows, (r) => r.phase.deliveredPerSec),
        0,
      )} (${fmt(first.expectedDeliveriesPerSec, 0)}) | ${fmt(med(rows, (r) => r.phase.p50Ms))} / ${fmt(med(rows, (r) => r.phase.p99Ms))} / ${fmt(med(rows, (r) => r.phase.maxMs))} | ${fmtRatio(medRatio(mixRuns, find(t), find('rawws'), (r) => r.phase.p99Ms))} | ${pct(med(rows, util))} | ${fmtRatio(medRatio(mixRuns, find(t), find('rawws'), util))} | ${fmt(med(rows, perMessage))} | ${pct(med(rows, (r) => r.phase.postgresUtil))} |`,
    );
  }
  lines.push('', 'The peers relay without storing: their rows are a reference, not a like-for-like comparison.', '');
  return { lines, goals: [] };
}
