/**
 * Re-renders the Markdown tables from a results JSON written by the CLI (e.g. after changing
 * the report, or to paste into docs/benchmarks.md): node --import tsx bench/src/tools/render.ts <results.json>
 */
import { readFileSync } from 'node:fs';
import { type RunResults, renderMarkdown } from '../report/markdown.ts';
import type { Profile } from '../scenarios/profile.ts';

const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: render.ts <results.json>');
const data = JSON.parse(readFileSync(file, 'utf8')) as { profile: Profile; runs: RunResults[] };
const runs = data.runs.map((r) => ({ ...r, persisted: r.persisted ?? [] }));
process.stdout.write(
  `${renderMarkdown(runs, {
    profile: data.profile.name,
    openRate: data.profile.fanout.openRate,
    persistedRate: data.profile.persisted?.openRate ?? 0,
  })}\n`,
);
