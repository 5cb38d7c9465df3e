/**
 * The Markdown the CLI prints: one table per scenario with absolute figures (median over the
 * repeats) and ratios to the peers (median of the per-run ratios, each run being side by side),
 * then the issue's goals marked met / not met with the measured distance.
 */
import { TARGET_LABEL, type TargetKind } from '../common/types.ts';
import type { ChatMixResult } from '../scenarios/chatmix.ts';
import type { ConnectResult } from '../scenarios/connect.ts';
import type { CrossResult } from '../scenarios/cross.ts';
import type { FanoutResult } from '../scenarios/fanout.ts';
import type { IdleResult } from '../scenarios/idle.ts';
import type { PersistedResult } from '../scenarios/persisted.ts';
import type { SlowResult } from '../scenarios/slow.ts';
import type { StormResult } from '../scenarios/storm.ts';
import { renderChatMix } from './chatmix.ts';
import { renderConnect } from './connect.ts';
import { renderSlow } from './slow.ts';
import { fmt, fmtRatio, med, median, medRatio, pct, verdict } from './stats.ts';
import { renderStorm } from './storm.ts';

export interface RunResults {
  fanout: FanoutResult[];
  idle: IdleResult[];
  cross: CrossResult[];
  persisted: PersistedResult[];
  /** Scenarios 5–8; absent in results written before they existed. */
  slow?: SlowResult[];
  storm?: StormResult[];
  chatmix?: ChatMixResult[];
  connect?: ConnectResult[];
}

type Pick<T> = (r: T) => number;

/**
 * Scenario 2's closed loop, where its CPU went: the server, Postgres, the generator and loopback's
 * softirq, the whole machine's busy share of its cores, and the machine's CPU per message. A
 * machine near all its cores bounds the closed loop whatever any one process does (round 6,
 * goal 5). Results written before `machineUtil` existed show n/a there.
 */
function closedSplit(rows: PersistedResult[]): string {
  const split = `${pct(med(rows, (r) => sum(r.closed.serverUtil)))} / ${pct(med(rows, (r) => r.closed.postgresUtil))} / ${pct(med(rows, (r) => r.closed.generatorUtil))} / ${pct(med(rows, (r) => r.closed.softirqUtil))}`;
  const measured = rows.flatMap(({ closed: c }) =>
    c.machineUtil !== undefined && c.cores !== undefined
      ? [{ busy: c.machineUtil / c.cores, perMessageUs: (c.machineUtil * 1e6) / c.deliveredPerSec, cores: c.cores }]
      : [],
  );
  if (measured.length === 0) return `${split} | n/a | n/a`;
  const busy = med(measured, (m) => m.busy);
  return `${split} | ${pct(busy)} of ${measured[0]!.cores} cores | ${fmt(med(measured, (m) => m.perMessageUs))}`;
}

function fanoutKey(r: FanoutResult): string {
  return r.target === 'ours' ? `ours-${r.variant}` : r.target;
}

function fanoutLabel(key: string): string {
  if (key === 'ours-ingress') return 'ours (BroadcastingService)';
  if (key === 'ours-chat') return 'ours (send_message, persisted)';
  return TARGET_LABEL[key as TargetKind];
}

export function renderMarkdown(
  runs: RunResults[],
  meta: { profile: string; openRate: number; persistedRate: number },
): string {
  const out: string[] = [];
  const goals: string[] = [];

  // ---- Scenario 1
  const fanRuns = runs.map((r) => r.fanout).filter((f) => f.length > 0);
  if (fanRuns.length > 0) {
    const keys = [...new Set(fanRuns.flat().map(fanoutKey))];
    const find = (key: string) => (rows: FanoutResult[]) => rows.find((r) => fanoutKey(r) === key);
    const n = fanRuns[0]![0]!.subscribers;
    out.push(`### Scenario 1 — fan-out 1×${n}, 1 KiB (median of ${fanRuns.length} run(s))`, '');
    out.push(
      `| target | server CPU µs/delivery @${meta.openRate} msg/s | vs raw ws | vs Socket.IO | p50 / p99 / max ms @${meta.openRate} msg/s | max delivered msg/s (closed loop) | vs raw ws | vs Socket.IO | deliveries per server CPU-s (closed) | vs raw ws | CPU server / generator (closed) |`,
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const key of keys) {
      const rows = fanRuns.map((r) => find(key)(r)).filter((r): r is FanoutResult => r !== undefined);
      const vs = (peer: string, pick: Pick<FanoutResult>) => medRatio(fanRuns, find(key), find(peer), pick);
      const cpu: Pick<FanoutResult> = (r) => r.open.cpuPerDeliveryUs;
      const thr: Pick<FanoutResult> = (r) => r.closed.deliveredPerSec;
      const cap: Pick<FanoutResult> = (r) => r.closed.perCoreCapacity;
      out.push(
        `| ${fanoutLabel(key)} | ${fmt(med(rows, cpu))} | ${fmtRatio(vs('rawws', cpu))} | ${fmtRatio(vs('socketio', cpu))} | ${fmt(med(rows, (r) => r.open.p50Ms))} / ${fmt(med(rows, (r) => r.open.p99Ms))} / ${fmt(med(rows, (r) => r.open.maxMs))} | ${fmt(med(rows, thr))} | ${fmtRatio(vs('rawws', thr))} | ${fmtRatio(vs('socketio', thr))} | ${fmt(med(rows, cap))} | ${fmtRatio(vs('rawws', cap))} | ${pct(med(rows, (r) => sum(r.closed.serverUtil)))} / ${pct(med(rows, (r) => r.closed.generatorUtil))} |`,
      );
      if (key === 'ours-ingress') {
        goals.push(
          verdict('G1a fan-out server CPU/delivery ≤ 1.1× raw ws', vs('rawws', cpu), 1.1, 'le'),
          verdict('G1b fan-out delivered msg/s ≥ 0.9× raw ws', vs('rawws', thr), 0.9, 'ge'),
          verdict(
            'G1b′ (server-CPU-normalised) deliveries per server CPU-s ≥ 0.9× raw ws',
            vs('rawws', cap),
            0.9,
            'ge',
          ),
        );
      }
    }
    out.push('');
  }

  // ---- Scenario 2 (persisted path)
  const perRuns = runs.map((r) => r.persisted ?? []).filter((f) => f.length > 0);
  if (perRuns.length > 0) {
    const first = perRuns[0]![0]!;
    out.push(
      `### Scenario 2 — persisted chat path, ${first.conversations} conversations of 2 (median of ${perRuns.length} run(s))`,
      '',
      '| target | path | max messages/s (closed loop) | p50 / p99 / max ms @' +
        `${meta.persistedRate} msg/s | server CPU µs/message @${meta.persistedRate} msg/s | Postgres CPU @${meta.persistedRate} msg/s | ` +
        'closed loop, % of a core: server / Postgres / generator / softirq | machine busy (closed) | machine CPU µs/message (closed) |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const t of [...new Set(perRuns.flat().map((r) => r.target))]) {
      const rows = perRuns.flatMap((r) => r.filter((x) => x.target === t));
      const max = med(rows, (r) => r.closed.deliveredPerSec);
      const p99 = med(rows, (r) => r.open.p99Ms);
      out.push(
        `| ${TARGET_LABEL[t]} | ${t === 'ours' ? 'send_message → store (seq) → BroadcastingService' : 'relay, nothing stored (reference)'} | ${fmt(max)} | ${fmt(med(rows, (r) => r.open.p50Ms))} / ${fmt(p99)} / ${fmt(med(rows, (r) => r.open.maxMs))} | ${fmt(med(rows, (r) => r.open.cpuPerDeliveryUs))} | ${pct(med(rows, (r) => r.open.postgresUtil ?? r.open.foreignUtil))} | ${closedSplit(rows)} |`,
      );
      if (t === 'ours') {
        goals.push(
          `- G4a persisted path ≥ 3,000 messages/s on one instance: ${fmt(max)} msg/s — **${max >= 3000 ? 'met' : `not met** (${fmtRatio(max / 3000)} of the goal)`}${max >= 3000 ? '**' : ''}`,
        );
        goals.push(
          `- G4b p99 ≤ 50 ms at ${meta.persistedRate} msg/s: ${fmt(p99)} ms — **${p99 <= 50 ? 'met' : 'not met'}**`,
        );
      }
    }
    out.push('');
  }

  // ---- Scenario 3
  const idleRuns = runs.map((r) => r.idle).filter((f) => f.length > 0);
  if (idleRuns.length > 0) {
    const n = idleRuns[0]![0]!.connections;
    const find = (t: TargetKind) => (rows: IdleResult[]) => rows.find((r) => r.target === t);
    out.push(`### Scenario 3 — ${n} idle connections (median of ${idleRuns.length} run(s))`, '');
    out.push(
      '| target | RSS KB/connection | vs raw ws | vs Socket.IO | JS heap KB/connection | connect time s |',
      '|---|---|---|---|---|---|',
    );
    for (const t of [...new Set(idleRuns.flat().map((r) => r.target))]) {
      const rows = idleRuns.map((r) => find(t)(r)).filter((r): r is IdleResult => r !== undefined);
      const vsRaw = medRatio(idleRuns, find(t), find('rawws'), (r) => r.bytesPerConnection);
      out.push(
        `| ${TARGET_LABEL[t]} | ${fmt(
          med(rows, (r) => r.bytesPerConnection / 1000),
          1,
        )} | ${fmtRatio(vsRaw)} | ${fmtRatio(medRatio(idleRuns, find(t), find('socketio'), (r) => r.bytesPerConnection))} | ${fmt(
          med(rows, (r) => r.heapPerConnection / 1000),
          1,
        )} | ${fmt(
          med(rows, (r) => r.connectSeconds),
          1,
        )} |`,
      );
      if (t === 'ours') goals.push(verdict('G3 idle connection RSS ≤ 1.2× raw ws', vsRaw, 1.2, 'le'));
    }
    out.push('');
  }

  // ---- Scenario 4
  const crossRuns = runs.map((r) => r.cross).filter((f) => f.length > 0);
  if (crossRuns.length > 0) {
    const first = crossRuns[0]![0]!;
    const find = (t: TargetKind, layout: 'single' | 'dual') => (rows: CrossResult[]) =>
      rows.find((r) => r.target === t && r.layout === layout);
    out.push(
      `### Scenario 4 — ${first.rooms} rooms × ${first.perRoom} subscribers, 1 vs 2 instances + Redis (median of ${crossRuns.length} run(s))`,
      '',
    );
    out.push(
      '| target | 1-instance max msg/s | 2-instance max msg/s | 2 / 1 | 2-inst vs Socket.IO 2-inst | deliveries per server CPU-s 1 → 2 (closed; A+B+Redis) | 2 / 1 | p50 ms 1-inst → 2-inst (open) | p99 ms 2-inst (open) | idle bystander CPU (open / closed) |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const t of [...new Set(crossRuns.flat().map((r) => r.target))]) {
      const single = crossRuns.map((r) => find(t, 'single')(r)).filter((r): r is CrossResult => r !== undefined);
      const dual = crossRuns.map((r) => find(t, 'dual')(r)).filter((r): r is CrossResult => r !== undefined);
      const keep = medRatio(crossRuns, find(t, 'dual'), find(t, 'single'), (r) => r.closed.deliveredPerSec);
      const vsSio = medRatio(crossRuns, find(t, 'dual'), find('socketio', 'dual'), (r) => r.closed.deliveredPerSec);
      const capKeep = medRatio(crossRuns, find(t, 'dual'), find(t, 'single'), (r) => r.closed.perCoreCapacity);
      const capSio = medRatio(crossRuns, find(t, 'dual'), find('socketio', 'dual'), (r) => r.closed.perCoreCapacity);
      out.push(
        `| ${TARGET_LABEL[t]} | ${fmt(med(single, (r) => r.closed.deliveredPerSec))} | ${fmt(med(dual, (r) => r.closed.deliveredPerSec))} | ${fmtRatio(keep)} | ${fmtRatio(vsSio)} | ${fmt(med(single, (r) => r.closed.perCoreCapacity))} → ${fmt(med(dual, (r) => r.closed.perCoreCapacity))} | ${fmtRatio(capKeep)} | ${fmt(med(single, (r) => r.open.p50Ms))} → ${fmt(med(dual, (r) => r.open.p50Ms))} | ${fmt(med(dual, (r) => r.open.p99Ms))} | ${fmt(
          med(dual, (r) => (r.bystanderOpenUtil ?? 0) * 100),
          1,
        )} % / ${fmt(
          med(dual, (r) => (r.bystanderClosedUtil ?? 0) * 100),
          1,
        )} % |`,
      );
      if (t === 'ours') {
        goals.push(
          verdict('G2a 2 instances keep ≥ 0.85× own single-instance throughput', keep, 0.85, 'ge'),
          verdict('G2a′ (server-CPU-normalised) 2-instance capacity ≥ 0.85× single', capKeep, 0.85, 'ge'),
          verdict('G2b 2-instance throughput ≥ 1.5× Socket.IO 2-instance', vsSio, 1.5, 'ge'),
          verdict('G2b′ (server-CPU-normalised) 2-instance capacity ≥ 1.5× Socket.IO 2-instance', capSio, 1.5, 'ge'),
          `- G2c instance hosting no recipient spends ~0 CPU: ${fmt(
            med(dual, (r) => (r.bystanderClosedUtil ?? 0) * 100),
            1,
          )} % of a core at max load (${fmt(
            med(dual, (r) => (r.bystanderOpenUtil ?? 0) * 100),
            1,
          )} % in the open-loop phase)`,
        );
      }
    }
    out.push('');
  }

  for (const render of [renderSlow, renderStorm, renderChatMix, renderConnect]) {
    const part = render(runs);
    out.push(...part.lines);
    goals.push(...part.goals);
  }

  const phases = [
    ...runs.flatMap((r) => [...r.fanout, ...r.cross, ...(r.persisted ?? [])].flatMap((x) => [x.open, x.closed])),
    ...runs.flatMap((r) => (r.chatmix ?? []).map((x) => x.phase)),
  ];
  if (phases.length > 0) {
    const foreign = phases.map((p) => p.foreignUtil);
    const irq = phases.map((p) => p.softirqUtil ?? 0);
    const steal = phases.map((p) => p.stealUtil ?? 0);
    out.push(
      `During the measured phases, processes outside the bench used ${pct(median(foreign))} of a core (median; max ${pct(Math.max(...foreign))}), ` +
        `interrupt/softirq context (loopback TCP) ${pct(median(irq))} (max ${pct(Math.max(...irq))}), hypervisor steal ${pct(median(steal))} (max ${pct(Math.max(...steal))}).`,
      '',
    );
  }
  if (goals.length > 0) out.push('### Goals (ours)', '', ...goals, '');
  out.push(`_profile: ${meta.profile}; ratios are medians of per-run ratios; latency from send time in the payload._`);
  return out.join('\n');
}

function sum(values: Record<string, number>): number {
  return Object.values(values).reduce((a, b) => a + b, 0);
}
