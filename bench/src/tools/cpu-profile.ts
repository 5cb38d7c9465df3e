/**
 * What the profile tools share: the parts of a V8 `.cpuprofile` (node --cpu-prof) they read, self
 * time per node, and the step attribution of the "where does a path's time go" tools
 * (connect-steps.ts, stored-path-steps.ts): each sample is given to the innermost frame on its
 * stack that a tier-1 rule names, else to the innermost a tier-2 rule names, else to Node's
 * internals or "other". All times are µs, as the profile stores them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** µs since the previous sample, one per sample. */
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

/** µs of samples whose leaf is each node, by node id, in the order the nodes were first sampled. */
export function selfMicrosByNode(profile: CpuProfile): Map<number, number> {
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return selfUs;
}

/** A step's name and whether a frame (its function name and script URL) belongs to it. */
export type StepRule = [step: string, test: (fn: string, url: string) => boolean];

/** Any frame of a script whose URL contains `part`. */
export const inFile = (part: string) => (_fn: string, url: string) => url.includes(part);

/** Frames of the named functions in a script whose URL contains `part`. */
export const fnIn = (names: string[], part: string) => (fn: string, url: string) =>
  url.includes(part) && names.includes(fn);

/** node-postgres and its parts (protocol, pool, type parsers). */
export const inPgDriver = (_fn: string, url: string) =>
  /node_modules\/(pg|pg-protocol|pg-pool|pg-types|postgres-\w+)\//.test(url);

/**
 * What every tier 1 starts with: the V8 profiler's own work (and the bench's control server that
 * drives it) and idle time, both left out of "busy", then GC.
 */
export const PROFILER_GC_IDLE_RULES: StepRule[] = [
  [
    'profiler (bench artifact, not counted)',
    (_fn, url) => url === 'node:inspector' || url.includes('servers/control.ts'),
  ],
  ['GC', (fn) => fn === '(garbage collector)'],
  ['idle', (fn) => fn === '(idle)'],
];

/** The server's own work: neither idle nor the profiler's (PROFILER_GC_IDLE_RULES's step names). */
const isBusy = (step: string) => step !== 'idle' && !step.startsWith('profiler');

export interface StepRules {
  /** Steps of the path: our modules and the libraries only they call. */
  tier1: StepRule[];
  /** Only when no tier-1 frame is on the stack: what runs before our code is called, or outside it. */
  tier2: StepRule[];
  /**
   * Native leaf functions (no script URL) that are the kernel's share of a socket write: their
   * samples are shown apart, as `<step>: <label>`.
   */
  syscalls: { functions: string[]; label: string };
}

/** The step of a sample's leaf node (cached per node). */
export function stepClassifier(profile: CpuProfile, rules: StepRules): (nodeId: number) => string {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const stepCache = new Map<number, string>();
  return (id) => {
    const cached = stepCache.get(id);
    if (cached) return cached;
    let step: string | undefined;
    for (const tier of [rules.tier1, rules.tier2]) {
      for (let cur: number | undefined = id; cur !== undefined && step === undefined; cur = parent.get(cur)) {
        const { functionName, url } = byId.get(cur)!.callFrame;
        step = tier.find(([, test]) => test(functionName, url))?.[0];
      }
    }
    const leaf = byId.get(id)!.callFrame;
    if (step === undefined) {
      step = leaf.url.startsWith('node:')
        ? 'node internals (net, streams, timers)'
        : `other: ${leaf.functionName || '(anonymous)'}`;
    }
    if (!leaf.url && rules.syscalls.functions.includes(leaf.functionName)) step = `${step}: ${rules.syscalls.label}`;
    stepCache.set(id, step);
    return step;
  };
}

/** µs per step, in the order the steps were first sampled. */
export function microsByStep(profile: CpuProfile, rules: StepRules): Map<string, number> {
  const stepOf = stepClassifier(profile, rules);
  const steps = new Map<string, number>();
  for (const [id, us] of selfMicrosByNode(profile)) {
    const step = stepOf(id);
    steps.set(step, (steps.get(step) ?? 0) + us);
  }
  return steps;
}

/** µs of every busy step. */
export function busyMicros(steps: ReadonlyMap<string, number>): number {
  let busy = 0;
  for (const [step, us] of steps) if (isBusy(step)) busy += us;
  return busy;
}

/** `busy X s sampled of Y s`: the busy samples' seconds against the profile's length. */
export function busyLine(profile: CpuProfile, busyUs: number): string {
  return `busy ${(busyUs / 1e6).toFixed(2)} s sampled of ${((profile.endTime - profile.startTime) / 1e6).toFixed(2)} s`;
}

/**
 * Prints the busy steps as a Markdown table, largest first: each step's share of the busy samples
 * and, with `per`, its µs per unit (connection, message). Steps under 0.4 % share one last row.
 */
export function printStepTable(steps: ReadonlyMap<string, number>, per?: { count: number; unit: string }): void {
  const busy = busyMicros(steps);
  const perUnit = (us: number) => (per ? ` ${(us / per.count).toFixed(1)} |` : '');
  console.log(`| step | share of busy samples |${per ? ` µs per ${per.unit} |` : ''}`);
  console.log(`|---|---|${per ? '---|' : ''}`);
  let otherUs = 0;
  for (const [step, us] of [...steps].filter(([s]) => isBusy(s)).sort((a, b) => b[1] - a[1])) {
    if (us / busy < 0.004) {
      otherUs += us;
      continue;
    }
    console.log(`| ${step} | ${((us / busy) * 100).toFixed(1)} % |${perUnit(us)}`);
  }
  console.log(`| (each < 0.4 %) | ${((otherUs / busy) * 100).toFixed(1)} % |${perUnit(otherUs)}`);
}

/**
 * Starts V8's CPU profiler in this process (the client-side tools profile a window of their own
 * work); the returned function stops it and writes the profile to `file`.
 */
export async function profileThisProcess(): Promise<(file: string) => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async (file) => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    writeFileSync(file, JSON.stringify(profile));
  };
}
