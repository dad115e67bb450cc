/**
 * The thread-slot state machine (src/domain/domain.ts) under kills between its steps. Each case leaves a
 * slot as a declarer or claimer killed half-way would, by writing the slot's words directly, and
 * checks that the system still converges: the slot is freed or swept, `sync()` resolves, and nothing
 * of the thread is left.
 * - a claim killed after its CAS (state Claiming, naming the thread): the thread's exit frees it;
 * - a declarer killed after the state CAS, before clearing `live`: the coordinator repairs `live` and
 *   sweeps the thread;
 * - the `swept` statistic one behind (a kill after freeing a slot, before counting it): later
 *   `sync()` calls still resolve, because they wait on slots, not on counters.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Worker } from 'node:worker_threads';
import { Coordinator, Registry } from '../dist/src/index.js';
import { Domain } from '../dist/src/domain/domain.js';
import {
  kDSwept, kLocalLimit, kMaxThreads, kStateBits, kStateClaiming, kStateDead, kStateFree, kStateMask, kTLast, kTLive, kTState, threadBase,
} from '../dist/src/layout.js';
import { kBStopped, newBoard, startWriter, terminateAll, until, waitChange } from '../dist/test/fixtures/fault-driver.js';

let coord: Coordinator;
let reg: Registry;
beforeAll(async () => {
  reg = Registry.create({ keys: 'unique', partitions: 2, name: 'thread-slots' });
  coord = await Coordinator.start({ heartbeatMs: 20, stallMs: 200, fenceMs: 100 });
});
afterAll(async () => {
  await terminateAll();
  await coord.stop();
  reg.close();
});

const domain = (): Domain => Domain.current();
const stateOf = (slot: number): number => Atomics.load(domain().i32, threadBase(slot) + kTState);
const slotOf = (pid: number): number => (Math.floor(pid / kLocalLimit) | 0) & (kMaxThreads - 1);

test('a claim killed after its CAS: the slot names the thread, and its exit frees it', async () => {
  const i32 = domain().i32;
  // A thread that never claims a slot itself; we make a half-made claim in its name.
  const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
  await new Promise((resolve) => w.once('online', resolve));
  let slot = -1;
  for (let s = kMaxThreads - 1; s >= 0; s--) {
    if (Atomics.compareExchange(i32, threadBase(s) + kTState, kStateFree, (w.threadId << kStateBits) | kStateClaiming) === kStateFree) {
      slot = s;
      break;
    }
  }
  expect(slot).toBeGreaterThanOrEqual(0);
  await w.terminate();
  await until(() => stateOf(slot) === kStateFree, 'the exit to free the half-made claim');
  expect(Atomics.load(i32, threadBase(slot) + kTLive)).toBe(0);
});

test('a declarer killed between the state CAS and clearing live: repaired, swept, sync() resolves', async () => {
  const board = newBoard();
  const w = await startWriter(reg, board, { stall: false });
  expect(await w.call('op', 'register', 'half-declared', 1)).toMatchObject({ ok: true });
  const slot = slotOf(w.pid);
  const b = threadBase(slot);
  const i32 = domain().i32;
  const inc = Atomics.load(i32, b + kTLast);
  // Stop it (parked forever inside nothing: its event loop blocked), then play a declarer that
  // stored Dead and was killed before clearing live.
  const parked = w.begin('crash', 'locked', 'register', 'never', 1);
  await waitChange(board, kBStopped, 0, 'the writer to stop');
  const st = Atomics.load(i32, b + kTState);
  expect(Atomics.compareExchange(i32, b + kTState, st, (st & ~kStateMask) | kStateDead)).toBe(st);
  expect(Atomics.load(i32, b + kTLive)).toBe(inc);
  await w.terminate();
  await parked.done.catch(() => undefined);
  await coord.sync();
  expect(Atomics.load(i32, b + kTLive), 'live repaired').toBe(0);
  expect(stateOf(slot) & kStateMask, 'swept and freed (or claimed again)').not.toBe(kStateDead);
  expect(reg.lookup('half-declared')).toEqual([]);
  expect(reg.register('never', 2).ok, 'its lock was recovered').toBe(true);
  for (const s of reg.stats()) expect(s.lock).toBe(0);
});

test('the swept counter one behind: later sync() calls still resolve', async () => {
  const i32 = domain().i32;
  Atomics.sub(i32, kDSwept, 1);
  const w = await startWriter(reg, newBoard());
  expect(await w.call('op', 'register', 'skewed', 1)).toMatchObject({ ok: true });
  await w.terminate();
  await coord.sync(5000);
  expect(reg.lookup('skewed')).toEqual([]);
  Atomics.add(i32, kDSwept, 1);
});
