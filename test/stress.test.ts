/**
 * Seeded mixed-operation stress: 4 worker threads (oversubscribed on 2 cores) run register /
 * unregister / lookup / match / updateValue / values / keys / count over an overlapping key space,
 * for every key kind × partitions {1, 8}. Workers check their own view while running (no torn
 * values, at most one entry per unique key, own results agree with their ledgers); the main thread
 * reads concurrently with the same torn-value checks, then, with every worker stopped but alive,
 * checks the whole table against the ledgers: every ledger entry visible with its value, nothing
 * else visible, keys(pid) equals each ledger, count() equals the total.
 *
 * Replay a failure with ROSTER_SEED=<seed printed in the test name>. ROSTER_STRESS_MS sets the
 * running time per configuration (default 2000 ms).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Registry, _ } from '../dist/src/index.js';
import type { Key, KeysKind } from '../src/types.js';
import { abort, kAbort, makeControl, setPhase } from './helpers/barrier.js';
import { canon, canonSorted } from './helpers/canon.js';
import { keyFor, valueProblem } from './helpers/keys.js';
import type { StressValue } from './helpers/keys.js';
import { seedFromEnv, subSeed } from './helpers/prng.js';
import { TestWorker, nextAll } from './helpers/workers.js';

const kWorkers = 4;
const kKeys = 96;
const kDurationMs = Number(process.env['ROSTER_STRESS_MS'] ?? 2000);
const kMaxOps = 1_000_000;
const seed = seedFromEnv();
const fixture = new URL('../dist/test/fixtures/stress-mixed-worker.js', import.meta.url);

interface DoneMsg {
  type: 'done';
  me: number;
  ops: number;
  stats: Record<string, number>;
  ledger: Array<[number, StressValue[]]>;
  problems: string[];
}

let workers: TestWorker[] = [];
let registry: Registry | undefined;
let ctl: Int32Array | undefined;

afterEach(async () => {
  if (ctl) abort(ctl);
  await Promise.all(workers.map((w) => w.stop()));
  workers = [];
  registry?.close();
  registry = undefined;
  ctl = undefined;
});

const kinds: KeysKind[] = ['unique', 'duplicate', 'duplicate-by-key'];
const configs = kinds.flatMap((kind) => [1, 8].map((partitions) => ({ kind, partitions })));

describe(`stress: ${kWorkers} workers, mixed ops (ROSTER_SEED=${seed})`, () => {
  it.each(configs)(`keys=$kind partitions=$partitions (ROSTER_SEED=${seed})`, async ({ kind, partitions }) => {
    const where = `[ROSTER_SEED=${seed} keys=${kind} partitions=${partitions}]`;
    // A small initial capacity makes partitions grow and compact while readers are running.
    const reg = Registry.create({ keys: kind, partitions, initialCapacity: 16 });
    registry = reg;
    const control = makeControl();
    ctl = control;
    const pidsBuf = new Float64Array(new SharedArrayBuffer(kWorkers * Float64Array.BYTES_PER_ELEMENT));
    const configSeed = subSeed(seed, `${kind}/${partitions}`);
    workers = Array.from(
      { length: kWorkers },
      (_unused, index) =>
        new TestWorker(fixture, {
          handle: reg.handle,
          kind,
          ctl: control,
          pids: pidsBuf,
          index,
          parties: kWorkers,
          keyCount: kKeys,
          maxOps: kMaxOps,
          durationMs: kDurationMs,
          seed: configSeed,
        }),
    );
    const keys: Key[] = Array.from({ length: kKeys }, (_unused, i) => keyFor(i));

    // The main thread is a fifth, concurrent reader until every worker reports.
    const mainProblems: string[] = [];
    let mainReads = 0;
    let mainScans = 0;
    const indexOf = new Map(keys.map((k, i) => [canon(k), i]));
    let finished = false;
    const done = nextAll<DoneMsg>(workers, 60_000).finally(() => {
      finished = true;
    });
    while (!finished && mainProblems.length === 0) {
      const pids = Array.from(pidsBuf);
      for (let j = 0; j < 200; j++, mainReads++) {
        const i = mainReads % kKeys;
        const entries = reg.lookup(keys[i] as Key);
        if (kind === 'unique' && entries.length > 1) mainProblems.push(`main lookup key ${i}: ${entries.length} entries`);
        for (const [pid, v] of entries) {
          const bad = valueProblem(v, i, kWorkers);
          if (bad !== null) mainProblems.push(`main lookup key ${i}: ${bad}`);
          // Re-read the pid table: a worker publishes its pid before it registers anything.
          else if (pids[(v as StressValue).w] !== pid && pidsBuf[(v as StressValue).w] !== pid) {
            mainProblems.push(`main lookup key ${i}: value of worker ${(v as StressValue).w} held by ${pid}`);
          }
        }
      }
      // A whole-table scan: a long read window, so the likeliest to straddle a rebuild.
      const seen = new Set<string>();
      for (const row of reg.select([{ match: [_, _, _] }]) as Array<[Key, number, unknown]>) {
        const [key, pid, v] = row;
        const c = canon(key);
        const i = indexOf.get(c);
        if (i === undefined) {
          mainProblems.push(`main select: unknown key ${c}`);
          continue;
        }
        if (kind === 'unique') {
          if (seen.has(c)) mainProblems.push(`main select: unique key ${i} appears twice`);
          seen.add(c);
        }
        const bad = valueProblem(v, i, kWorkers);
        if (bad !== null) mainProblems.push(`main select key ${i}: ${bad}`);
        else if (pidsBuf[(v as StressValue).w] !== pid) mainProblems.push(`main select key ${i}: value of worker ${(v as StressValue).w} held by ${pid}`);
      }
      mainScans++;
      // Yield to the event loop (to receive the workers' reports); not a synchronisation.
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
    if (mainProblems.length > 0) Atomics.store(control, kAbort, 1);
    const msgs = await done;

    if (process.env['ROSTER_VERBOSE']) {
      console.log(`${where} main reads ${mainReads} scans ${mainScans}`, msgs.map((m) => ({ ops: m.ops, ...m.stats, held: m.ledger.length })));
    }
    const workerProblems = msgs.flatMap((m) => m.problems);
    expect(workerProblems.join('\n'), `${where}: checks inside the workers`).toBe('');
    expect(mainProblems.slice(0, 10).join('\n'), `${where}: concurrent main-thread reads (${mainReads} lookups, ${mainScans} scans)`).toBe('');
    const pids = msgs.map((m) => m.me);
    expect(new Set(pids).size, `${where}: distinct worker pids`).toBe(kWorkers);
    for (const m of msgs) expect(m.ops, `${where}: worker made progress`).toBeGreaterThan(100);

    // Final invariants, every worker stopped (parked on the phase word) but alive.
    const ledgers = msgs.map((m) => new Map(m.ledger));
    const problems: string[] = [];
    let total = 0;
    for (let i = 0; i < kKeys; i++) {
      const key = keys[i] as Key;
      const entries = reg.lookup(key);
      if (kind === 'unique' && entries.length > 1) problems.push(`key ${i}: unique key has ${entries.length} entries`);
      pids.forEach((pid, w) => {
        const own = entries.filter(([p]) => p === pid).map(([, v]) => v);
        const want = ledgers[w]?.get(i) ?? [];
        if (canon(own) !== canon(want)) problems.push(`key ${i} worker ${w}: visible ${canon(own)}, ledger ${canon(want)}`);
      });
      const foreign = entries.filter(([p]) => !pids.includes(p));
      if (foreign.length > 0) problems.push(`key ${i}: foreign entries ${canon(foreign)}`);
    }
    pids.forEach((pid, w) => {
      const want: Key[] = [];
      for (const [i, vs] of ledgers[w] ?? []) {
        total += vs.length;
        for (let j = 0; j < (kind === 'unique' ? 1 : vs.length); j++) want.push(keys[i] as Key);
      }
      const got = canonSorted(reg.keys(pid));
      if (canon(got) !== canon(canonSorted(want))) problems.push(`keys(pid) of worker ${w}: ${got.length} keys, ledger ${want.length}`);
    });
    expect(problems.slice(0, 20).join('\n'), `${where}: table equals the ledgers`).toBe('');
    expect(reg.count(), `${where}: count() equals the ledgers' total`).toBe(total);
    const rows = reg.select([{ match: [_, _, _] }]) as Array<[Key, number, unknown]>;
    expect(rows.length, `${where}: select of everything`).toBe(total);
    expect(rows.filter(([, p]) => !pids.includes(p)).map((r) => canon(r)), `${where}: no foreign rows`).toEqual([]);

    setPhase(control, 1);
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, `${where}: workers exit cleanly`).toEqual(codes.map(() => 0));
  });
});
