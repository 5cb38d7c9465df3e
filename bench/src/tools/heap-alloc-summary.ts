/**
 * What a phase allocated, from a V8 sampling heap profile (`BENCH_HEAP_PROFILE=1` with
 * `--cpu-prof DIR` writes `<target>-<phase>.heapprofile` beside the .cpuprofile; it counts every
 * sampled allocation, also those a GC freed since). Prints KB per unit (e.g. per reconnect): by
 * the innermost module of apps/api/src on the stack (else the allocating library or Node area),
 * and by the allocating function.
 *   node --import tsx bench/src/tools/heap-alloc-summary.ts <file.heapprofile> [units=1] [top=30]
 */
import { readFileSync } from 'node:fs';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  /** Bytes of the samples allocated by this frame itself. */
  selfSize: number;
  children: HeapNode[];
}

const [file, unitsArg = '1', topArg = '30'] = process.argv.slice(2);
if (!file) throw new Error('usage: heap-alloc-summary.ts <file.heapprofile> [units] [top]');
const units = Number(unitsArg);
const top = Number(topArg);
const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };

/** A script URL as a short area: `ws/gateway.ts` for ours, `lib:ioredis`, `node:net`, `(V8 API)`. */
function areaOf(url: string, functionName: string): string {
  const ours = /apps\/api\/src\/(.*)$/.exec(url);
  if (ours) return ours[1]!;
  const lib = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (lib) return `lib:${lib[1]}`;
  return url ? url.replace(/^node:internal\//, 'node:') : `(${functionName})`;
}

const byModule = new Map<string, number>();
const byFunction = new Map<string, number>();
let total = 0;
const add = (map: Map<string, number>, key: string, bytes: number) => map.set(key, (map.get(key) ?? 0) + bytes);

// Iterative walk: allocation stacks can be deeper than the default call stack allows.
const stack: Array<{ node: HeapNode; ours: string | undefined }> = [{ node: head, ours: undefined }];
while (stack.length > 0) {
  const { node, ours } = stack.pop()!;
  const { url, functionName, lineNumber } = node.callFrame;
  const area = areaOf(url, functionName);
  const innermostOurs = url.includes('apps/api/src/') ? area : ours;
  if (node.selfSize > 0) {
    total += node.selfSize;
    add(byModule, innermostOurs ?? area, node.selfSize);
    add(byFunction, `${functionName || '(anonymous)'}  ${area}:${lineNumber + 1}`, node.selfSize);
  }
  for (const child of node.children) stack.push({ node: child, ours: innermostOurs });
}

const kb = (bytes: number) => (bytes / units / 1024).toFixed(2).padStart(8);
console.log(`${(total / 1e6).toFixed(1)} MB sampled in all, ${kb(total).trim()} KB per unit (${units} units)`);
for (const [title, map] of [
  ['by innermost apps/api module (else the allocating area)', byModule],
  ['by allocating function', byFunction],
] as const) {
  console.log(`\n${title}: KB per unit, share`);
  for (const [key, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${kb(bytes)}  ${((bytes / total) * 100).toFixed(1).padStart(5)} %  ${key}`);
  }
}
