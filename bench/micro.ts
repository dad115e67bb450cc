/**
 * Single-thread micro-benchmarks (mitata): Roster against a local `Map`, `sharedmap` 1.2.0 and a
 * `postMessage` registry (a `Map` in another thread, one request in flight), all in the same run.
 *
 *   node --expose-gc dist/bench/micro.js [--quick] [--rounds 3] [--clock wall|cpu] [--keys 100000] [--partitions 1] [--filter REGEX]
 *                                        [--baselines-only] [--json] [--out] [--label NAME]
 *
 * Workloads: lookup hit, lookup miss, register+unregister (a pair per iteration), match, dispatch to 10
 * entries under one key of a duplicate registry. Keys are `actor:<base36>:<i>`, probed in shuffled order;
 * every result goes through `do_not_optimize`. Register and unregister are also timed separately, as
 * batches (register N fresh keys, then unregister them; median of 5), because a mitata loop cannot
 * register a fresh key forever.
 *
 * Human output goes to stderr; `--json` prints the report as one JSON line on stdout, `--out` writes
 * it to bench/out/<label>-<date>-micro.json.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { bench as mitataBench, do_not_optimize, measure, run, summary as mitataSummary } from 'mitata';
import { makeKeys, shuffled } from './lib/keys.js';
import { flagNumber, flagString, log, parseFlags, median, fmtOps } from './lib/args.js';
import { machineInfo, today } from './lib/machine.js';

import type * as RosterNS from '../src/index.js';

type RosterModule = typeof RosterNS;
type KeyRef = RosterNS.KeyRef;

/** The subset of sharedmap 1.2.0 we use. Its bundled typings do not parse, so we declare our own. */
interface SharedMapLike {
  get(key: string): string | undefined;
  set(key: string, value: string | number): void;
  delete(key: string): void;
  readonly length: number;
}
type SharedMapCtor = new (maxSize: number, keySize: number, objSize: number) => SharedMapLike;

export interface MicroOptions {
  readonly quick: boolean;
  readonly keys: number;
  readonly partitions: number;
  readonly filter?: RegExp;
  readonly baselinesOnly: boolean;
  /** How many times the whole mitata set runs (figures: medians over rounds). */
  readonly rounds: number;
  /** 'wall' (mitata's default clock) or 'cpu' (process CPU time; for shared, loaded machines). */
  readonly clock: 'wall' | 'cpu';
}

export interface BenchFigure {
  readonly opsPerSec: number;
  readonly avgNs: number;
  readonly p50Ns: number;
  readonly p99Ns: number;
  readonly samples: number;
  /** ops/s of each round (opsPerSec is their median). */
  readonly rounds?: readonly number[];
}

export interface MicroReport {
  readonly params: MicroOptions & { readonly seed: number };
  /** mitata figures by benchmark name (`<workload>/<implementation>`). */
  readonly benches: Record<string, BenchFigure>;
  /** register / unregister timed as batches of N fresh keys, median of 5, ops/s. */
  readonly batches: Record<string, number>;
  /** Roster ops/s divided by each baseline's ops/s, by workload. */
  readonly ratios: Record<string, number>;
  readonly summary: {
    readonly lookupVsMap: number | null;
    readonly lookupVsSharedmap: number | null;
    readonly lookupVsPostMessage: number | null;
    readonly whereisVsMap: number | null;
    /** The same ratio with `lookupCache: 0` (every lookup probes shared memory). */
    readonly lookupNoCacheVsMap: number | null;
    /** Register and unregister calls per second in a register+unregister loop (each call is one op). */
    readonly registerUnregisterOpsPerSec: number | null;
    /** Register+unregister pairs per second (half the above). */
    readonly registerUnregisterPairsPerSec: number | null;
  };
}

const SEED = 20261124;

/** A request/response client for workers/bench-postmessage.js, one request in flight. */
class PostMessageRegistry {
  readonly #worker: Worker;
  #resolve: ((v: unknown) => void) | null = null;
  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (v: unknown) => {
      const r = this.#resolve;
      this.#resolve = null;
      r?.(v);
    });
  }
  static async start(n: number, seed: number): Promise<PostMessageRegistry> {
    const worker = new Worker(new URL('../workers/bench-postmessage.js', import.meta.url), { workerData: { n, seed } });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return new PostMessageRegistry(worker);
  }
  request(op: number, key: string, value?: number): Promise<unknown> {
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#worker.postMessage(value === undefined ? [op, key] : [op, key, value]);
    });
  }
  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

function figure(stats: { avg: number; p50: number; p99: number; samples: number[] }): BenchFigure {
  return { opsPerSec: 1e9 / stats.avg, avgNs: stats.avg, p50Ns: stats.p50, p99Ns: stats.p99, samples: stats.samples.length };
}

function timeBatch(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
}

export async function runMicro(opts: MicroOptions): Promise<MicroReport> {
  const N = opts.keys;
  const hitKeys = makeKeys(N, SEED);
  const hitSet = new Set(hitKeys);
  const missKeys = makeKeys(N, SEED + 1).filter((k) => !hitSet.has(k));
  const freshKeys = makeKeys(N, SEED + 2).filter((k) => !hitSet.has(k));
  const hitOrder = shuffled(hitKeys, SEED + 3);
  const missOrder = shuffled(missKeys, SEED + 4);
  const NH = hitOrder.length;
  const NM = missOrder.length;
  const NF = freshKeys.length;

  // --- baselines -----------------------------------------------------------------------------------
  const map = new Map<string, number>();
  for (let i = 0; i < N; i++) map.set(hitKeys[i] as string, i);

  const require = createRequire(import.meta.url);
  const SharedMap = require('sharedmap') as SharedMapCtor;
  // 2^17 slots for 100k keys (76% full), keys up to 32 UTF-16 units, values up to 16: as in performance.md.
  const smapSize = Math.max(2 ** 17, 2 ** Math.ceil(Math.log2(N * 1.3)));
  const smap = new SharedMap(smapSize, 32, 16);
  for (let i = 0; i < N; i++) smap.set(hitKeys[i] as string, i);

  const pm = await PostMessageRegistry.start(N, SEED);

  // match / dispatch baselines: object values, and a Map of entry lists.
  const objMap = new Map<string, { id: number; role: string }>();
  for (let i = 0; i < N; i++) objMap.set(hitKeys[i] as string, { id: i, role: i % 2 === 0 ? 'worker' : 'leader' });
  const topic = 'topic:hot';
  const subs: [number, number][] = [];
  for (let i = 0; i < 10; i++) subs.push([1, i]);
  const subMap = new Map<string, [number, number][]>([[topic, subs]]);

  // --- Roster --------------------------------------------------------------------------------------
  let roster: RosterModule | null = null;
  if (!opts.baselinesOnly) roster = await import('../src/index.js');
  const R = roster?.Registry.create({ keys: 'unique', name: 'micro', partitions: opts.partitions });
  // The same without the thread-local lookup cache: every lookup hashes and probes shared memory.
  const R0 = roster?.Registry.create({ keys: 'unique', name: 'micro-nocache', partitions: opts.partitions, lookupCache: 0 });
  const RObj = roster?.Registry.create({ keys: 'unique', name: 'micro-match', partitions: opts.partitions });
  const RDup = roster?.Registry.create({ keys: 'duplicate', name: 'micro-dispatch', partitions: opts.partitions });
  if (R && RObj && RDup) {
    for (let i = 0; i < N; i++) {
      const k = hitKeys[i] as string;
      R.register(k, i);
      R0?.register(k, i);
      RObj.register(k, { id: i, role: i % 2 === 0 ? 'worker' : 'leader' });
    }
    for (let i = 0; i < 10; i++) RDup.register(topic, i);
    // Sanity: the figures mean nothing if the registry is wrong.
    for (let i = 0; i < N; i += 997) {
      const k = hitKeys[i] as string;
      const e = R.lookup(k);
      if (e.length !== 1 || e[0]?.[1] !== i) throw new Error(`roster lookup(${k}) returned ${JSON.stringify(e)}`);
    }
    if (R.lookup(missOrder[0] as string).length !== 0) throw new Error('roster lookup of a missing key found something');
    if (R.count() !== N) throw new Error(`roster count() ${R.count()} !== ${N}`);
    let seen = 0;
    RDup.dispatch(topic, (es) => (seen += es.length));
    if (seen !== 10) throw new Error(`roster dispatch saw ${seen} entries, expected 10`);
    // Steady state: one pass over every key fills this thread's lookup cache (where Roster keeps one),
    // so the first benchmark does not pay for filling it and the later ones ride on it. The cold path
    // (hash + probe of shared memory) is what 'roster.lookup-nocache' measures.
    for (let i = 0; i < N; i++) {
      R.lookup(hitKeys[i] as string);
      RObj.lookup(hitKeys[i] as string);
    }
  }

  // --- mitata benchmarks -----------------------------------------------------------------------------
  let h = 0;
  let m = 0;
  let f = 0;
  const nextHit = (): string => {
    const k = hitOrder[h] as string;
    if (++h === NH) h = 0;
    return k;
  };
  // registry.ref(key): keys resolved once, in the same shuffled order as nextHit.
  const hitRefs = R ? hitOrder.map((k) => R.ref(k as string)) : [];
  let rh = 0;
  const nextRef = (): KeyRef => {
    const r = hitRefs[rh] as KeyRef;
    if (++rh === NH) rh = 0;
    return r;
  };
  const nextMiss = (): string => {
    const k = missOrder[m] as string;
    if (++m === NM) m = 0;
    return k;
  };
  const nextFresh = (): string => {
    const k = freshKeys[f] as string;
    if (++f === NF) f = 0;
    return k;
  };
  const full = !opts.quick;

  // With --clock cpu, each benchmark is timed in process CPU time (mitata's `measure` with a CPU clock)
  // instead of wall time: on a shared, oversubscribed machine the time this process spends descheduled
  // then does not count. Async benchmarks (the postMessage round trips) are latency, mostly spent
  // waiting, so they keep the wall clock in both modes.
  const cpuList: { name: string; fn: () => unknown }[] = [];
  const bench = (name: string, fn: () => unknown): { baseline: (b: boolean) => void } => {
    if (opts.clock === 'wall') return mitataBench(name, fn);
    cpuList.push({ name, fn });
    return { baseline: () => undefined };
  };
  const summary = (fn: () => void): void => (opts.clock === 'wall' ? mitataSummary(fn) : fn());
  const cpuNow = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000;
  };

  /** Registers the benchmarks; mitata forgets them after each run(), so every round calls this. */
  const define = (): void => {
    summary(() => {
      if (R) bench('lookup-hit/roster.lookup', () => do_not_optimize(R.lookup(nextHit())));
      if (R) bench('lookup-hit/roster.whereis', () => do_not_optimize(R.whereis(nextHit())));
      if (R) bench('lookup-hit/roster.ref.lookup', () => do_not_optimize(nextRef().lookup()));
      if (R0) bench('lookup-hit/roster.lookup-nocache', () => do_not_optimize(R0.lookup(nextHit())));
      bench('lookup-hit/Map.get', () => do_not_optimize(map.get(nextHit()))).baseline(true);
      bench('lookup-hit/sharedmap.get', () => do_not_optimize(smap.get(nextHit())));
      bench('lookup-hit/postMessage', async () => do_not_optimize(await pm.request(0, nextHit())));
    });
    if (full) {
      summary(() => {
        if (R) bench('lookup-miss/roster.lookup', () => do_not_optimize(R.lookup(nextMiss())));
        if (R0) bench('lookup-miss/roster.lookup-nocache', () => do_not_optimize(R0.lookup(nextMiss())));
        bench('lookup-miss/Map.get', () => do_not_optimize(map.get(nextMiss()))).baseline(true);
        bench('lookup-miss/sharedmap.get', () => do_not_optimize(smap.get(nextMiss())));
        bench('lookup-miss/postMessage', async () => do_not_optimize(await pm.request(0, nextMiss())));
      });
    }
    summary(() => {
      if (R)
        bench('register+unregister/roster', () => {
          const k = nextFresh();
          do_not_optimize(R.register(k, 1));
          R.unregister(k);
        });
      bench('register+unregister/Map', () => {
        const k = nextFresh();
        do_not_optimize(map.set(k, 1));
        map.delete(k);
      }).baseline(true);
      if (full) {
        bench('register+unregister/sharedmap', () => {
          const k = nextFresh();
          smap.set(k, 1);
          smap.delete(k);
        });
        bench('register+unregister/postMessage', async () => {
          const k = nextFresh();
          do_not_optimize(await pm.request(1, k, 1));
          do_not_optimize(await pm.request(2, k));
        });
      }
    });
    if (full) {
      const pattern = { role: 'worker' };
      summary(() => {
        if (RObj) bench('match/roster.match', () => do_not_optimize(RObj.match(nextHit(), pattern)));
        bench('match/Map.get+filter', () => {
          const v = objMap.get(nextHit());
          do_not_optimize(v !== undefined && v.role === 'worker' ? [[1, v]] : []);
        }).baseline(true);
      });
      let acc = 0;
      const onEntries = (es: readonly (readonly [unknown, unknown])[]): void => {
        for (let i = 0; i < es.length; i++) acc += es[i]?.[1] as number;
      };
      summary(() => {
        if (RDup) bench('dispatch-10/roster.dispatch', () => RDup.dispatch(topic, onEntries));
        if (RDup) bench('dispatch-10/roster.lookup', () => do_not_optimize(RDup.lookup(topic)));
        bench('dispatch-10/Map.get+call', () => {
          const es = subMap.get(topic);
          if (es !== undefined && es.length > 0) onEntries(es);
        }).baseline(true);
      });
      do_not_optimize(acc);
    }
  };

  // Rounds: the whole set runs `rounds` times; a figure is the median over rounds, and a ratio is the
  // median of the per-round ratios, so a burst of outside load in one round moves neither much.
  const perRound: Record<string, BenchFigure>[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    if (opts.rounds > 1) log(`-- round ${round + 1}/${opts.rounds}`);
    define();
    const figs: Record<string, BenchFigure> = {};
    if (opts.clock === 'wall') {
      const result = await run({
        format: round === 0 ? 'mitata' : 'quiet',
        colors: false,
        print: (s: string) => process.stderr.write(s + '\n'),
        ...(opts.filter ? { filter: opts.filter } : {}),
      });
      for (const trial of result.benchmarks) {
        for (const r of trial.runs) {
          if (r.stats) figs[r.name] = figure(r.stats);
          else log(`bench ${r.name} failed: ${String((r.error as Error | undefined)?.message ?? r.error)}`);
        }
      }
    } else {
      for (const { name, fn } of cpuList.splice(0)) {
        if (opts.filter && !opts.filter.test(name)) continue;
        const isAsync = fn.constructor.name === 'AsyncFunction';
        const stats = await measure(fn, isAsync ? {} : { now: cpuNow });
        figs[name] = figure(stats);
        if (round === 0) log(`${name.padEnd(40)} ${fmtOps(1e9 / stats.avg).padStart(11)}  ${stats.avg.toFixed(1).padStart(9)} ns avg  (${isAsync ? 'wall' : 'cpu'} clock)`);
      }
    }
    perRound.push(figs);
  }
  const benches: Record<string, BenchFigure> = {};
  for (const name of Object.keys(perRound[0] ?? {})) {
    const fs = perRound.map((r) => r[name]).filter((x): x is BenchFigure => x !== undefined);
    const byOps = fs.slice().sort((x, y) => x.opsPerSec - y.opsPerSec);
    const mid = byOps[(byOps.length - 1) >> 1] as BenchFigure;
    benches[name] = { ...mid, opsPerSec: median(fs.map((x) => x.opsPerSec)), rounds: fs.map((x) => x.opsPerSec) };
  }

  // --- register / unregister as batches of fresh keys ----------------------------------------------------
  const batches: Record<string, number> = {};
  const batchN = Math.min(NF, opts.quick ? 20_000 : N);
  const reps = 5;
  const batch = (name: string, reg: (k: string, i: number) => void, unreg: (k: string) => void, most = batchN): void => {
    const n = Math.min(batchN, most);
    const r: number[] = [];
    const u: number[] = [];
    for (let rep = 0; rep < reps + 1; rep++) {
      const tr = timeBatch(() => {
        for (let i = 0; i < n; i++) reg(freshKeys[i] as string, i);
      });
      const tu = timeBatch(() => {
        for (let i = 0; i < n; i++) unreg(freshKeys[i] as string);
      });
      if (rep > 0) {
        // rep 0 is warm-up
        r.push(tr);
        u.push(tu);
      }
    }
    batches[`register/${name}`] = (n * 1e9) / median(r);
    batches[`unregister/${name}`] = (n * 1e9) / median(u);
    log(`batch of ${n} fresh keys, ${name}: register ${fmtOps(batches[`register/${name}`] ?? 0)}, unregister ${fmtOps(batches[`unregister/${name}`] ?? 0)}`);
  };
  if (R)
    batch(
      'roster',
      (k, i) => do_not_optimize(R.register(k, i)),
      (k) => R.unregister(k),
    );
  batch(
    'Map',
    (k, i) => map.set(k, i),
    (k) => map.delete(k),
  );
  if (full)
    batch(
      'sharedmap',
      (k, i) => smap.set(k, i),
      (k) => smap.delete(k),
      // sharedmap has a fixed size: only as many fresh keys as fit next to the N loaded ones.
      smapSize - N - 1,
    );

  // --- ratios ----------------------------------------------------------------------------------------
  const ops = (name: string): number | null => benches[name]?.opsPerSec ?? null;
  const ratio = (a: string, b: string): number | null => {
    const rs: number[] = [];
    for (const r of perRound) {
      const x = r[a]?.opsPerSec;
      const y = r[b]?.opsPerSec;
      if (x !== undefined && y !== undefined) rs.push(x / y);
    }
    return rs.length > 0 ? median(rs) : null;
  };
  const ratios: Record<string, number> = {};
  const put = (name: string, v: number | null): void => {
    if (v !== null) ratios[name] = v;
  };
  for (const w of ['lookup-hit', 'lookup-miss']) {
    put(`${w}/roster.lookup÷Map.get`, ratio(`${w}/roster.lookup`, `${w}/Map.get`));
    put(`${w}/roster.lookup÷sharedmap.get`, ratio(`${w}/roster.lookup`, `${w}/sharedmap.get`));
    put(`${w}/roster.lookup÷postMessage`, ratio(`${w}/roster.lookup`, `${w}/postMessage`));
  }
  put('lookup-hit/roster.lookup-nocache÷Map.get', ratio('lookup-hit/roster.lookup-nocache', 'lookup-hit/Map.get'));
  put('lookup-hit/roster.lookup-nocache÷sharedmap.get', ratio('lookup-hit/roster.lookup-nocache', 'lookup-hit/sharedmap.get'));
  put('lookup-hit/roster.lookup-nocache÷postMessage', ratio('lookup-hit/roster.lookup-nocache', 'lookup-hit/postMessage'));
  put('lookup-hit/roster.whereis÷Map.get', ratio('lookup-hit/roster.whereis', 'lookup-hit/Map.get'));
  put('lookup-hit/roster.ref.lookup÷Map.get', ratio('lookup-hit/roster.ref.lookup', 'lookup-hit/Map.get'));
  put('lookup-hit/roster.whereis÷sharedmap.get', ratio('lookup-hit/roster.whereis', 'lookup-hit/sharedmap.get'));
  put('lookup-hit/roster.whereis÷postMessage', ratio('lookup-hit/roster.whereis', 'lookup-hit/postMessage'));
  for (const b of ['Map', 'sharedmap', 'postMessage'])
    put(`register+unregister/roster÷${b}`, ratio('register+unregister/roster', `register+unregister/${b}`));
  put('match/roster.match÷Map.get+filter', ratio('match/roster.match', 'match/Map.get+filter'));
  put('dispatch-10/roster.dispatch÷Map.get+call', ratio('dispatch-10/roster.dispatch', 'dispatch-10/Map.get+call'));
  const ru = ops('register+unregister/roster');

  await pm.close();
  R?.close();
  R0?.close();
  RObj?.close();
  RDup?.close();

  return {
    params: { ...opts, seed: SEED },
    benches,
    batches,
    ratios,
    summary: {
      lookupVsMap: ratio('lookup-hit/roster.lookup', 'lookup-hit/Map.get'),
      lookupVsSharedmap: ratio('lookup-hit/roster.lookup', 'lookup-hit/sharedmap.get'),
      lookupVsPostMessage: ratio('lookup-hit/roster.lookup', 'lookup-hit/postMessage'),
      whereisVsMap: ratio('lookup-hit/roster.whereis', 'lookup-hit/Map.get'),
      lookupNoCacheVsMap: ratio('lookup-hit/roster.lookup-nocache', 'lookup-hit/Map.get'),
      registerUnregisterOpsPerSec: ru === null ? null : 2 * ru,
      registerUnregisterPairsPerSec: ru,
    },
  };
}

/** Markdown table of a micro report. */
export function microMarkdown(rep: MicroReport): string {
  const lines = ['| benchmark | ops/s | avg ns | p99 ns |', '|---|---:|---:|---:|'];
  for (const [name, b] of Object.entries(rep.benches))
    lines.push(`| ${name} | ${fmtOps(b.opsPerSec)} | ${b.avgNs.toFixed(1)} | ${b.p99Ns.toFixed(1)} |`);
  for (const [name, v] of Object.entries(rep.batches)) lines.push(`| ${name} (batch) | ${fmtOps(v)} | ${(1e9 / v).toFixed(1)} | |`);
  lines.push('', '| ratio | value |', '|---|---:|');
  for (const [name, v] of Object.entries(rep.ratios)) lines.push(`| ${name} | ${v >= 10 ? v.toFixed(0) : v.toFixed(3)}× |`);
  return lines.join('\n') + '\n';
}

export function microOptionsFrom(argv: readonly string[]): MicroOptions & { json: boolean; out: boolean; label?: string } {
  const flags = parseFlags(argv);
  const filter = flagString(flags, 'filter');
  const label = flagString(flags, 'label');
  return {
    quick: flags.has('quick'),
    keys: flagNumber(flags, 'keys', 100_000),
    partitions: flagNumber(flags, 'partitions', 1),
    baselinesOnly: flags.has('baselines-only'),
    rounds: flagNumber(flags, 'rounds', 3),
    clock: flagString(flags, 'clock') === 'cpu' ? 'cpu' : 'wall',
    ...(filter !== undefined ? { filter: new RegExp(filter) } : {}),
    json: flags.has('json'),
    out: flags.has('out'),
    ...(label !== undefined ? { label } : {}),
  };
}

async function main(): Promise<void> {
  const o = microOptionsFrom(process.argv.slice(2));
  if (typeof globalThis.gc !== 'function') log('note: run with node --expose-gc for steadier figures');
  const rep = await runMicro(o);
  log('');
  log(microMarkdown(rep));
  log(`summary: ${JSON.stringify(rep.summary)}`);
  if (o.out) {
    const machine = machineInfo(o.label);
    const dir = fileURLToPath(new URL('../../bench/out/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const file = `${dir}${machine.label}-${today()}-micro.json`;
    writeFileSync(file, JSON.stringify({ kind: 'roster-bench-micro', date: new Date().toISOString(), machine, micro: rep }, null, 2) + '\n');
    log(`wrote ${file}`);
  }
  if (o.json) process.stdout.write(JSON.stringify({ ...rep.summary, cpus: machineInfo().availableParallelism }) + '\n');
  process.exit(0);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
