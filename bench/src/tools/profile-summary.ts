/**
 * Summarises a V8 .cpuprofile (from `--cpu-prof`): self time by function and by package /
 * source area, so docs/benchmarks.md can say where the time goes.
 *   node --import tsx bench/src/tools/profile-summary.ts <file.cpuprofile> [top=25]
 */
import { readProfile, selfMicrosByNode } from './cpu-profile.ts';

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
const top = Number(topArg ?? 25);
const profile = readProfile(file);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = selfMicrosByNode(profile);

function area(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const nm = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return url.split('/')[0]!.replace(/^node:internal/, 'node:internal');
  const src = /\/(apps\/api\/src|packages\/[^/]+\/src|bench\/src)\/(.*)$/.exec(url);
  return src ? `${src[1]}/${src[2]}` : url;
}

const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const fns = new Map<string, number>();
const areas = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  const a = area(n.callFrame.url, n.callFrame.functionName);
  const key = `${n.callFrame.functionName || '(anonymous)'}  ${a}:${n.callFrame.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
  areas.set(a, (areas.get(a) ?? 0) + us);
}
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
console.log(`total sampled ${(total / 1e6).toFixed(2)} s`);
console.log('\nself time by area');
for (const [k, v] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}  ${k}`);
console.log('\nself time by function');
for (const [k, v] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}  ${k}`);
