/**
 * `npm run demo`: a live demo and consistency check of Roster under real thread contention.
 *
 * Starts a coordinator, creates a partitioned unique registry, starts one supervised worker thread per
 * core; the workers start together on a shared-memory barrier and, for the given time, register keys of
 * their own range, look up random keys (their own and the other threads'), unregister some and register
 * them again. Per-thread op counters live in a SharedArrayBuffer; the main thread prints progress once a
 * second.
 *
 * Halfway through, it kills the last worker in the middle of its work (`worker.terminate()`, with 2
 * threads or more; `--no-kill` skips it) and prints what follows: the moment the thread is gone, lookups
 * stop returning its entries; `coordinator.sync()` resolves once the coordinator has swept them (and
 * recovered any partition lock the thread died holding); then none of its keys is left.
 *
 * At the end it raises a stop flag, collects each surviving thread's ledger (threads stay alive), prints
 * the throughput per thread and in total, and checks the table against the ledgers: every ledger entry
 * is visible with its owner's pid and value, count() equals the sum of the ledgers, keys(pid) equals each
 * ledger, nothing of the killed thread is left, and there are no foreign entries. Prints
 * "consistency: OK", or what is wrong and exits non-zero.
 *
 * With `--observe` it also serves the observer's page (roster-threads/observer) on 127.0.0.1 (`--port`,
 * default a free port), prints its URL, and keeps serving after the check until Ctrl-C.
 *
 * Usage: node dist/scripts/demo.js [--threads N] [--seconds S] [--partitions P] [--keys K] [--seed X] [--no-kill] [--observe [--port N]]
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Coordinator, Registry, _, supervise } from '../src/index.js';
import { Observer } from '../src/observer/index.js';
import type { Key } from '../src/index.js';
import {
  kCounters, kGen, kHeld, kLookups, kRegisters, kRelease, kStop, kUnregisters, kViolations, type DemoWorkerData,
} from './lib/demo-layout.js';


interface Report {
  type: 'report';
  me: number;
  counts: { lookups: number; registers: number; unregisters: number; violations: number };
  ledger: Array<[number, number]>;
  problems: string[];
}

function intFlag(raw: string | undefined, name: string, dflt: number, min: number): number {
  if (raw === undefined) return dflt;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) {
    console.error(`demo: --${name} must be a number >= ${min}, got ${raw}`);
    process.exit(2);
  }
  return v;
}

const usage =
  'usage: npm run demo -- [--threads N] [--seconds S] [--partitions P] [--keys K per thread] [--seed X] [--no-kill] [--observe [--port N]]\n' +
  '   or: node dist/scripts/demo.js [the same flags]';
const options = {
  threads: { type: 'string' },
  seconds: { type: 'string' },
  partitions: { type: 'string' },
  keys: { type: 'string' },
  seed: { type: 'string' },
  'no-kill': { type: 'boolean' },
  observe: { type: 'boolean' },
  port: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
let flags: ReturnType<typeof parseArgs<{ options: typeof options }>>['values'];
try {
  flags = parseArgs({ options }).values;
} catch (e) {
  console.error(`demo: ${e instanceof Error ? e.message : String(e)}\n${usage}`);
  process.exit(2);
}
if (flags.help === true) {
  console.log(usage);
  process.exit(0);
}
const cores = os.availableParallelism();
const threads = Math.floor(intFlag(flags.threads, 'threads', cores, 1));
const seconds = intFlag(flags.seconds, 'seconds', 4, 0.1);
const partitions = Math.floor(intFlag(flags.partitions, 'partitions', Math.min(1024, 2 * cores), 1));
const keysPerThread = Math.floor(intFlag(flags.keys, 'keys', 2000, 1));
const seed = Math.floor(intFlag(flags.seed, 'seed', (Math.random() * 2 ** 31) >>> 0, 0)) >>> 0;
/** The thread killed halfway through (the last one), or -1. */
const victim = flags['no-kill'] === true || threads < 2 ? -1 : threads - 1;

const coordinator = await Coordinator.start();
const reg = Registry.create({ keys: 'unique', name: 'demo', partitions });
const observer = flags.observe === true ? await Observer.start({ registries: [reg], port: Math.floor(intFlag(flags.port, 'port', 0, 0)) }) : null;
if (observer !== null) console.log(`observer: ${observer.url}`);
const ctl = new Int32Array(new SharedArrayBuffer(16 * Int32Array.BYTES_PER_ELEMENT));
const counters = new Float64Array(new SharedArrayBuffer(threads * kCounters * Float64Array.BYTES_PER_ELEMENT));
const pidsBuf = new Float64Array(new SharedArrayBuffer(threads * Float64Array.BYTES_PER_ELEMENT));

console.log(
  `roster demo: ${threads} threads on ${cores} cores, ${partitions} partitions, ${keysPerThread} keys per thread, ` +
    `${seconds} s, seed ${seed}` +
    (victim < 0 ? '' : `; thread ${victim} is killed at ${(seconds / 2).toFixed(1)} s`),
);

let released = false;
const fail = (msg: string): never => {
  console.error(`consistency: FAILED\n${msg}`);
  Atomics.store(ctl, kStop, 1);
  Atomics.store(ctl, kRelease, 1);
  Atomics.notify(ctl, kRelease);
  process.exit(1);
};
let killed = false;

const workerUrl = new URL('../workers/demo-worker.js', import.meta.url);
const reports: Array<Promise<Report>> = [];
const workers = Array.from({ length: threads }, (_unused, index) => {
  const data: DemoWorkerData = { handle: reg.handle, index, threads, keysPerThread, ctl, counters, pids: pidsBuf, seed };
  const w = new Worker(workerUrl, { workerData: data });
  // Declares the thread dead the moment it exits, however it exits. The workers run a tight loop that never
  // yields to their event loop, so their heartbeat does not move: no stall checks.
  supervise(w, { stall: false });
  if (index !== victim) {
    reports.push(
      new Promise<Report>((resolve) => {
        w.once('message', (m: Report) => resolve(m));
      }),
    );
  }
  w.on('error', (e) => fail(`thread ${index} crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
  w.on('exit', (code) => {
    if (index === victim && killed) return;
    if (!released || code !== 0) fail(`thread ${index} exited with code ${code} before the check`);
  });
  return w;
});

// Wait (without blocking the event loop) for the last thread to arrive at the start barrier.
const started = Atomics.waitAsync(ctl, kGen, 0);
if (started.async) await started.value;
const t0 = performance.now();

const sum = (k: number): number => {
  let s = 0;
  for (let t = 0; t < threads; t++) s += counters[t * kCounters + k] ?? 0;
  return s;
};
let lastOps = 0;
let lastT = t0;
const progress = setInterval(() => {
  const now = performance.now();
  const ops = sum(kLookups) + sum(kRegisters) + sum(kUnregisters);
  const rate = (ops - lastOps) / ((now - lastT) / 1000);
  const avg = ops / ((now - t0) / 1000);
  console.log(
    `  ${((now - t0) / 1000).toFixed(1).padStart(5)} s  ${fmt(ops).padStart(12)} ops  ${fmt(rate).padStart(12)} ops/s now  ` +
      `${fmt(avg).padStart(12)} ops/s avg  violations ${sum(kViolations)}`,
  );
  lastOps = ops;
  lastT = now;
}, 1000);

const sleep = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms));
const keyOf = (t: number, i: number): Key => `demo:${t}:${i}`;
/** Keys of thread t's range that a lookup returns. */
const visible = (t: number): number => {
  let n = 0;
  for (let i = 0; i < keysPerThread; i++) if (reg.lookup(keyOf(t, i)).length > 0) n++;
  return n;
};
let victimPid = 0;
if (victim >= 0) {
  await sleep((seconds * 1000) / 2);
  const w = workers[victim] as Worker;
  victimPid = pidsBuf[victim] as number;
  killed = true;
  const t = performance.now();
  await w.terminate();
  const gone = performance.now();
  // The thread stopped between two of its statements, perhaps inside a write, holding a partition lock.
  const held = counters[victim * kCounters + kHeld] ?? 0;
  const shown = visible(victim);
  await coordinator.sync();
  const swept = performance.now();
  console.log(
    `  killed thread ${victim} (pid ${victimPid}) in the middle of its work, holding ${fmt(held)} entries:\n` +
      `    terminate() took ${(gone - t).toFixed(1)} ms; right after it, lookups show ${shown} of its keys\n` +
      `    coordinator.sync() resolved ${(swept - gone).toFixed(1)} ms later: its entries are swept, ` +
      `keys(pid) now lists ${reg.keys(victimPid).length}, lookups show ${visible(victim)}; the other threads carry on`,
  );
  await sleep(Math.max(0, t0 + seconds * 1000 - performance.now()));
} else {
  await sleep(seconds * 1000);
}
clearInterval(progress);
// ORDER: the stop flag is read with Atomics.load by every worker every 256 ops.
Atomics.store(ctl, kStop, 1);
const all = await Promise.all(reports);
const elapsed = (performance.now() - t0) / 1000;

function fmt(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

// ── Throughput table ────────────────────────────────────────────────────────────────────────────
const rows: string[][] = [['thread', 'lookups/s', 'registers/s', 'unregisters/s', 'total ops/s']];
const tot = { lookups: 0, registers: 0, unregisters: 0 };
/** The surviving threads' indices, in the order of `all`. */
const survivors = Array.from({ length: threads }, (_u, t) => t).filter((t) => t !== victim);
all.forEach((r, i) => {
  const t = survivors[i] as number;
  const { lookups, registers, unregisters } = r.counts;
  tot.lookups += lookups;
  tot.registers += registers;
  tot.unregisters += unregisters;
  rows.push([String(t), fmt(lookups / elapsed), fmt(registers / elapsed), fmt(unregisters / elapsed), fmt((lookups + registers + unregisters) / elapsed)]);
});
rows.push(['total', fmt(tot.lookups / elapsed), fmt(tot.registers / elapsed), fmt(tot.unregisters / elapsed), fmt((tot.lookups + tot.registers + tot.unregisters) / elapsed)]);
const widths = rows[0]?.map((_h, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
console.log(`\nthroughput over ${elapsed.toFixed(2)} s${victim < 0 ? '' : ` (surviving threads; thread ${victim} was killed halfway)`}:`);
rows.forEach((r, i) => {
  console.log(`  ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ')}`);
  if (i === 0 || i === rows.length - 2) console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
});

// ── Consistency check (threads stopped but alive) ──────────────────────────────────────────────
const problems: string[] = all.flatMap((r) => r.problems);
const pids = all.map((r) => r.me);
const valueOf = (t: number, i: number, gen: number): string => `${t}:${i}:${gen}`;
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
let total = 0;
if (new Set(pids).size !== survivors.length) problems.push(`threads do not have distinct pids: ${pids.join(', ')}`);
all.forEach((r, n) => {
  const t = survivors[n] as number;
  if (r.counts.violations > 0) problems.push(`thread ${t} saw ${r.counts.violations} violations while running`);
  const ledger = new Map(r.ledger);
  total += ledger.size;
  for (let i = 0; i < keysPerThread; i++) {
    const got = reg.lookup(keyOf(t, i));
    const gen = ledger.get(i);
    const want = gen === undefined ? [] : [[pids[n], valueOf(t, i, gen)]];
    if (!same(got, want) && problems.length < 50) problems.push(`key demo:${t}:${i}: lookup ${JSON.stringify(got)}, ledger ${JSON.stringify(want)}`);
  }
  const keys = reg.keys(pids[n] as number).map((k) => JSON.stringify(k)).sort();
  const wantKeys = [...ledger.keys()].map((i) => JSON.stringify(keyOf(t, i))).sort();
  if (!same(keys, wantKeys)) problems.push(`keys(pid of thread ${t}): ${keys.length} keys, ledger ${wantKeys.length}`);
});
const count = reg.count();
if (count !== total) problems.push(`count() is ${count}, ledgers hold ${total}`);
const everything = reg.select([{ match: [_, _, _] }]) as Array<[Key, number, unknown]>;
const owned = new Set(all.flatMap((r, n) => r.ledger.map(([i]) => `${pids[n]}|${JSON.stringify(keyOf(survivors[n] as number, i))}`)));
if (victim >= 0) {
  const left = visible(victim);
  if (left > 0) problems.push(`${left} keys of the killed thread ${victim} still look up`);
  if (reg.keys(victimPid).length > 0) problems.push(`keys(pid of the killed thread) lists ${reg.keys(victimPid).length} keys`);
}
const foreign = everything.filter(([k, p]) => !owned.has(`${p}|${JSON.stringify(k)}`));
if (foreign.length > 0) problems.push(`${foreign.length} foreign entries, e.g. ${JSON.stringify(foreign.slice(0, 3))}`);
if (everything.length !== total) problems.push(`select of everything gave ${everything.length} entries, ledgers hold ${total}`);

released = true;
Atomics.store(ctl, kRelease, 1);
Atomics.notify(ctl, kRelease);
await Promise.all(workers.filter((_w, t) => t !== victim).map((w) => new Promise((resolve) => w.once('exit', resolve))));
if (observer !== null) {
  console.log(`observer: still serving ${observer.url} (Ctrl-C to stop)`);
  await new Promise((resolve) => process.once('SIGINT', resolve));
  await observer.stop();
}
await coordinator.stop();
reg.close();

if (problems.length > 0) fail(problems.slice(0, 50).join('\n'));
console.log(
  `\n${count} entries in ${survivors.length} ledgers checked against lookup, keys(pid), count() and select` +
    (victim < 0 ? '' : `; none of the killed thread's ${keysPerThread} keys is left`),
);
console.log('consistency: OK');
