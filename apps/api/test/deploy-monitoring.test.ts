/**
 * deploy/'s monitoring files load and use only what the API exposes (issue #16):
 * - the Prometheus alert rules pass `promtool check rules`, and their unit tests
 *   (`promtool test rules`: each alert fires on its series, after its `for:`);
 * - the Grafana dashboard matches a schema (every panel has a datasource and targets with an
 *   expression, all on the dashboard's Prometheus variable; panels do not overlap);
 * - every metric name in a dashboard or rule expression is one a live app's /metrics serves.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Scrape, scrape } from './support/metrics-scrape.ts';
import { startTestApp, type TestApp } from './support/test-app.ts';

const run = promisify(execFile);
const DEPLOY = fileURLToPath(new URL('../../../deploy/', import.meta.url));
const RULES = `${DEPLOY}prometheus-rules.yml`;
const RULE_TESTS = `${DEPLOY}prometheus-rules.test.yml`;
const DASHBOARD = `${DEPLOY}grafana-dashboard.json`;

/** Runs promtool, or fails saying how to get it (TESTING.md: a missing tool is never a silent skip). */
async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args);
    return `${stdout}${stderr}`;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        'promtool is not installed: run `apt-get install -y --no-install-recommends prometheus` (Debian package `prometheus`; .ci/run does this)',
      );
    }
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Every panel and query uses the dashboard's `datasource` variable (Grafana's `${…}` syntax). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
const DATASOURCE_VARIABLE = '${datasource}';
const Datasource = z.strictObject({ type: z.literal('prometheus'), uid: z.literal(DATASOURCE_VARIABLE) });
const GridPos = z.strictObject({
  x: z.number().int().min(0).max(23),
  y: z.number().int().min(0),
  w: z.number().int().min(1).max(24),
  h: z.number().int().min(1),
});
const Target = z.object({
  refId: z.string().regex(/^[A-Z]$/),
  datasource: Datasource,
  expr: z.string().min(1),
  legendFormat: z.string().min(1),
});
const DataPanel = z.object({
  id: z.number().int().positive(),
  type: z.enum(['timeseries', 'stat', 'piechart', 'gauge', 'bargauge', 'table']),
  title: z.string().min(1),
  description: z.string().min(1),
  datasource: Datasource,
  gridPos: GridPos,
  targets: z.array(Target).min(1),
  fieldConfig: z.object({ defaults: z.record(z.string(), z.unknown()), overrides: z.array(z.unknown()) }),
  options: z.record(z.string(), z.unknown()),
});
const RowPanel = z.object({
  id: z.number().int().positive(),
  type: z.literal('row'),
  title: z.string().min(1),
  gridPos: GridPos,
  collapsed: z.boolean(),
  panels: z.array(z.unknown()),
});
const Variable = z.object({
  name: z.string().regex(/^\w+$/),
  type: z.enum(['datasource', 'query', 'custom', 'constant']),
});
const Dashboard = z.object({
  title: z.string().min(1),
  uid: z.string().regex(/^[\w-]{1,40}$/),
  schemaVersion: z.number().int().min(36),
  time: z.object({ from: z.string(), to: z.string() }),
  templating: z.object({ list: z.array(Variable) }),
  panels: z.array(
    z.discriminatedUnion('type', [
      DataPanel.extend({ type: z.enum(['timeseries', 'stat', 'piechart', 'gauge', 'bargauge', 'table']) }),
      RowPanel,
    ]),
  ),
});
type DashboardJson = z.infer<typeof Dashboard>;

/** Metric names in a PromQL expression: every identifier that is not a function, keyword, label or variable. */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutMatchers = withoutStrings.replace(/\{[^}]*\}/g, '{}');
  const withoutGrouping = withoutMatchers.replace(
    /\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g,
    '',
  );
  const withoutRanges = withoutGrouping.replace(/\[[^\]]*\]/g, '[]');
  const names = new Set<string>();
  for (const match of withoutRanges.matchAll(/(?<![\w$:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()/g)) {
    const name = match[1] as string;
    if (['and', 'or', 'unless', 'bool', 'offset', 'le', 'inf', 'nan'].includes(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Whether `name` (a sample name, maybe with a histogram's suffix) is served by `families`. */
function served(name: string, families: Scrape['families']): boolean {
  if (name === 'up') return true; // Prometheus' own, per target
  if (families.has(name)) return true;
  const family = name.replace(/_(bucket|sum|count)$/, '');
  return family !== name && (families.get(family) === 'histogram' || families.get(family) === 'summary');
}

let app: TestApp;
let families: Scrape['families'];
let dashboard: DashboardJson;
let ruleExprs: string[];

beforeAll(async () => {
  app = await startTestApp();
  families = (await scrape(`${app.baseUrl}/metrics`)).families;
  dashboard = Dashboard.parse(JSON.parse(await readFile(DASHBOARD, 'utf8')));
  // The `expr:` of each rule (single-line, or a `|` block up to the next key).
  const rules = await readFile(RULES, 'utf8');
  ruleExprs = [...rules.matchAll(/^ {8}expr: (?:\|\n((?: {10}.*\n)+)|(.*)\n)/gm)].map((m) =>
    (m[1] ?? m[2] ?? '').trim(),
  );
});
afterAll(async () => {
  await app.close();
});

describe('Prometheus alert rules', () => {
  it('load without errors (promtool check rules)', async () => {
    expect(await promtool('check', 'rules', RULES)).toContain('SUCCESS: 7 rules found');
  });

  it('fire on the series they are for, after their `for:` (promtool test rules)', async () => {
    expect(await promtool('test', 'rules', RULE_TESTS)).toContain('SUCCESS');
  });

  it('cover the issue: push success rate, queue age, Redis latency, missing instance, event-loop lag', async () => {
    const rules = await readFile(RULES, 'utf8');
    for (const alert of [
      'AnmeiPushSuccessRateLow',
      'AnmeiPushQueueOldestJobOld',
      'AnmeiRedisPubSubLatencyHigh',
      'AnmeiInstanceDown',
      'AnmeiInstancesAbsent',
      'AnmeiEventLoopLagHigh',
    ]) {
      expect(rules).toContain(`- alert: ${alert}\n`);
    }
    expect(ruleExprs).toHaveLength(7);
  });

  it('use only metrics the API serves', () => {
    const unknown = ruleExprs.flatMap(metricNames).filter((name) => !served(name, families));
    expect(unknown).toEqual([]);
  });
});

describe('Grafana dashboard', () => {
  it('has panels for the seed measures and the operators', () => {
    const titles = dashboard.panels.map((p) => p.title);
    for (const title of [
      'Broadcast response time',
      'Online users',
      'Online users by role',
      'Push success rate',
      'Device distribution',
      'Redis pub/sub latency',
      'Push queue depth',
      'Oldest pending push',
      'Event-loop lag',
      'Connects and disconnects',
    ]) {
      expect(titles).toContain(title);
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance']);
  });

  it('gives every panel a unique id and a place of its own on the grid', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Map<string, string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const taken = cells.get(`${i},${j}`);
          expect(taken, `${panel.title} overlaps ${taken}`).toBeUndefined();
          cells.set(`${i},${j}`, panel.title);
        }
      }
    }
  });

  it('queries only metrics the API serves', () => {
    const exprs = dashboard.panels.flatMap((p) => (p.type === 'row' ? [] : p.targets.map((t) => t.expr)));
    expect(exprs.length).toBeGreaterThan(30);
    const used = new Set(exprs.flatMap(metricNames));
    const unknown = [...used].filter((name) => !served(name, families));
    expect(unknown).toEqual([]);
    // The extraction really found the metrics (a broken parser would make the check vacuous).
    for (const name of [
      'anmei_broadcast_duration_seconds_bucket',
      'anmei_ws_online_users',
      'nodejs_eventloop_lag_p99_seconds',
    ])
      expect(used.has(name), name).toBe(true);
  });
});
