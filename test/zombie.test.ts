/**
 * Zombie writers: a thread fenced while it still runs can never write after its lock was taken from
 * it, because its lock is never taken from it. For every crash point of every write:
 * 1. a writer (supervised through a stand-in whose terminate() does nothing, so termination is stuck)
 *    parks inside the write at that point, holding the partition lock;
 * 2. the coordinator (heartbeatMs 20, stallMs 100, fenceMs 100) finds it stalled and fences it;
 * 3. a live thread writes to the same partition and waits on the lock;
 * 4. the zombie wakes and finishes its write under its own lock; its next write is refused;
 * 5. the table is checked from the main instance, a fresh instance and another thread: the live
 *    thread's entries are intact, the zombie's are hidden, counters match the slots;
 * 6. the zombie exits, is declared dead and swept: nothing of it is left, counters match, no lock held.
 * A second test shows the bound: a write that meets a fenced holder fails with ROSTER_ERR_TIMEOUT
 * after about 2 s having changed nothing, while the coordinator keeps sweeping other deaths.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { Coordinator, Registry, _ } from '../dist/src/index.js';
import { kHLockWaiters, kLocalLimit } from '../dist/src/layout.js';
import { kLockWaitMs } from '../dist/src/memory/partition-lock.js';
import { tablesOf } from '../dist/src/registry/registry.js';
import type { Pid } from '../dist/src/types.js';
import {
  kBResult, kBStopped, kBWake, newBoard, startWriter, terminateAll, until, waitChange, type Writer,
} from '../dist/test/fixtures/fault-driver.js';

type OpName = 'register' | 'unregister' | 'update' | 'grow';
const kCases: ReadonlyArray<readonly [OpName, readonly string[]]> = [
  ['register', ['locked', 'intent', 'slot-hash', 'published', 'release']],
  ['unregister', ['locked', 'intent', 'unpublished', 'release']],
  ['update', ['locked', 'intent', 'slot-hash', 'published', 'release']],
  ['grow', ['locked', 'rebuild-copy', 'rebuild-switch', 'intent', 'slot-hash', 'published', 'release']],
];

let coord: Coordinator;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  coord = await Coordinator.start({ heartbeatMs: 20, stallMs: 100, fenceMs: 100 });
});
afterAll(async () => {
  await terminateAll();
  await coord.stop();
});
afterEach(async () => {
  await terminateAll();
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface RawTable {
  scan(accept: (inc: number, local: number) => boolean, withValues?: boolean): Array<{ key: unknown; inc: number; local: number; value: unknown }>;
  live(): number;
}
const incOf = (pid: Pid): number => Math.floor(pid / kLocalLimit) | 0;

/** Every raw entry of the registry's partitions, dead owners' included. */
function raw(reg: Registry): Array<{ key: unknown; inc: number; value: unknown }> {
  return (tablesOf(reg) as unknown as readonly RawTable[]).flatMap((t) => t.scan(() => true, true));
}

/** Visible entries as a sorted [key, pid, value] list. */
function visible(reg: Registry): unknown[] {
  return (reg.select([{ match: [_, _, _] }]) as Array<[string, Pid, unknown]>).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** Counters agree with the slots: count() = live = raw entries; with `swept`, no tombstones either. */
function expectConsistent(reg: Registry, where: string): void {
  const r = raw(reg);
  const s = reg.stats();
  expect(reg.count(), `${where}: count() = raw entries`).toBe(r.length);
  expect(s.reduce((n, p) => n + p.live, 0), `${where}: live = raw entries`).toBe(r.length);
  for (const p of s) expect(p.used, `${where}: used ≥ live`).toBeGreaterThanOrEqual(p.live);
}

async function zombieCase(op: OpName, point: string): Promise<void> {
  const where = `${op}@${point}`;
  const reg = Registry.create({ keys: 'unique', partitions: 1, initialCapacity: 64, name: `zombie-${op}-${point}` });
  cleanups.push(() => reg.close());
  const board = newBoard();
  const zombie = await startWriter(reg, board, { supervise: 'deaf', tag: 1 });
  // Healthy threads are not stall-checked here (stallMs is tiny to keep the cases fast, and a loaded
  // machine can deschedule a thread for that long); test/waiting.test.ts covers waiters under checks.
  const live = await startWriter(reg, newBoard(), { supervise: 'yes', stall: false, tag: 2 });
  const reader = await startWriter(reg, newBoard(), { supervise: 'yes', stall: false, tag: 3 });
  expect(await live.call('op', 'register', 'A', 1)).toMatchObject({ ok: true });
  expect(await live.call('op', 'register', 'B', 2)).toMatchObject({ ok: true });
  if (op === 'unregister' || op === 'update') expect(await zombie.call('op', 'register', 'Z', 0)).toMatchObject({ ok: true });
  if (op === 'grow') await zombie.call('fill', 'Z');
  const zombieKeys = raw(reg).filter((e) => e.inc === incOf(zombie.pid)).map((e) => e.key);
  const epoch0 = reg.stats()[0]?.epoch;
  const { fenced: fenced0, declared: declared0 } = coord.deaths();

  const opArgs = op === 'unregister' ? ['unregister', 'Z'] : op === 'update' ? ['update', 'Z', 1] : ['register', 'Z', 1];
  const zw = zombie.begin<{ ok: boolean; code?: unknown; parkedAt: string }>('zombie', point, ...opArgs);
  await waitChange(board, kBStopped, 0, `${where}: the zombie to park`);
  await until(() => coord.deaths().fenced > fenced0, `${where}: the coordinator to fence the zombie`, 10_000);
  expect(reg.stats()[0]?.lockHolder, `${where}: the fenced zombie still holds the lock`).toBe('fenced');
  // Its entries are hidden the moment it is fenced; the live thread's stay visible (reads take no lock).
  for (const k of zombieKeys) expect(reg.lookup(k as string), `${where}: fenced entry ${String(k)} hidden`).toEqual([]);
  expect(reg.lookup('A')).toEqual([[live.pid, 1]]);

  // A live writer meets the lock: it waits, it does not take the lock over.
  const liveWrite = live.begin('op', 'register', 'C', 3);
  const header = new Int32Array(reg.handle.partitions[0] as SharedArrayBuffer, 0, 64);
  await until(() => Atomics.load(header, kHLockWaiters) > 0, `${where}: the live writer to wait on the lock`);
  expect(reg.stats()[0]?.lockHolder, `${where}: still the zombie's`).toBe('fenced');

  // Wake the zombie: it finishes its write under its own lock.
  Atomics.store(board, kBWake, 1);
  Atomics.notify(board, kBWake);
  await waitChange(board, kBResult, 0, `${where}: the zombie's write to end`);
  const zr = await zw.done;
  expect(zr.parkedAt).toBe(point);
  // At 'locked' the incarnation check comes next and refuses it; past it, the write completes.
  if (point === 'locked') expect(zr, where).toMatchObject({ ok: false, code: 'ROSTER_ERR_STALE_INCARNATION' });
  else expect(zr, where).toMatchObject({ ok: true });
  expect(await liveWrite.done, `${where}: the live write completes after the zombie released`).toMatchObject({ ok: true });
  await expect(zombie.call('op', 'register', 'Z2', 2), `${where}: a later write is refused`).rejects.toMatchObject({
    code: 'ROSTER_ERR_STALE_INCARNATION',
  });
  if (op === 'grow' && point !== 'locked') expect(reg.stats()[0]?.epoch, `${where}: the zombie's growth switched`).not.toBe(epoch0);

  // The table, from three viewpoints: the live entries only, and counters that match the slots.
  const expected = [['A', live.pid, 1], ['B', live.pid, 2], ['C', live.pid, 3]];
  expect(visible(reg), `${where}: main instance`).toEqual(expected);
  expect(visible(Registry.attach(reg.handle)), `${where}: fresh instance`).toEqual(expected);
  for (const k of ['A', 'B', 'C', 'Z']) expect(await reader.call('lookup', k), `${where}: another thread, ${k}`).toEqual(reg.lookup(k));
  expectConsistent(reg, `${where} (zombie fenced)`);
  expect(reg.stats()[0]?.lock, `${where}: lock free`).toBe(0);
  // The fenced holder of Z no longer owns the unique key: a live thread takes it over at once.
  expect(await live.call('op', 'register', 'Z', 'live')).toMatchObject({ ok: true });

  // It exits: declared dead once, swept; nothing of it is left.
  await zombie.terminate();
  await coord.sync();
  expect(coord.deaths().declared, `${where}: declared once, at its exit`).toBe(declared0 + 1);
  expect(raw(reg).filter((e) => e.inc === incOf(zombie.pid)), `${where}: zombie entries swept`).toEqual([]);
  expect(visible(reg)).toEqual([...expected, ['Z', live.pid, 'live']]);
  expectConsistent(reg, `${where} (swept)`);
  for (const p of reg.stats()) {
    expect(p.lock).toBe(0);
    expect(p.used, `${where}: no tombstones left after the sweep`).toBe(p.live);
  }
  expect(await reader.call('op', 'register', 'D', 4)).toMatchObject({ ok: true });
}

describe('a zombie parked at every crash point of every write (heartbeatMs 20, stallMs 100, fenceMs 100)', () => {
  for (const [op, points] of kCases) {
    for (const point of points) test(`${op} parked at '${point}': fenced, its lock kept until it stops, the table intact`, () => zombieCase(op, point));
  }
});

describe('a write that meets a fenced holder', () => {
  test(`fails with ROSTER_ERR_TIMEOUT after about ${kLockWaitMs} ms, changing nothing, while the coordinator sweeps other deaths`, async () => {
    const reg = Registry.create({ keys: 'unique', partitions: 1, name: 'zombie-timeout' });
    const other = Registry.create({ keys: 'unique', partitions: 2, name: 'zombie-other' });
    cleanups.push(() => reg.close(), () => other.close());
    const board = newBoard();
    const zombie: Writer = await startWriter(reg, board, { supervise: 'deaf' });
    expect(reg.register('kept', 1).ok).toBe(true);
    const fenced0 = coord.deaths().fenced;
    const zw = zombie.begin('zombie', 'published', 'register', 'Z', 1);
    await waitChange(board, kBStopped, 0, 'the zombie to park');
    await until(() => coord.deaths().fenced > fenced0, 'the fence', 10_000);

    const before = { count: reg.count(), stats: reg.stats() };
    const t0 = Date.now();
    let code: unknown;
    try {
      reg.register('refused', 2);
    } catch (err) {
      code = (err as { code?: unknown }).code;
    }
    const waited = Date.now() - t0;
    expect(code).toBe('ROSTER_ERR_TIMEOUT');
    expect(waited).toBeGreaterThanOrEqual(kLockWaitMs);
    expect(waited, 'the wait is bounded').toBeLessThan(kLockWaitMs + 1500);
    expect(reg.count()).toBe(before.count);
    expect(reg.stats()).toEqual(before.stats);
    expect(reg.lookup('refused')).toEqual([]);

    // Meanwhile the coordinator is not stuck: another thread dies with entries elsewhere and is swept.
    const victim = await startWriter(other, newBoard(), { stall: false });
    expect(await victim.call('op', 'register', 'v', 1)).toMatchObject({ ok: true });
    await victim.terminate();
    await coord.sync();
    expect(other.lookup('v')).toEqual([]);
    expect(other.count()).toBe(0);

    Atomics.store(board, kBWake, 1);
    Atomics.notify(board, kBWake);
    expect(await zw.done).toMatchObject({ ok: true });
    expect(reg.register('refused', 2).ok, 'the partition works again once the zombie released').toBe(true);
    await zombie.terminate();
    await coord.sync();
    expect(reg.lookup('Z')).toEqual([]);
    expect(reg.count()).toBe(2);
  });
});
