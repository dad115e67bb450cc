/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function, top 30, as a table.
 *
 *   node dist/bench/cpuprofile-top.js <file.cpuprofile> [--top 30]
 *
 * @module
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (file === undefined) throw new Error('usage: cpuprofile-top <file.cpuprofile> [--top N]');
const ti = process.argv.indexOf('--top');
const top = ti > 0 ? Number(process.argv[ti + 1]) : 30;
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map<number, Node>();
for (const n of prof.nodes) byId.set(n.id, n);
const self = new Map<string, number>();
let total = 0;
prof.samples.forEach((id, i) => {
  const n = byId.get(id);
  if (n === undefined) return;
  const dt = prof.timeDeltas[i] ?? 0;
  const cf = n.callFrame;
  const where = cf.url === '' ? '' : ` ${cf.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${cf.lineNumber + 1}`;
  const name = `${cf.functionName || '(anonymous)'}${where}`;
  self.set(name, (self.get(name) ?? 0) + dt);
  total += dt;
});
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`| self % | self ms | function |\n|---:|---:|---|`);
for (const [name, us] of rows) console.log(`| ${((100 * us) / total).toFixed(1)} | ${(us / 1000).toFixed(0)} | ${name} |`);
console.log(`\ntotal ${(total / 1000).toFixed(0)} ms sampled`);
