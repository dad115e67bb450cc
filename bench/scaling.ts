/**
 * Scaling benchmark: T worker threads attach to one registry of P partitions and run a workload for a
 * fixed time, starting together on a shared-memory barrier; per-thread op counters live in a SAB.
 * After every run the registry's invariants are checked while the workers are still alive; a violation
 * aborts the benchmark with exit code 2.
 *
 *   node dist/bench/scaling.js [--threads 1,2,4,8,16] [--partitions 1,2,4,8,16]
 *        [--workloads read-mostly,mixed,churn,contention] [--duration 1000] [--repeats 5]
 *        [--preload 100000] [--hot 8] [--lookup-cache N] [--label NAME] [--out NAME] [--no-write]
 *
 * Writes bench/out/<NAME>.{json,md,svg}; NAME defaults to `<label>-<date>-scaling`, label to
 * `<cores>c-<cpu>`.
 *
 * Workloads (each registry call counts as one op):
 * - read-mostly: 99% lookup of preloaded keys, 1% register/unregister of the thread's own keys;
 * - mixed: the same at 90/10;
 * - churn: 50/50 register/unregister of distinct per-thread keys (each thread holds ~64 at a time);
 * - contention: every thread races to register the same few unique keys (`--hot`), and releases what it wins;
 * - diagnostics, only when named in --workloads: read-only (100% lookup) and map-read-only (100% Map.get
 *   on a thread-local Map: the machine's own read scaling, the control for read-only).
 *
 * @module
 */
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Registry } from '../src/index.js';
import { makeKeys } from './lib/keys.js';
import { flagList, flagNumber, flagString, flagStrings, fmtOps, log, median, parseFlags } from './lib/args.js';
import { machineInfo, today } from './lib/machine.js';
import { ALL_WORKLOADS, WORKLOADS, scalingMarkdown, writeResults } from './lib/report.js';
import type { Cell, RunFigures, ScalingParams, ScalingReport, Workload } from './lib/report.js';
import type { ScalingWorkerInit, ScalingWorkerResult } from '../workers/bench-scaling.js';

// Same layout as workers/bench-scaling.ts (not imported: importing the worker module would run it).
const READY = 0;
const GO = 1;
const STOP = 2;
const CHECKED = 3;
const COUNTER_STRIDE = 16;

export class InvariantError extends Error {
  override name = 'InvariantError';
}

/** 1, 2, 4, ... up to n, plus n itself when it is not a power of two. */
export function defaultThreads(n = os.availableParallelism()): number[] {
  const ts: number[] = [];
  for (let t = 1; t <= n; t *= 2) ts.push(t);
  if (ts[ts.length - 1] !== n) ts.push(n);
  return ts;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A registry of P partitions with `preload` keys registered by this (the main) thread. */
function preloaded(w: Workload, P: number, params: ScalingParams): { reg: Registry; preloadKeys: string[] } {
  const reg = Registry.create({
    keys: 'unique',
    name: `bench-${w}-p${P}`,
    partitions: P,
    ...(params.lookupCache === null ? {} : { lookupCache: params.lookupCache }),
  });
  const preloadKeys = makeKeys(params.preload, params.seed);
  for (let i = 0; i < preloadKeys.length; i++) {
    const r = reg.register(preloadKeys[i] as string, i);
    if (!r.ok) throw new InvariantError(`preload register(${preloadKeys[i]}) failed: ${JSON.stringify(r)}`);
  }
  return { reg, preloadKeys };
}

/** Checks the registry against what the workers say they hold; returns the problems found. */
function checkInvariants(reg: Registry, preloadKeys: readonly string[], w: Workload, rs: readonly ScalingWorkerResult[], params: ScalingParams): { problems: string[]; count: number } {
  const problems: string[] = [];
  for (const r of rs) for (const v of r.violations) problems.push(`thread ${r.t}: ${v}`);
  let heldTotal = 0;
  const owner = new Map<string, number>();
  for (const r of rs) {
    heldTotal += r.held.length;
    r.held.forEach((k, i) => {
      const prev = owner.get(k);
      if (prev !== undefined) problems.push(`key ${k} held by threads ${prev} and ${r.t}`);
      owner.set(k, r.t);
      const e = reg.lookup(k);
      if (e.length !== 1 || e[0]?.[0] !== r.pid || e[0]?.[1] !== r.heldValues[i])
        problems.push(`thread ${r.t} holds ${k} but lookup shows ${JSON.stringify(e)} (pid ${r.pid})`);
    });
    for (const k of r.released) if (reg.lookup(k).length !== 0) problems.push(`thread ${r.t} released ${k} but it is still registered`);
  }
  const count = reg.count();
  if (count !== params.preload + heldTotal) problems.push(`count() = ${count}, expected ${params.preload} preloaded + ${heldTotal} held`);
  if (w === 'contention') {
    for (let j = 0; j < params.hotKeys; j++) {
      const k = `hot:${j}`;
      const e = reg.lookup(k);
      if (e.length > 1) problems.push(`${k} has ${e.length} owners: ${JSON.stringify(e)}`);
      if (!owner.has(k) && e.length !== 0) problems.push(`${k} is registered to ${JSON.stringify(e)} but no thread holds it`);
    }
  }
  for (let i = 0; i < preloadKeys.length; i += 997) {
    const e = reg.lookup(preloadKeys[i] as string);
    if (e.length !== 1 || e[0]?.[1] !== i) problems.push(`preloaded ${preloadKeys[i]} now looks up as ${JSON.stringify(e)}`);
  }
  return { problems, count };
}

/**
 * One cell of the grid: T workers attach to `reg` and warm up once, then take part in `repeats` timed
 * runs. Each run starts on the barrier (GO), lasts `durationMs` (STOP), and is followed by an invariant
 * check while the workers wait (CHECKED). At the end the workers release what they hold and exit, and
 * the registry must be back to its preloaded keys, ready for the next cell.
 */
async function runCell(
  reg: Registry,
  preloadKeys: readonly string[],
  w: Workload,
  T: number,
  params: ScalingParams,
  tag: (rep: number) => string,
  onRun: (rep: number, f: RunFigures) => void,
): Promise<{ runs: RunFigures[]; warmup: RunFigures; setupMs: number }> {
  // Run 1 is the warm-up run (tag index -1); runs 2..R are the repeats.
  const setup0 = performance.now();
  // One extra, untimed first run: the JIT's last tier-ups and the caches settle there.
  const R = params.repeats + 1;
  const ctrlSab = new SharedArrayBuffer(4 * 16);
  const ctrl = new Int32Array(ctrlSab);
  const countersSab = new SharedArrayBuffer(8 * COUNTER_STRIDE * T);
  const counters = new Float64Array(countersSab);
  const inbox: ScalingWorkerResult[][] = Array.from({ length: R + 1 }, () => []);
  let releasedCount = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const poke = (): void => {
    const f = wake;
    wake = null;
    f?.();
  };
  /** Waits until `cond` holds, waking on worker messages (and every 2 ms, for the shared words). */
  const until = async (cond: () => boolean): Promise<void> => {
    while (!cond()) {
      if (failure !== null) throw failure;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(poke, 2);
      });
    }
    if (failure !== null) throw failure;
  };
  const workers: Worker[] = [];
  const exited: Promise<void>[] = [];
  for (let t = 0; t < T; t++) {
    const init: ScalingWorkerInit = {
      handle: reg.handle,
      workload: w,
      t,
      ctrl: ctrlSab,
      counters: countersSab,
      preload: params.preload,
      seed: params.seed,
      hotKeys: params.hotKeys,
      runs: R,
    };
    const wk = new Worker(new URL('../workers/bench-scaling.js', import.meta.url), { workerData: init });
    workers.push(wk);
    wk.on('message', (m: ScalingWorkerResult | 'released') => {
      if (m === 'released') releasedCount++;
      else inbox[m.run]?.push(m);
      poke();
    });
    wk.on('error', (e) => {
      failure ??= e;
      poke();
    });
    exited.push(
      new Promise((resolve) =>
        wk.once('exit', (code) => {
          if (code !== 0) failure ??= new Error(`worker ${t} exited with code ${code}`);
          poke();
          resolve();
        }),
      ),
    );
  }
  const runs: RunFigures[] = [];
  let warmup: RunFigures | null = null;
  let setupMs = 0;
  try {
    for (let r = 1; r <= R; r++) {
      // Barrier: wait until every worker has attached (and warmed up, the first time), then release all.
      await until(() => Atomics.load(ctrl, READY) >= T * r);
      if (r === 1) setupMs = performance.now() - setup0;
      const t0 = performance.now();
      Atomics.store(ctrl, GO, r);
      Atomics.notify(ctrl, GO);
      let left = params.durationMs;
      while (left > 0) {
        const chunk = Math.min(left, 1000);
        await sleep(chunk);
        left -= chunk;
        if (left > 0) {
          let sum = 0;
          for (let t = 0; t < T; t++) sum += counters[t * COUNTER_STRIDE] as number;
          log(`${tag(r - 2)}  … ${((performance.now() - t0) / 1000).toFixed(1)} s, ${fmtOps((sum * 1000) / (performance.now() - t0))}`);
        }
      }
      Atomics.store(ctrl, STOP, r);
      await until(() => (inbox[r]?.length ?? 0) >= T);
      const wallMs = performance.now() - t0;
      const rs = (inbox[r] as ScalingWorkerResult[]).slice().sort((a, b) => a.t - b.t);
      // Invariants, checked while every worker (and so every registration) is alive and parked.
      const { problems, count } = checkInvariants(reg, preloadKeys, w, rs, params);
      for (const x of rs)
        if (counters[x.t * COUNTER_STRIDE] !== x.ops) problems.push(`thread ${x.t}: shared counter ${counters[x.t * COUNTER_STRIDE]} !== reported ${x.ops}`);
      if (problems.length > 0) throw new InvariantError(`${tag(r - 2)}: registry invariants violated:\n  ${problems.slice(0, 20).join('\n  ')}`);
      const perThread = rs.map((x) => (x.ops * 1e9) / x.elapsedNs);
      const sum = (f: (x: ScalingWorkerResult) => number): number => rs.reduce((a, x) => a + f(x), 0);
      const figures: RunFigures = {
        aggregate: perThread.reduce((a, b) => a + b, 0),
        perThread,
        ops: sum((x) => x.ops),
        lookups: sum((x) => x.lookups),
        writes: sum((x) => x.writes),
        wins: sum((x) => x.wins),
        losses: sum((x) => x.losses),
        count,
        wallMs,
      };
      if (r === 1) warmup = figures;
      else {
        runs.push(figures);
        onRun(r - 2, figures);
      }
      Atomics.store(ctrl, CHECKED, r);
      Atomics.notify(ctrl, CHECKED);
    }
    await until(() => releasedCount >= T);
    await Promise.all(exited);
  } catch (e) {
    await Promise.all(workers.map((wk) => wk.terminate()));
    throw e;
  }
  const after = reg.count();
  if (after !== params.preload)
    throw new InvariantError(`${tag(R - 2)}: after the workers released their keys and exited, count() = ${after}, expected ${params.preload}`);
  return { runs, warmup: warmup as RunFigures, setupMs };
}

/** Runs the whole grid (workload × partitions × threads × repeats), logging a line per run. */
export async function runScaling(params: ScalingParams): Promise<ScalingReport> {
  const cells: Cell[] = [];
  const total = params.workloads.length * params.partitions.length * params.threads.length * params.repeats;
  let n = 0;
  const started = performance.now();
  for (const w of params.workloads) {
    for (const P of params.partitions) {
      const { reg, preloadKeys } = preloaded(w, P, params);
      let one: number | null = null;
      for (const T of params.threads) {
        const tag = (rep: number): string => `[${n + rep + 1}/${total}] ${w} P=${P} T=${T} ${rep < 0 ? 'warm-up' : `#${rep + 1}`}`;
        const { runs, warmup, setupMs } = await runCell(reg, preloadKeys, w, T, params, tag, (rep, f) => {
          const eta = ((performance.now() - started) / (n + rep + 1)) * (total - n - rep - 1);
          log(
            `${tag(rep)}: ${fmtOps(f.aggregate)} total, ${fmtOps(f.aggregate / T)} per thread, count ${f.count} ok` +
              `  (eta ${(eta / 1000).toFixed(0)} s)`,
          );
        });
        n += params.repeats;
        const aggregate = median(runs.map((r) => r.aggregate));
        const medianRun = runs.reduce((best, r) => (Math.abs(r.aggregate - aggregate) < Math.abs(best.aggregate - aggregate) ? r : best));
        if (T === 1) one = aggregate;
        const speedup = one === null ? null : aggregate / one;
        cells.push({
          workload: w,
          partitions: P,
          threads: T,
          runs,
          warmup,
          setupMs,
          aggregate,
          perThread: medianRun.perThread,
          perThreadMean: aggregate / T,
          speedup,
          efficiency: speedup === null ? null : speedup / T,
        });
      }
      reg.close();
    }
  }
  return { params, cells };
}

export function scalingParamsFrom(argv: readonly string[], quick: boolean): ScalingParams & { label?: string; out?: string; write: boolean } {
  const flags = parseFlags(argv);
  const ws = flagStrings(flags, 'workloads') ?? [...WORKLOADS];
  for (const w of ws) if (!(ALL_WORKLOADS as readonly string[]).includes(w)) throw new Error(`unknown workload ${w}; known: ${ALL_WORKLOADS.join(', ')}`);
  const label = flagString(flags, 'label');
  const out = flagString(flags, 'out');
  const lc = flagString(flags, 'lookup-cache');
  if (lc !== undefined && !(Number.isInteger(Number(lc)) && Number(lc) >= 0)) throw new Error(`--lookup-cache must be an integer >= 0, got ${lc}`);
  return {
    threads: flagList(flags, 'threads') ?? defaultThreads(),
    partitions: flagList(flags, 'partitions') ?? (quick ? [1, 16] : [1, 2, 4, 8, 16]),
    workloads: ws as Workload[],
    durationMs: flagNumber(flags, 'duration', quick ? 400 : 1000),
    repeats: flagNumber(flags, 'repeats', quick ? 3 : 5),
    preload: flagNumber(flags, 'preload', 100_000),
    hotKeys: flagNumber(flags, 'hot', 8),
    seed: 20261124,
    lookupCache: lc === undefined ? null : Number(lc),
    ...(label !== undefined ? { label } : {}),
    ...(out !== undefined ? { out } : {}),
    write: !flags.has('no-write'),
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const { label, write, out, ...params } = scalingParamsFrom(
    argv.filter((a) => a !== '--quick'),
    quick,
  );
  const machine = machineInfo(label);
  const loadStart = os.loadavg();
  if ((loadStart[0] ?? 0) > 0.5 * machine.availableParallelism)
    log(`warning: load average ${loadStart[0]?.toFixed(2)} on ${machine.availableParallelism} cores: other processes will distort the figures`);
  log(`scaling: ${machine.label} (${machine.cpuModel}, ${machine.availableParallelism} cores), node ${machine.node}`);
  log(`grid: workloads ${params.workloads.join(',')}; P ${params.partitions.join(',')}; T ${params.threads.join(',')}; ${params.repeats} × ${params.durationMs} ms`);
  const rep = await runScaling(params);
  const md = `### Scaling — ${machine.label}, ${today()}\n\n${scalingMarkdown(rep, machine)}`;
  log('');
  log(md);
  if (write) {
    const files = writeResults(
      out ?? `${machine.label}-${today()}-scaling`,
      { kind: 'roster-bench-scaling', date: new Date().toISOString(), machine, loadavg: { start: loadStart, end: os.loadavg() }, scaling: rep },
      md,
      rep,
      machine,
    );
    log(`wrote ${files.json}, ${files.md}, ${files.svg ?? ''}`);
  }
  process.exit(0);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof InvariantError ? `FAILED: ${e.message}` : e);
    process.exit(e instanceof InvariantError ? 2 : 1);
  });
}
