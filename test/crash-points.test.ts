/**
 * Crash points: a writer thread is stopped at each step of a write (src/memory/table.ts crash
 * hook), terminated there, and the registry must recover: the slot is its before- or after-image, the
 * partition lock comes free, a writer parked on that lock completes, counters match what is visible,
 * and further writes work.
 *
 * Ops: register of a new key, unregister, updateValue, and a register that grows the table
 * (initialCapacity 8, filled to the growth threshold first). Partitions {1, 2}. Each case runs in two
 * recovery modes, alternating by repetition:
 * - 'self': no coordinator while the writer dies. A second writer parked on the partition lock (or,
 *   without one, the main thread's next write) recovers the lock itself; before any sweep the dead
 *   writer's raw entry is inspected and must be the expected image. A coordinator is started after.
 * - 'coordinator': a coordinator runs throughout and recovers and sweeps (a waiter is parked or not,
 *   by the seed).
 * After `coord.sync()`: nothing of the dead writer is left (lookup, select, raw scan), every partition
 * has lock === 0 and used === live, and live summed equals count() equals the entries select sees.
 *
 * Replay with ROSTER_SEED=<seed in the test names>; ROSTER_CRASH_REPS sets repetitions (default 2).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { Coordinator, Registry, _, self } from '../dist/src/index.js';
import { hashString, partitionOf } from '../dist/src/memory/hash.js';
import { tablesOf } from '../dist/src/registry/registry.js';
import { kHLockWaiters, kLocalLimit } from '../dist/src/layout.js';
import type { Entry, Pid } from '../dist/src/types.js';
import {
  kBPoint, kBStopped, kPoints, newBoard, startWriter, terminateAll, until, waitChange, withTimeout,
  type CrashPoint, type Writer,
} from '../dist/test/fixtures/fault-driver.js';
import { mulberry32, pick, randInt, seedFromEnv, subSeed } from './helpers/prng.js';

const seed = seedFromEnv();
const kReps = Number(process.env['ROSTER_CRASH_REPS'] ?? 2);
/** A parked waiter must complete this long after the holder's death at most (generous: 2 busy cores). */
const kRecoverMs = 5_000;

type OpName = 'register' | 'unregister' | 'update' | 'grow';

/** The points each op passes, in order (checked by the "passes exactly" tests). */
const kPath: Record<OpName, readonly CrashPoint[]> = {
  register: ['locked', 'intent', 'slot-hash', 'published', 'release'],
  unregister: ['locked', 'intent', 'unpublished', 'release'],
  update: ['locked', 'intent', 'slot-hash', 'published', 'release'],
  grow: ['locked', 'rebuild-copy', 'rebuild-switch', 'intent', 'slot-hash', 'published', 'release'],
};
/** Points at which the target slot already shows the after-image. */
const kAfter = new Set<CrashPoint>(['published', 'unpublished', 'release']);

const kOps: OpName[] = ['register', 'unregister', 'update', 'grow'];
const kParts = [1, 2];

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  await terminateAll();
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface RawTable {
  scan(accept: (inc: number, local: number) => boolean, withValues?: boolean): Array<{ key: unknown; inc: number; local: number; value: unknown }>;
}
/** The registry's partition tables (internal getter), to read raw entries including dead owners'. */
function rawTables(reg: Registry): readonly RawTable[] {
  return tablesOf(reg) as unknown as readonly RawTable[];
}
const pidOf = (inc: number, local: number): Pid => inc * kLocalLimit + local;

function keyIn(reg: Registry, p: number, prefix: string): string {
  for (let i = 0; ; i++) {
    const k = `${prefix}${i}`;
    if (partitionOf(hashString(k), reg.partitions) === p) return k;
  }
}

/** Every visible entry as [key, pid, value], sorted by key. */
function visible(reg: Registry): Array<[string, Pid, unknown]> {
  const all = reg.select([{ match: [_, _, _] }]) as Array<[string, Pid, unknown]>;
  return all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function values(rng: () => number, tag: string): unknown {
  return pick(rng, [
    () => randInt(rng, 1000),
    () => `${tag}-${randInt(rng, 1e6)}`,
    () => ({ tag, n: randInt(rng, 1e6), list: [1, 'two', [3]] }),
    () => rng() + 0.5,
    () => 'x'.repeat(100 + randInt(rng, 200)),
  ])();
}

function checkSettled(reg: Registry, where: string): void {
  const stats = reg.stats();
  const seen = visible(reg);
  let live = 0;
  stats.forEach((s, p) => {
    expect(s.lock, `${where}: partition ${p} lock`).toBe(0);
    expect(s.used, `${where}: partition ${p} used === live (no tombstones after the sweep)`).toBe(s.live);
    live += s.live;
  });
  expect(live, `${where}: Σ live === entries visible via select`).toBe(seen.length);
  expect(reg.count(), `${where}: count()`).toBe(seen.length);
}

describe(`crash points (ROSTER_SEED=${seed})`, () => {
  describe.each(kParts)('partitions: %i', (partitions) => {
    test.each(kOps)(`%s passes exactly its crash points (ROSTER_SEED=${seed})`, async (op) => {
      const reg = Registry.create({ keys: 'unique', partitions, initialCapacity: 8 });
      cleanups.push(() => reg.close());
      const board = newBoard();
      const w = await startWriter(reg, board, { stall: false });
      const k = keyIn(reg, partitions - 1, `pass-${op}-`);
      if (op === 'unregister' || op === 'update') await w.call('op', 'register', k, 0);
      if (op === 'grow') await w.call('fill', k);
      const before = reg.stats()[partitions - 1]?.capacity ?? 0;
      const r = (await w.call('crash', 'none', op === 'grow' ? 'register' : op, k, 1)) as { completed: boolean; seen: string[] };
      expect(r.completed).toBe(true);
      expect(r.seen).toEqual(kPath[op]);
      if (op === 'grow') expect(reg.stats()[partitions - 1]?.capacity).toBeGreaterThan(before);
      else expect(reg.stats()[partitions - 1]?.capacity).toBe(before);
    });

    const cases = kOps.flatMap((op) => kPath[op].flatMap((point) => Array.from({ length: kReps }, (_u, rep) => ({ op, point, rep }))));
    test.each(cases)(`$op stopped at $point, rep $rep (ROSTER_SEED=${seed})`, async ({ op, point, rep }) => {
      const rng = mulberry32(subSeed(seed, `${partitions}/${op}/${point}/${rep}`));
      const mode = rep % 2 === 0 ? 'self' : 'coordinator';
      const withWaiter = mode === 'self' || rng() < 0.5;
      const where = `[ROSTER_SEED=${seed} partitions=${partitions} op=${op} point=${point} rep=${rep} mode=${mode} waiter=${withWaiter}]`;

      const reg = Registry.create({ keys: 'unique', partitions, initialCapacity: 8 });
      cleanups.push(() => reg.close());
      let coord: Coordinator | undefined;
      const startCoordinator = async (): Promise<Coordinator> => {
        const c = await Coordinator.start({ heartbeatMs: 50 });
        cleanups.push(() => c.stop());
        return c;
      };
      if (mode === 'coordinator') coord = await startCoordinator();

      const p = randInt(rng, partitions);
      // The main thread's own entries, one per partition: they must come through untouched.
      for (let q = 0; q < partitions; q++) expect(reg.register(keyIn(reg, q, `keeper${rep}-${q}-`), values(rng, 'keeper')).ok).toBe(true);

      const board = newBoard();
      const w = await startWriter(reg, board, { stall: false });
      const k = keyIn(reg, p, `target${randInt(rng, 1e6)}-`);
      const v0 = values(rng, 'v0');
      const v1 = values(rng, 'v1');
      if (op === 'unregister' || op === 'update') expect(await w.call('op', 'register', k, v0)).toMatchObject({ ok: true });
      if (op === 'grow') await w.call('fill', k);
      const beforeImage: Entry[] = op === 'unregister' || op === 'update' ? [[w.pid, v0]] : [];
      const afterImage: Entry[] = op === 'unregister' ? [] : [[w.pid, v1]];
      const expected = kAfter.has(point) ? afterImage : beforeImage;
      const othersBefore = visible(reg).filter((e) => e[0] !== k);

      let waiter: Writer | undefined;
      const wk = keyIn(reg, p, `waiter${rep}-`);
      if (withWaiter) waiter = await startWriter(reg, board, { stall: false, tag: 2 });

      // Stop the writer at `point`.
      const crash = w.begin<{ completed: boolean; seen: string[] }>('crash', point, op === 'grow' ? 'register' : op, k, v1);
      const stopped = waitChange(board, kBStopped, 0, `writer to stop at ${point}`);
      const first = await Promise.race([stopped.then(() => 'stopped' as const), crash.done.then((r) => r)]);
      expect(first, `${where} the op passed without stopping`).toBe('stopped');
      expect(kPoints[Atomics.load(board, kBPoint) - 1], where).toBe(point);

      // While it is stopped (alive, holding the lock), lock-free readers see one whole image.
      expect(reg.lookup(k), `${where} lookup while stopped`).toEqual(expected);
      expect(visible(reg).filter((e) => e[0] !== k), `${where} other entries while stopped`).toEqual(othersBefore);
      expect(reg.stats()[p]?.lock, `${where} lock held while stopped`).not.toBe(0);

      // A second writer parks on the partition lock.
      let waiterOp: Promise<unknown> | undefined;
      if (waiter !== undefined) {
        waiterOp = waiter.begin('op', 'register', wk, 'waiter').done;
        const hdr = new Int32Array(reg.handle.partitions[p] as SharedArrayBuffer, 0, 64);
        await until(() => Atomics.load(hdr, kHLockWaiters) > 0, `${where} the waiter to park on the lock`);
      }

      const t0 = Date.now();
      await w.terminate();
      // supervise() declared it dead on 'exit': readers stop returning its entries at once.
      expect(reg.lookup(k), `${where} lookup after death`).toEqual([]);
      expect(reg.keys(w.pid), where).toEqual([]);

      if (mode === 'self') {
        // Nothing has swept yet: the dead writer's entry under k is still in the table, as one image.
        const raw = rawTables(reg)[p]?.scan(() => true) ?? [];
        const deadUnderK = raw.filter((e) => e.key === k).map((e): Entry => [pidOf(e.inc, e.local), e.value]);
        expect(deadUnderK, `${where} raw image of the dead writer's slot`).toEqual(expected);
        if (waiterOp === undefined) {
          // No waiter: the main thread's next write to the partition recovers the lock itself.
          expect(reg.stats()[p]?.lock, `${where} lock still names the dead writer`).not.toBe(0);
          expect(reg.register(wk, 'main').ok, where).toBe(true);
        }
      }
      if (waiterOp !== undefined) {
        expect(await withTimeout(waiterOp, `${where} the parked waiter`, kRecoverMs), where).toMatchObject({ ok: true });
        expect(Date.now() - t0, `${where} waiter delay after the kill (ms)`).toBeLessThan(kRecoverMs);
      }
      coord ??= await startCoordinator();
      await coord.sync();

      // Swept: nothing of the dead writer anywhere, counters settled, everyone else intact.
      for (const t of rawTables(reg)) expect(t.scan((inc, local) => pidOf(inc, local) === w.pid, false), where).toEqual([]);
      expect(reg.lookup(k), where).toEqual([]);
      const waiterPid = waiter?.pid ?? self();
      const expectAfter = othersBefore.filter((e) => e[1] !== w.pid);
      if (waiter !== undefined || mode === 'self') expectAfter.push([wk, waiterPid, waiter === undefined ? 'main' : 'waiter']);
      expect(visible(reg), `${where} entries after the sweep`).toEqual(expectAfter.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
      checkSettled(reg, where);

      // Further writes work, in the crashed partition too, and the dead writer's key is free.
      expect(reg.register(k, 'main'), where).toEqual({ ok: true, owner: self() });
      expect(reg.lookup(k), where).toEqual([[self(), 'main']]);
      expect(reg.updateValue(k, () => 'main2'), where).toMatchObject({ ok: true, value: 'main2' });
      if (waiter !== undefined) expect(await waiter.call('op', 'register', `${wk}/again`, 1), where).toMatchObject({ ok: true });
      reg.unregister(k);
      expect(reg.lookup(k), where).toEqual([]);
      expect(reg.stats()[p]?.lock, where).toBe(0);
    });
  });
});
