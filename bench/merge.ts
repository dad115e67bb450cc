/**
 * Merges results files of one machine (say, two runs that split the workloads to stay under a time
 * limit per command) into one: scaling cells are pooled (a later file wins for the same workload/P/T), the
 * first file with a micro report gives the micro section, and the table and chart are redrawn.
 *
 *   node dist/bench/merge.js bench/out/a.json bench/out/b.json [--out NAME]
 *
 * Writes bench/out/<NAME>.{json,md,svg}; NAME defaults to `<label>-<date>-merged`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { log } from './lib/args.js';
import type { MachineInfo } from './lib/machine.js';
import { scalingMarkdown, writeResults, ALL_WORKLOADS } from './lib/report.js';
import type { Cell, ScalingReport, Workload } from './lib/report.js';
import { microMarkdown } from './micro.js';
import type { MicroReport } from './micro.js';

interface Doc {
  machine: MachineInfo;
  date: string;
  micro?: MicroReport | null;
  scaling?: ScalingReport;
  control?: ScalingReport;
  summary?: Record<string, unknown>;
}

const args = process.argv.slice(2);
const oi = args.indexOf('--out');
const outName = oi >= 0 ? args[oi + 1] : undefined;
const files = args.filter((_a, i) => oi < 0 || (i !== oi && i !== oi + 1));
if (files.length === 0) throw new Error('usage: merge <results.json>... [--out NAME]');
const docs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Doc);
const first = docs[0] as Doc;
const labels = new Set(docs.map((d) => d.machine.label));
if (labels.size > 1) throw new Error(`results come from different machines: ${[...labels].join(', ')}`);

const cells = new Map<string, Cell>();
let params: ScalingReport['params'] | null = null;
for (const d of docs) {
  if (!d.scaling) continue;
  for (const c of d.scaling.cells) cells.set(`${c.workload}/${c.partitions}/${c.threads}`, c);
  const p = d.scaling.params;
  const q: ScalingReport['params'] = params ?? p;
  params = {
    ...q,
    threads: [...new Set([...q.threads, ...p.threads])].sort((x, y) => x - y),
    partitions: [...new Set([...q.partitions, ...p.partitions])].sort((x, y) => x - y),
    workloads: ALL_WORKLOADS.filter((w: Workload) => q.workloads.includes(w) || p.workloads.includes(w)),
    durationMs: Math.min(q.durationMs, p.durationMs),
    repeats: Math.min(q.repeats, p.repeats),
  };
}
if (params === null) throw new Error('no scaling report in these files');
const scaling: ScalingReport = { params, cells: [...cells.values()] };
const micro = docs.find((d) => d.micro)?.micro ?? null;
const control = docs.find((d) => d.control)?.control ?? null;
const machine = first.machine;
const base = outName ?? `${machine.label}-${first.date.slice(0, 10)}-merged`;
let md = `# Roster benchmarks — ${machine.label}, ${first.date.slice(0, 10)} (merged from ${files.length} runs)\n\n`;
md += `${machine.cpuModel}; ${machine.availableParallelism} cores; ${(machine.memoryBytes / 2 ** 30).toFixed(0)} GiB; Node ${machine.node}.\n\n`;
if (micro) md += `## Micro-benchmarks (single thread, 100k string keys, shuffled)\n\n${microMarkdown(micro)}\n`;
md += `## Scaling\n\n${scalingMarkdown(scaling, machine)}`;
if (control) md += `\n### Control: thread-local \`Map.get\`\n\n${scalingMarkdown(control, machine).split('\n').slice(3).join('\n')}`;
const out = writeResults(
  base,
  { kind: 'roster-bench', merged: files, date: first.date, machine, summary: docs.find((d) => d.summary)?.summary ?? null, micro, scaling, control },
  md,
  scaling,
  machine,
);
log(`wrote ${out.json}\n      ${out.md}\n      ${out.svg ?? ''}`);
