/**
 * Lock recovery (the holder dies with waiters parked):
 * - the holder of `registry.lock(key, fn)` is terminated inside `fn` while 3 waiters in other threads
 *   are parked: the waiters proceed within a bounded delay, one at a time, and none before the holder
 *   was killed;
 * - a waiter that dies while parked does not block the others;
 * - a thread that dies holding a partition write lock (crash hook 'locked') does not block a writer
 *   parked on that partition: it recovers the lock once the death is declared.
 * Each runs with a coordinator and without one (waiters then rely on their own liveness re-checks).
 * Mutual exclusion is checked on a shared board (fault-board.ts): kBInside holds the tag of the thread
 * inside, kBViolations counts entries that found someone else there, kBClock orders entries against
 * the kill. Nothing sleeps to synchronise; the dwell inside the critical section only widens the window
 * in which a broken lock would let two threads overlap.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { Coordinator, Registry } from '../dist/src/index.js';
import { hashString, partitionOf } from '../dist/src/memory/hash.js';
import { kHLockWaiters } from '../dist/src/layout.js';
import {
  kBClock, kBEntries, kBInside, kBStopped, kBViolations, newBoard, startWriter, terminateAll, until, waitChange, withTimeout,
  type Op, type Writer,
} from '../dist/test/fixtures/fault-driver.js';

/** Generous bound on how long parked waiters may take after the holder's death (2 busy cores). */
const kBoundMs = 5_000;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  await terminateAll();
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(withCoordinator: boolean, partitions = 1): Promise<{ reg: Registry; coord: Coordinator | undefined }> {
  const reg = Registry.create({ keys: 'unique', partitions });
  cleanups.push(() => reg.close());
  let coord: Coordinator | undefined;
  if (withCoordinator) {
    const c = await Coordinator.start({ heartbeatMs: 50 });
    cleanups.push(() => c.stop());
    coord = c;
  }
  return { reg, coord };
}

/** Starts `lock` on `w` and returns once its first attempt failed and it is parked. */
async function parkLocker(w: Writer, key: string, opts: Record<string, unknown>): Promise<Op<{ clock: number }>> {
  const op = w.begin<{ clock: number }>('lock', key, opts);
  await op.event('attempting');
  // The first attempt runs synchronously inside lock() before its first await, so once the next
  // command is answered the waiter has failed once and sleeps on the change counter.
  await w.call('self');
  return op;
}

describe.each([true, false])('lock(key, fn) recovery (coordinator: %s)', (withCoordinator) => {
  test('holder terminated inside fn: 3 parked waiters proceed, one at a time, within the bound', async () => {
    const { reg, coord } = await setup(withCoordinator);
    const board = newBoard();
    const holder = await startWriter(reg, board, { tag: 9 });
    const waiters = await Promise.all([1, 2, 3].map((tag) => startWriter(reg, board, { tag })));
    const hold = holder.begin('lock', 'L', { die: true });
    await hold.event('locked');
    const ops: Array<Op<{ clock: number }>> = [];
    for (const w of waiters) ops.push(await parkLocker(w, 'L', { dwellMs: 5 }));
    expect(Atomics.load(board, kBEntries), 'nobody entered while the holder lives').toBe(0);

    const killedAt = Atomics.add(board, kBClock, 1) + 1;
    const t0 = Date.now();
    await holder.terminate();
    const results = await withTimeout(Promise.all(ops.map((o) => o.done)), 'the waiters', kBoundMs);
    const delay = Date.now() - t0;
    expect(delay, `waiters done ${delay} ms after the kill`).toBeLessThan(kBoundMs);
    for (const r of results) expect(r.clock, 'a waiter entered before the holder was killed').toBeGreaterThan(killedAt);
    expect(Atomics.load(board, kBEntries)).toBe(3);
    expect(Atomics.load(board, kBViolations), 'two threads inside at once').toBe(0);
    expect(Atomics.load(board, kBInside)).toBe(0);
    expect(await reg.lock('L', () => 'main')).toBe('main');
    if (coord !== undefined) await coord.sync();
    const again = waiters[0];
    if (again !== undefined) expect(await again.call('lock', 'L', {})).toMatchObject({ self: again.pid });
  });

  test('a waiter that dies while parked does not block the others', async () => {
    const { reg, coord } = await setup(withCoordinator);
    const board = newBoard();
    const holder = await startWriter(reg, board, { tag: 9 });
    const [victim, w2, w3] = await Promise.all([1, 2, 3].map((tag) => startWriter(reg, board, { tag })));
    if (victim === undefined || w2 === undefined || w3 === undefined) throw new Error('no writers');
    const hold = holder.begin('lock', 'L', { hold: true });
    await hold.event('locked');
    await parkLocker(victim, 'L', { dwellMs: 5 });
    const ops = [await parkLocker(w2, 'L', { dwellMs: 5 }), await parkLocker(w3, 'L', { dwellMs: 5 })];
    await victim.terminate();
    hold.unlock();
    await hold.done;
    await withTimeout(Promise.all(ops.map((o) => o.done)), 'the live waiters', kBoundMs);
    expect(Atomics.load(board, kBEntries)).toBe(3);
    expect(Atomics.load(board, kBViolations), 'two threads inside at once').toBe(0);
    expect(await reg.lock('L', () => 'main')).toBe('main');
    if (coord !== undefined) await coord.sync();
  });

  test.each([1, 2])('a thread dies holding a partition write lock (partitions: %i): a parked writer proceeds', async (partitions) => {
    const { reg, coord } = await setup(withCoordinator, partitions);
    const board = newBoard();
    const dying = await startWriter(reg, board, { stall: false });
    const writer = await startWriter(reg, board, { stall: false, tag: 2 });
    const p = partitions - 1;
    const keyIn = (prefix: string): string => {
      for (let i = 0; ; i++) if (partitionOf(hashString(`${prefix}${i}`), partitions) === p) return `${prefix}${i}`;
    };
    const crash = dying.begin('crash', 'locked', 'register', keyIn('dying-'), 1);
    crash.done.catch(() => undefined);
    await waitChange(board, kBStopped, 0, 'the writer to stop holding the lock');
    expect(reg.stats()[p]?.lock).not.toBe(0);
    const k = keyIn('parked-');
    const write = writer.begin('op', 'register', k, 'v').done;
    const hdr = new Int32Array(reg.handle.partitions[p] as SharedArrayBuffer, 0, 64);
    await until(() => Atomics.load(hdr, kHLockWaiters) > 0, 'the writer to park on the partition lock');

    const t0 = Date.now();
    await dying.terminate();
    expect(await withTimeout(write, 'the parked writer', kBoundMs)).toMatchObject({ ok: true });
    expect(Date.now() - t0).toBeLessThan(kBoundMs);
    expect(reg.lookup(k)).toEqual([[writer.pid, 'v']]);
    if (coord !== undefined) await coord.sync();
    expect(reg.stats()[p]?.lock).toBe(0);
    expect(reg.register(keyIn('main-'), 1).ok).toBe(true);
  });
});
