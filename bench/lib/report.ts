/**
 * Scaling results: types, the Markdown table, the hand-written SVG chart, and the results files.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MachineInfo } from './machine.js';
import { fmtOps } from './args.js';

export type Workload = 'read-mostly' | 'mixed' | 'churn' | 'contention' | 'read-only' | 'map-read-only';
/** The default grid's workloads. */
export const WORKLOADS: readonly Workload[] = ['read-mostly', 'mixed', 'churn', 'contention'];
/**
 * Also accepted by --workloads, as diagnostics for read scaling: 'read-only' (100% Roster lookup) and
 * 'map-read-only' (the control: 100% `Map.get` on a thread-local Map of the same keys, which shows how
 * well this machine scales independent reads at that moment).
 */
export const ALL_WORKLOADS: readonly Workload[] = [...WORKLOADS, 'read-only', 'map-read-only'];

export interface ScalingParams {
  readonly threads: readonly number[];
  readonly partitions: readonly number[];
  readonly workloads: readonly Workload[];
  readonly durationMs: number;
  readonly repeats: number;
  readonly preload: number;
  readonly hotKeys: number;
  readonly seed: number;
  /** The registry's `lookupCache` option; null = Roster's default. */
  readonly lookupCache: number | null;
}

export interface RunFigures {
  /** Sum of the threads' ops/s. */
  readonly aggregate: number;
  /** Each thread's ops/s (ops / its own measured time). */
  readonly perThread: readonly number[];
  readonly ops: number;
  readonly lookups: number;
  readonly writes: number;
  readonly wins: number;
  readonly losses: number;
  /** registry.count() after the run. */
  readonly count: number;
  readonly wallMs: number;
}

export interface Cell {
  readonly workload: Workload;
  readonly partitions: number;
  readonly threads: number;
  readonly runs: readonly RunFigures[];
  /** The untimed first run (JIT and caches settle), kept for the record. */
  readonly warmup: RunFigures;
  /** Time from spawning the workers until all had attached, warmed up and reached the first barrier. */
  readonly setupMs: number;
  /** Median over runs of the aggregate ops/s. */
  readonly aggregate: number;
  /** Per-thread ops/s of the run whose aggregate is the median. */
  readonly perThread: readonly number[];
  /** Mean per-thread ops/s (aggregate / threads). */
  readonly perThreadMean: number;
  /** aggregate / aggregate at 1 thread (same workload and partitions); null without a 1-thread cell. */
  readonly speedup: number | null;
  /** speedup / threads. */
  readonly efficiency: number | null;
}

export interface ScalingReport {
  readonly params: ScalingParams;
  readonly cells: readonly Cell[];
}

export function cellAt(rep: ScalingReport, w: Workload, p: number, t: number): Cell | undefined {
  return rep.cells.find((c) => c.workload === w && c.partitions === p && c.threads === t);
}

/** Markdown: one table per workload, rows = threads, columns = partitions, "aggregate (efficiency)". */
export function scalingMarkdown(rep: ScalingReport, machine: MachineInfo): string {
  const { params } = rep;
  const out: string[] = [
    `Machine: ${machine.label} — ${machine.cpuModel}, ${machine.availableParallelism} cores, ` +
      `${(machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${machine.node}.`,
    `Each cell: aggregate ops/s over all threads, median of ${params.repeats} runs of ${params.durationMs} ms ` +
      `after one untimed warm-up run (efficiency = speedup over 1 thread ÷ threads). ${params.preload} preloaded keys; contention races for ${params.hotKeys} keys` +
      `${params.lookupCache === null ? '' : `; lookupCache ${params.lookupCache}`}.`,
    '',
  ];
  for (const w of params.workloads) {
    out.push(`#### ${w}`, '');
    out.push(`| threads | ${params.partitions.map((p) => `P=${p}`).join(' | ')} |`);
    out.push(`|---:|${params.partitions.map(() => '---:').join('|')}|`);
    for (const t of params.threads) {
      const row = params.partitions.map((p) => {
        const c = cellAt(rep, w, p, t);
        if (!c) return '–';
        const eff = c.efficiency === null || t === 1 ? '' : ` (${(c.efficiency * 100).toFixed(0)}%)`;
        return `${fmtOps(c.aggregate)}${eff}`;
      });
      out.push(`| ${t} | ${row.join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function fmtAxis(v: number): string {
  if (v === 0) return '0';
  if (v >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(1)}`;
}

/**
 * SVG chart, written by hand: one panel per workload (two columns), aggregate ops/s (y, linear from 0)
 * against threads (x, evenly spaced, i.e. a log scale for powers of two), one line per partition count,
 * plus a dashed "linear" line from the best 1-thread figure.
 */
export function scalingSvg(rep: ScalingReport, machine: MachineInfo): string {
  const { params } = rep;
  const PW = 440;
  const PH = 300;
  const M = { l: 64, r: 16, t: 36, b: 44 };
  const cols = Math.min(2, params.workloads.length);
  const rows = Math.ceil(params.workloads.length / cols);
  const headH = 56;
  const W = cols * PW;
  const H = headH + rows * PH;
  const s: string[] = [];
  s.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  s.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  s.push(
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(
      `Roster scaling: aggregate ops/s vs threads — ${machine.label} (${machine.cpuModel}, ${machine.availableParallelism} cores), Node ${machine.node}`,
    )}</text>`,
  );
  // Legend.
  const lx0 = W / 2 - (params.partitions.length * 70 + 90) / 2;
  params.partitions.forEach((p, i) => {
    const x = lx0 + i * 70;
    const c = COLORS[i % COLORS.length] as string;
    s.push(`<line x1="${x}" y1="38" x2="${x + 22}" y2="38" stroke="${c}" stroke-width="2.5"/>`);
    s.push(`<circle cx="${x + 11}" cy="38" r="3" fill="${c}"/>`);
    s.push(`<text x="${x + 27}" y="42">P=${p}</text>`);
  });
  {
    const x = lx0 + params.partitions.length * 70;
    s.push(`<line x1="${x}" y1="38" x2="${x + 22}" y2="38" stroke="#999" stroke-width="1.5" stroke-dasharray="4 3"/>`);
    s.push(`<text x="${x + 27}" y="42">linear</text>`);
  }
  params.workloads.forEach((w, wi) => {
    const ox = (wi % cols) * PW;
    const oy = headH + Math.floor(wi / cols) * PH;
    const x0 = ox + M.l;
    const x1 = ox + PW - M.r;
    const y0 = oy + PH - M.b;
    const y1 = oy + M.t;
    const ts = params.threads;
    const cells = rep.cells.filter((c) => c.workload === w);
    const best1 = Math.max(0, ...cells.filter((c) => c.threads === 1).map((c) => c.aggregate));
    const maxY = Math.max(1, ...cells.map((c) => c.aggregate));
    const step = niceStep(maxY / 5);
    const top = Math.ceil(maxY / step) * step;
    const xAt = (i: number): number => (ts.length === 1 ? (x0 + x1) / 2 : x0 + ((x1 - x0) * i) / (ts.length - 1));
    const yAt = (v: number): number => y0 - ((y0 - y1) * Math.min(v, top)) / top;
    s.push(`<text x="${(x0 + x1) / 2}" y="${oy + 22}" text-anchor="middle" font-size="13" font-weight="bold">${esc(w)}</text>`);
    for (let v = 0; v <= top + step / 2; v += step) {
      const y = yAt(v);
      s.push(`<line x1="${x0}" y1="${y.toFixed(1)}" x2="${x1}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`);
      s.push(`<text x="${x0 - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#555">${fmtAxis(v)}</text>`);
    }
    ts.forEach((t, i) => {
      const x = xAt(i);
      s.push(`<line x1="${x.toFixed(1)}" y1="${y0}" x2="${x.toFixed(1)}" y2="${y0 + 4}" stroke="#333"/>`);
      s.push(`<text x="${x.toFixed(1)}" y="${y0 + 16}" text-anchor="middle" fill="#555">${t}</text>`);
    });
    s.push(`<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#333"/>`);
    s.push(`<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#333"/>`);
    s.push(`<text x="${(x0 + x1) / 2}" y="${y0 + 32}" text-anchor="middle">threads</text>`);
    s.push(`<text transform="translate(${ox + 14},${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle">ops/s (all threads)</text>`);
    if (best1 > 0 && ts.length > 1) {
      // The linear-scaling reference may leave the panel: clip it to the plot area.
      const yRaw = (v: number): number => y0 - ((y0 - y1) * v) / top;
      const pts = ts.map((t, i) => `${xAt(i).toFixed(1)},${yRaw(best1 * t).toFixed(1)}`).join(' ');
      s.push(`<clipPath id="clip${wi}"><rect x="${x0}" y="${y1 - 2}" width="${x1 - x0}" height="${y0 - y1 + 2}"/></clipPath>`);
      s.push(`<polyline points="${pts}" fill="none" stroke="#999" stroke-width="1.5" stroke-dasharray="4 3" clip-path="url(#clip${wi})"/>`);
    }
    params.partitions.forEach((p, pi) => {
      const c = COLORS[pi % COLORS.length] as string;
      const pts: string[] = [];
      ts.forEach((t, i) => {
        const cell = cells.find((x) => x.partitions === p && x.threads === t);
        if (cell) pts.push(`${xAt(i).toFixed(1)},${yAt(cell.aggregate).toFixed(1)}`);
      });
      if (pts.length > 1) s.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${c}" stroke-width="2"/>`);
      for (const pt of pts) {
        const [cx, cy] = pt.split(',');
        s.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${c}"><title>${esc(`${w}, P=${p}`)}</title></circle>`);
      }
    });
  });
  s.push('</svg>');
  return s.join('\n') + '\n';
}

export interface ResultFiles {
  readonly json: string;
  readonly md: string;
  readonly svg: string | null;
}

/**
 * Writes bench/out/<base>.json (everything), <base>.md (tables) and <base>.svg (chart, when there
 * is a scaling report). `base` is `<machine label>-<date>[-<suffix>]`. bench/out/ is ignored by git:
 * results worth keeping are copied to bench/results/ by hand.
 */
export function writeResults(base: string, doc: Record<string, unknown>, md: string, scaling: ScalingReport | null, machine: MachineInfo): ResultFiles {
  const dir = fileURLToPath(new URL('../../../bench/out/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const json = `${dir}${base}.json`;
  const mdFile = `${dir}${base}.md`;
  writeFileSync(json, JSON.stringify(doc, null, 2) + '\n');
  let svg: string | null = null;
  if (scaling !== null && scaling.cells.length > 0) {
    svg = `${dir}${base}.svg`;
    writeFileSync(svg, scalingSvg(scaling, machine));
    md += `\n![scaling chart](./${base}.svg)\n`;
  }
  writeFileSync(mdFile, md);
  return { json, md: mdFile, svg };
}
