/**
 * What the heap gained between two snapshots, by constructor (self size), e.g. what N idle
 * connections cost: node --import tsx bench/src/tools/heap-diff.ts before.heapsnapshot after.heapsnapshot [per=N] [top]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function byConstructor(file: string): Map<string, { count: number; bytes: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    const name = type === 'object' || type === 'closure' ? s.strings[s.nodes[i + iName]!]! : `(${type})`;
    const key = type === 'closure' ? `closure ${name}` : name;
    const e = out.get(key) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += s.nodes[i + iSize]!;
    out.set(key, e);
  }
  return out;
}

const [a, b, perArg, topArg] = process.argv.slice(2);
if (!a || !b) throw new Error('usage: heap-diff.ts before.heapsnapshot after.heapsnapshot [per] [top]');
const per = Number(perArg ?? 1);
const before = byConstructor(a);
const after = byConstructor(b);
const rows = [...after].map(([k, v]) => {
  const was = before.get(k) ?? { count: 0, bytes: 0 };
  return { k, count: (v.count - was.count) / per, bytes: (v.bytes - was.bytes) / per };
});
const total = rows.reduce((sum, r) => sum + r.bytes, 0);
console.log(`heap growth per unit: ${(total / 1000).toFixed(2)} KB`);
for (const r of rows.sort((x, y) => y.bytes - x.bytes).slice(0, Number(topArg ?? 30))) {
  console.log(`${r.bytes.toFixed(0).padStart(7)} B  ${r.count.toFixed(2).padStart(6)}×  ${r.k}`);
}
