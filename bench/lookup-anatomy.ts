/**
 * Where a Roster lookup's time goes, built up step by step in one mitata run (single thread, 100k keys,
 * shuffled): each step adds one thing a cached `lookup` does, so the differences between lines are the
 * costs of those things. Diagnostic, not part of `npm run bench`.
 *
 *   node --expose-gc dist/bench/lookup-anatomy.js [--keys 100000]
 *
 * 1. Map<string, number>.get                        the baseline
 * 2. Map<string, object>.get + read 4 fields          a cache entry is a separate heap object: one more dependent load
 * 3. 2 + three Atomics.loads of hot header words      the per-partition modification seqlock + `isAlive` (hot lines)
 * 3p. 2 + the same three words read with plain reads  the contrast: what 3 costs beyond the loads themselves
 * 4. 2 + Atomics.load of the slot word in a big SAB   the fallback `still()` slot check, at a random place in the table
 * 5. 3 + return [entry] (a fresh one-element array)   `lookup` returns a new array each call
 * 6. Roster lookup / whereis / lookup without the cache; hashString alone
 *
 * What it showed on Node 20 (V8 11.3), 2-core EPYC VM (shared, so ±30%): three `Atomics.load`s of hot words
 * cost ~23 ns in a loop of their own, but added 250–320 ns per iteration after a cache-missing `Map.get`
 * (3 vs 2), where the same reads done plainly added 0–140 ns (3p vs 2). In a plain loop (no mitata) one
 * `Atomics.load` per iteration, dependent on the entry or not, added 150–350 ns. The likely mechanism: the
 * load keeps the CPU from overlapping one lookup's cache misses with the next one's, so a loop of validated
 * cache hits is bound by memory latency where a loop of `Map.get`s is not.
 *
 * @module
 */
import { bench, do_not_optimize, run, summary } from 'mitata';
import { Registry } from '../src/index.js';
import { hashString } from '../src/memory/hash.js';
import { makeKeys, shuffled, rng } from './lib/keys.js';
import { flagNumber, parseFlags } from './lib/args.js';

const flags = parseFlags(process.argv.slice(2));
const N = flagNumber(flags, 'keys', 100_000);
const keys = makeKeys(N, 20261124);
const order = shuffled(keys, 20261127);

interface Slotted {
  table: Int32Array;
  slot: number;
  off: number;
  epoch: number;
  inc: number;
  entry: readonly [number, number];
}
// A table-sized shared buffer: 2^18 slots of 4 words plus blobs, about 20 MB like a 100k-key partition.
const sab = new SharedArrayBuffer(20 * 2 ** 20);
const i32 = new Int32Array(sab);
const r = rng(7);
const plain = new Map<string, number>();
const objs = new Map<string, Slotted>();
for (let i = 0; i < N; i++) {
  const k = keys[i] as string;
  plain.set(k, i);
  const slot = 64 + 4 * Math.floor(r() * ((i32.length - 64) / 4));
  i32[slot] = i + 1;
  objs.set(k, { table: i32, slot, off: i + 1, epoch: 0, inc: 1, entry: Object.freeze([1, i]) as readonly [number, number] });
}
i32[2] = 0; // epoch word
i32[40] = 1; // a liveness word
const reg = Registry.create({ keys: 'unique', name: 'anatomy', partitions: 1 });
const reg0 = Registry.create({ keys: 'unique', name: 'anatomy-nocache', partitions: 1, lookupCache: 0 });
for (let i = 0; i < N; i++) {
  reg.register(keys[i] as string, i);
  reg0.register(keys[i] as string, i);
}

let j = 0;
const next = (): string => {
  const k = order[j] as string;
  if (++j === N) j = 0;
  return k;
};

summary(() => {
  bench('1 Map<string,number>.get', () => do_not_optimize(plain.get(next()))).baseline(true);
  bench('2 Map<string,object>.get + fields', () => {
    const c = objs.get(next());
    do_not_optimize(c === undefined ? 0 : c.slot + c.off + c.epoch + c.inc);
  });
  bench('3 + 3 hot Atomics.loads (seqlock, liveness)', () => {
    const c = objs.get(next());
    do_not_optimize(c !== undefined && Atomics.load(i32, 4) === c.epoch && Atomics.load(i32, 5) === c.epoch && Atomics.load(i32, 40) === c.inc);
  });
  bench('3p + 3 plain reads (same words)', () => {
    const c = objs.get(next());
    do_not_optimize(c !== undefined && i32[4] === c.epoch && i32[5] === c.epoch && i32[40] === c.inc);
  });
  bench('4 + slot Atomics.load (random line)', () => {
    const c = objs.get(next());
    do_not_optimize(c !== undefined && Atomics.load(c.table, c.slot) === c.off && Atomics.load(i32, 40) === c.inc);
  });
  bench('5 = 3 + return [entry]', () => {
    const c = objs.get(next());
    const ok = c !== undefined && Atomics.load(i32, 4) === c.epoch && Atomics.load(i32, 5) === c.epoch && Atomics.load(i32, 40) === c.inc;
    do_not_optimize(ok ? [c.entry] : []);
  });
  bench('6 roster.lookup', () => do_not_optimize(reg.lookup(next())));
  bench('6 roster.whereis', () => do_not_optimize(reg.whereis(next())));
  bench('6 roster.lookup (lookupCache 0)', () => do_not_optimize(reg0.lookup(next())));
  bench('6 hashString alone', () => do_not_optimize(hashString(next())));
});

await run({ colors: false });
reg.close();
reg0.close();
