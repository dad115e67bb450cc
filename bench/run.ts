/**
 * The benchmark suite: micro-benchmarks, then the scaling grid; writes
 * bench/out/<machine label>-<date>[-quick].{json,md,svg} and ends with ONE line of JSON on stdout.
 *
 *   npm run bench        # quick: micro subset + scaling P ∈ {1,16}, 3 × 400 ms per cell, then the actor figures (≈ 2–4 min on 2 cores)
 *   npm run bench:full   # whole grid: full micro suite + P ∈ {1,2,4,8,16}, 5 × 1000 ms per cell
 *
 * Then the actor runtime's figures (bench/actors.ts) and those of supervision, get-or-start, the event
 * bus and the chat service (bench/supervision.ts), each beside its same-run baseline.
 *
 * Flags (after `--` with npm): --quick, --label NAME, --out NAME, --skip-micro, --skip-actors, --no-write, --micro-partitions N, --rounds N, --clock cpu,
 * and the scaling flags --threads, --partitions, --workloads, --duration, --repeats, --preload, --hot.
 *
 * @module
 */
import os from 'node:os';
import { relative } from 'node:path';
import { log } from './lib/args.js';
import { machineInfo, today } from './lib/machine.js';
import { cellAt, scalingMarkdown, writeResults } from './lib/report.js';
import { actorsMarkdown, runActors } from './actors.js';
import { runSupervision, supervisionMarkdown, type SupervisionSummary } from './supervision.js';
import type { ActorBenchReport } from './actors.js';
import { microMarkdown, runMicro } from './micro.js';
import type { MicroReport } from './micro.js';
import { InvariantError, runScaling, scalingParamsFrom } from './scaling.js';
import type { ScalingReport } from './lib/report.js';

function take(argv: string[], name: string, hasValue: boolean): string | true | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  if (!hasValue) {
    argv.splice(i, 1);
    return true;
  }
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = take(argv, 'quick', false) === true;
  const skipMicro = take(argv, 'skip-micro', false) === true;
  const skipActors = take(argv, 'skip-actors', false) === true;
  const microPartitions = Number(take(argv, 'micro-partitions', true) ?? 1);
  const rounds = Number(take(argv, 'rounds', true) ?? 3);
  const clock = take(argv, 'clock', true) === 'cpu' ? 'cpu' : 'wall';
  const { label, write, out, ...params } = scalingParamsFrom(argv, quick);
  const machine = machineInfo(label);
  const started = Date.now();
  const loadStart = os.loadavg();
  if ((loadStart[0] ?? 0) > 0.5 * machine.availableParallelism)
    log(`warning: load average ${loadStart[0]?.toFixed(2)} on ${machine.availableParallelism} cores: other processes will distort the figures`);
  log(`roster bench (${quick ? 'quick' : 'full'}): ${machine.label} — ${machine.cpuModel}, ${machine.availableParallelism} cores, node ${machine.node}`);

  let micro: MicroReport | null = null;
  if (!skipMicro) {
    log(`\n== micro-benchmarks (single thread, ${quick ? 'subset' : 'all'}) ==`);
    micro = await runMicro({ quick, keys: 100_000, partitions: microPartitions, baselinesOnly: false, rounds, clock });
    log(microMarkdown(micro));
  }

  log(`\n== scaling: workloads ${params.workloads.join(',')}; P ${params.partitions.join(',')}; T ${params.threads.join(',')}; ${params.repeats} × ${params.durationMs} ms ==`);
  const scaling: ScalingReport = await runScaling(params);
  // The control: the same threads doing Map.get on thread-local Maps. If this does not scale either,
  // the machine (other load, SMT, frequency) is the limit, not Roster.
  log(`\n== control: map-read-only (thread-local Map.get), T ${params.threads.join(',')} ==`);
  const control: ScalingReport = await runScaling({ ...params, workloads: ['map-read-only'], partitions: [1] });
  let actors: ActorBenchReport | null = null;
  if (!skipActors) {
    log(`\n== actors: runtime figures beside same-run baselines (2 schedulers) ==`);
    actors = await runActors({ quick, rounds });
    log(actorsMarkdown(actors));
  }
  let supervision: SupervisionSummary | null = null;
  if (!skipActors) {
    log(`\n== supervision: get-or-start, the event bus, recovery, the chat service (2 schedulers) ==`);
    supervision = await runSupervision({ quick });
    log(supervisionMarkdown(supervision));
  }
  const date = today();
  let md = `# Roster benchmarks — ${machine.label}, ${date}${quick ? ' (quick run)' : ''}\n\n`;
  md += `${machine.cpuModel}; ${machine.availableParallelism} cores; ${(machine.memoryBytes / 2 ** 30).toFixed(0)} GiB; Node ${machine.node} (V8 ${machine.v8}); ${machine.platform}.\n\n`;
  const extra = process.argv.slice(2).filter((a) => a !== '--quick');
  md += `Reproduce: \`npm run ${quick ? 'bench' : 'bench:full'}${extra.length > 0 ? ` -- ${extra.join(' ')}` : ''}\`` +
    ` (load average at the start: ${loadStart.map((x) => x.toFixed(2)).join(', ')}; micro clock: ${clock}).\n\n`;
  if (micro) md += `## Micro-benchmarks (single thread, 100k string keys, shuffled)\n\n${microMarkdown(micro)}\n`;
  md += `## Scaling\n\n${scalingMarkdown(scaling, machine)}`;
  md += `\n### Control: thread-local \`Map.get\` in the same threads (the machine's own read scaling)\n\n`;
  md += scalingMarkdown(control, machine).split('\n').slice(3).join('\n');
  if (actors) md += `\n## Actor runtime (2 schedulers; baselines in the same run)\n\n${actorsMarkdown(actors)}\n`;
  if (supervision) md += `\n## Supervision, get-or-start, event bus (2 schedulers; baselines in the same run)\n\n${supervisionMarkdown(supervision)}\n`;
  log('\n' + md);

  const bigP = Math.max(...params.partitions);
  const scalingLine: Record<string, number> = {};
  const churnLine: Record<string, number> = {};
  for (const t of params.threads) {
    const c = cellAt(scaling, 'read-mostly', bigP, t);
    if (c) scalingLine[String(t)] = Math.round(c.aggregate);
    const ch = cellAt(scaling, 'churn', bigP, t);
    if (ch) churnLine[String(t)] = Math.round(ch.aggregate);
  }
  const maxT = Math.max(...params.threads);
  const speedup = (w: 'read-mostly' | 'churn'): number | null => cellAt(scaling, w, bigP, maxT)?.speedup ?? null;
  const summary = {
    lookupVsMap: micro?.summary.lookupVsMap ?? null,
    lookupVsSharedmap: micro?.summary.lookupVsSharedmap ?? null,
    lookupVsPostMessage: micro?.summary.lookupVsPostMessage ?? null,
    whereisVsMap: micro?.summary.whereisVsMap ?? null,
    lookupOpsPerSec: micro?.benches['lookup-hit/roster.lookup']?.opsPerSec ?? null,
    mapGetOpsPerSec: micro?.benches['lookup-hit/Map.get']?.opsPerSec ?? null,
    registerUnregisterOpsPerSec: micro?.summary.registerUnregisterOpsPerSec ?? null,
    registerUnregisterPairsPerSec: micro?.summary.registerUnregisterPairsPerSec ?? null,
    scaling: scalingLine,
    scalingPartitions: bigP,
    readMostlySpeedupAtMaxThreads: speedup('read-mostly'),
    churnScaling: churnLine,
    churnSpeedupAtMaxThreads: speedup('churn'),
    controlMapReadScaling: Object.fromEntries(
      params.threads.map((t) => [String(t), Math.round(cellAt(control, 'map-read-only', 1, t)?.aggregate ?? 0)]),
    ),
    ...(actors?.summary ?? {}),
    ...(supervision ?? {}),
    actorScenarios: actors?.scenarios ?? null,
    cpus: machine.availableParallelism,
    loadavg: os.loadavg()[0],
    machine: machine.label,
    quick,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  let file: string | null = null;
  if (write) {
    const files = writeResults(
      out ?? `${machine.label}-${date}${quick ? '-quick' : ''}`,
      { kind: 'roster-bench', date: new Date().toISOString(), quick, machine, loadavg: { start: loadStart, end: os.loadavg() }, summary, micro, scaling, control, actors, supervision },
      md,
      scaling,
      machine,
    );
    file = relative(process.cwd(), files.json);
    log(`wrote ${files.json}\n      ${files.md}\n      ${files.svg ?? ''}`);
  }
  process.stdout.write(JSON.stringify({ ...summary, results: file }) + '\n');
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e instanceof InvariantError ? `FAILED: ${e.message}` : e);
  process.exit(e instanceof InvariantError ? 2 : 1);
});
