/**
 * Waiting never looks like dying, and nobody waits past the bound. With a coordinator at heartbeatMs
 * 50, stallMs 300, fenceMs 200 (every thread's event loop must turn six times a stall period):
 * - a thread holds a partition lock for a seeded 600–1600 ms (two to five times stallMs) while seeded 2–4
 *   stall-checked workers, and in one case the supervising main thread itself, wait on it
 *   synchronously: no waiter is declared stalled, fenced or dead, every write completes after the
 *   release, and every wait ends within the hold plus a margin;
 * - a waiter on a lock that is never released fails with ROSTER_ERR_TIMEOUT after the bound;
 * - `lock(key, fn)`: a holder fenced while it is still inside `fn` (its thread blocked, its
 *   terminate stuck) keeps the lock until it is seen to exit: a waiter never overlaps it.
 * Replay with ROSTER_SEED=<seed in the test names>.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { Coordinator, Registry } from '../dist/src/index.js';
import { kHLockWaiters } from '../dist/src/layout.js';
import { kLockWaitMs } from '../dist/src/memory/partition-lock.js';
import {
  kBClock, kBSpin, kBStopped, kBWake, newBoard, startWriter, terminateAll, until, waitChange,
} from '../dist/test/fixtures/fault-driver.js';
import { mulberry32, randInt, seedFromEnv, subSeed } from './helpers/prng.js';

const seed = seedFromEnv();
let coord: Coordinator;
const closers: Array<() => void> = [];

beforeAll(async () => {
  coord = await Coordinator.start({ heartbeatMs: 50, stallMs: 300, fenceMs: 200 });
});
afterAll(async () => {
  await terminateAll();
  await coord.stop();
});
afterEach(async () => {
  await terminateAll();
  for (const c of closers.splice(0)) c();
});

function waitersOn(reg: Registry): number {
  return Atomics.load(new Int32Array(reg.handle.partitions[0] as SharedArrayBuffer, 0, 64), kHLockWaiters);
}

describe(`waiting on a partition lock (ROSTER_SEED=${seed})`, () => {
  for (const mainWaits of [false, true]) {
    test(`held 600–1600 ms with 2–4 stall-checked waiters${mainWaits ? ' and the supervising main thread waiting too' : ''}: nobody is declared dead`, async () => {
      const rng = mulberry32(subSeed(seed, mainWaits ? 'main' : 'workers'));
      const holdMs = 600 + randInt(rng, 1001);
      const n = 2 + randInt(rng, 3);
      const reg = Registry.create({ keys: 'unique', partitions: 1, name: `waiting-${String(mainWaits)}` });
      closers.push(() => reg.close());
      const board = newBoard();
      // The holder blocks on purpose: it is not stall-checked.
      const holder = await startWriter(reg, board, { stall: false });
      const waiters = await Promise.all(Array.from({ length: n }, () => startWriter(reg, newBoard(), { stall: true })));
      for (const w of waiters) expect(await w.call('op', 'register', `before-${w.pid}`, 0)).toMatchObject({ ok: true });
      const d0 = coord.deaths();

      const held = holder.begin('holdAt', 'published', holdMs, 'register', 'held', 1);
      await waitChange(board, kBStopped, 0, 'the holder to take the lock');
      const t0 = Date.now();
      const writes = waiters.map((w) => w.begin('op', 'register', `during-${w.pid}`, 1));
      await until(() => waitersOn(reg) >= n || Date.now() - t0 > holdMs, 'the waiters to park on the lock');
      if (mainWaits) {
        // The supervisor itself blocks: it can deliver no terminate request meanwhile.
        expect(reg.register('main-during', 1).ok).toBe(true);
        expect(Date.now() - t0, 'the main thread waited out the hold').toBeLessThan(holdMs + 1000);
      }
      expect(await held.done).toMatchObject({ ok: true });
      for (const op of writes) expect(await op.done).toMatchObject({ ok: true });
      expect(Date.now() - t0, `every wait ended within the hold (${holdMs} ms) plus a margin`).toBeLessThan(holdMs + kLockWaitMs);

      expect(coord.deaths(), `no waiter was declared stalled, fenced or dead (hold ${holdMs} ms, ${n} waiters)`).toEqual(d0);
      for (const w of waiters) {
        expect(reg.lookup(`before-${w.pid}`)).toEqual([[w.pid, 0]]);
        expect(reg.lookup(`during-${w.pid}`)).toEqual([[w.pid, 1]]);
        expect(await w.call('op', 'register', `after-${w.pid}`, 2), 'still a live writer').toMatchObject({ ok: true });
      }
      expect(reg.count()).toBe(3 * n + 1 + (mainWaits ? 1 : 0));
      for (const s of reg.stats()) expect(s.lock).toBe(0);
    });
  }

  test(`a lock that is never released: the waiter fails with ROSTER_ERR_TIMEOUT after ${kLockWaitMs} ms and stays alive`, async () => {
    const reg = Registry.create({ keys: 'unique', partitions: 1, name: 'waiting-bound' });
    closers.push(() => reg.close());
    const board = newBoard();
    const holder = await startWriter(reg, board, { stall: false });
    const waiter = await startWriter(reg, newBoard(), { stall: true });
    const d0 = coord.deaths();
    const held = holder.begin('zombie', 'published', 'register', 'held', 1);
    await waitChange(board, kBStopped, 0, 'the holder to take the lock');
    const t0 = Date.now();
    await expect(waiter.call('op', 'register', 'refused', 1)).rejects.toMatchObject({ code: 'ROSTER_ERR_TIMEOUT' });
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(kLockWaitMs);
    expect(waited).toBeLessThan(kLockWaitMs + 2000);
    expect(reg.lookup('refused'), 'a timed-out write changed nothing').toEqual([]);
    expect(coord.deaths(), 'the waiter was not declared dead').toEqual(d0);
    Atomics.store(board, kBWake, 1);
    Atomics.notify(board, kBWake);
    expect(await held.done).toMatchObject({ ok: true });
    expect(await waiter.call('op', 'register', 'refused', 1)).toMatchObject({ ok: true });
  });
});

describe('lock(key, fn) with a holder fenced inside fn', () => {
  test('the next holder enters only after the fenced holder has stopped: no overlap', async () => {
    const reg = Registry.create({ keys: 'unique', partitions: 1, name: 'lock-fenced' });
    closers.push(() => reg.close());
    const board = newBoard();
    // The holder's terminate is stuck ('deaf'), so the coordinator fences it while it spins inside fn.
    const holder = await startWriter(reg, board, { supervise: 'deaf', tag: 1 });
    const waiter = await startWriter(reg, board, { tag: 2 });
    const f0 = coord.deaths().fenced;
    const holding = holder.begin('lock', 'L', { spin: true });
    await holding.event('locked');
    await until(() => coord.deaths().fenced > f0, 'the coordinator to fence the holder', 10_000);
    const waiting = waiter.begin<{ clock: number; running: boolean }>('lock', 'L', { checkSpin: true });
    await waiting.event('attempting');
    // The waiter retries every 50 ms; give it many retries while the fenced holder still runs in fn.
    const spin0 = Atomics.load(board, kBSpin);
    await until(() => Atomics.load(board, kBClock) > 1, 'the waiter (it must not enter)', 600).catch(() => undefined);
    expect(Atomics.load(board, kBSpin), 'the fenced holder is still running').not.toBe(spin0);
    expect(Atomics.load(board, kBClock), 'nobody entered while the fenced holder ran inside fn').toBe(1);
    await holder.terminate();
    const entered = await waiting.done;
    expect(entered.clock).toBe(2);
    expect(entered.running, 'the waiter entered while the previous holder was still running').toBe(false);
  });
});
