/**
 * Conformance §2.C (#21–#25): Elixir's `Registry.LockTest`, run for {unique, duplicate} × {1, 8}.
 *
 * Each `Task.async` is an agent (a worker thread). Agents share an Int32Array "board": inside its
 * critical section an agent increments `board[slot]` (threads inside now) and `board[slot + 1]`
 * (entries so far), and reports how many others were inside when it entered. A correct lock keeps
 * that at 0. Rendezvous are messages (`locked`, `attempting`) and Atomics, never sleeps.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { Coordinator, supervise } from '../../dist/src/index.js';
import type { Registry } from '../../dist/src/index.js';
import type { Agent } from './helpers.js';
import { createRegistry, kBoardWords, kLockCases, onCleanup, runCleanups, startAgent } from './helpers.js';

afterEach(runCleanups);

const kSlotA = 0; // board[0] inside, board[1] entries
const kSlotB = 4; // board[4] inside, board[5] entries

function newBoard(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(kBoardWords * 4));
}

/**
 * Refutes that anyone enters `slot` while we look: waits on `board[slot + 1]` (entries) staying at
 * `entries`. A correct lock can never make this fail; the bound only limits how long we look
 * (Elixir's `refute_receive :locked2, 100`).
 */
async function refuteEntry(board: Int32Array, slot: number, entries: number, lookMs = 100): Promise<void> {
  const r = Atomics.waitAsync(board, slot + 1, entries, lookMs);
  const outcome = r.async ? await r.value : r.value;
  expect(outcome, 'a second locker entered while the lock was held').toBe('timed-out');
}

describe.each(kLockCases)('Registry.LockTest (keys: $keys, partitions: $partitions)', ({ keys, partitions }) => {
  let reg: Registry;

  beforeEach(() => {
    reg = createRegistry({ keys, partitions });
  });

  test('#21 does not lock when using different keys', async () => {
    const board = newBoard();
    const [task1, task2] = await Promise.all([startAgent(reg, board), startAgent(reg, board)]);

    const op1 = task1.begin('lock', 1, { hold: true, slot: kSlotA });
    await op1.event('locked');
    const op2 = task2.begin('lock', 2, { hold: true, slot: kSlotB });
    // Both are inside at the same time: task2 entered while task1 still holds key 1.
    const locked2 = await op2.event('locked');
    expect(locked2.data).toEqual({ others: 0 });
    expect(Atomics.load(board, kSlotA)).toBe(1);
    expect(Atomics.load(board, kSlotB)).toBe(1);

    op1.unlock();
    op2.unlock();
    expect(await op1.done).toBe('done');
    expect(await op2.done).toBe('done');
    expect(await reg.lock(1, () => 'done')).toBe('done');
    expect(await reg.lock(2, () => 'done')).toBe('done');
  });

  test('#22 locks when using the same key', async () => {
    const board = newBoard();
    const [task1, task2] = await Promise.all([startAgent(reg, board), startAgent(reg, board)]);

    const op1 = task1.begin('lock', 'ok', { hold: true, slot: kSlotA });
    expect((await op1.event('locked')).data).toEqual({ others: 0 });

    const op2 = task2.begin('lock', 'ok', { slot: kSlotA });
    await op2.event('attempting');
    // refute_receive :locked2, 100 — the waiter has not entered while the holder holds.
    await refuteEntry(board, kSlotA, 1);
    expect(Atomics.load(board, kSlotA + 1)).toBe(1);

    op1.unlock();
    expect(await op1.done).toBe('done');
    // assert_receive :locked2 — and it entered alone.
    expect((await op2.event('locked')).data).toEqual({ others: 0 });
    expect(await op2.done).toBe('done');
    expect(Atomics.load(board, kSlotA + 1)).toBe(2);
    expect(await reg.lock('ok', () => 'done')).toBe('done');
  });

  test('#23 locks when the one holding the lock raises', async () => {
    const board = newBoard();
    const [task1, task2] = await Promise.all([startAgent(reg, board), startAgent(reg, board)]);

    const op1 = task1.begin('lock', 'ok', { hold: true, raise: true, slot: kSlotA });
    await op1.event('locked');
    const op2 = task2.begin('lock', 'ok', { slot: kSlotA });
    await op2.event('attempting');
    await refuteEntry(board, kSlotA, 1);

    op1.unlock();
    // {:exit, {%RuntimeError{message: "oops"}, _}}: the holder's own error reaches the holder.
    await expect(op1.done).rejects.toMatchObject({ code: 'CONF_OOPS' });
    expect((await op2.event('locked')).data).toEqual({ others: 0 });
    expect(await op2.done).toBe('done');
    expect(await reg.lock('ok', () => 'done')).toBe('done');
  });

  test('#23 (same thread) a raising holder releases the lock and the error reaches the caller', async () => {
    const oops = Object.assign(new Error('oops'), { code: 'CONF_OOPS' });
    await expect(
      reg.lock('ok', () => {
        throw oops;
      }),
    ).rejects.toBe(oops);
    await expect(reg.lock('ok', () => Promise.reject(oops))).rejects.toBe(oops);
    expect(await reg.lock('ok', () => 'done')).toBe('done');
  });

  // A worker that dies holding (or waiting for) a lock: supervised, it is declared dead on exit, and
  // the coordinator sweeps what it left.
  describe('with a coordinator', () => {
    let coord: Coordinator;

    beforeEach(async () => {
      coord = await Coordinator.start({ heartbeatMs: 50 });
      onCleanup(() => coord.stop());
    });

    async function startTasks(board: Int32Array): Promise<[Agent, Agent]> {
      const tasks = await Promise.all([startAgent(reg, board), startAgent(reg, board)]);
      for (const t of tasks) supervise(t.worker);
      return tasks as [Agent, Agent];
    }

    test('#24 locks when the one holding the lock terminates', async () => {
      const board = newBoard();
      const [task1, task2] = await startTasks(board);

      const op1 = task1.begin('lock', 'ok', { hold: true, slot: kSlotA });
      await op1.event('locked');
      const op2 = task2.begin('lock', 'ok', { slot: kSlotB });
      await op2.event('attempting');

      // Task.shutdown(task1, :brutal_kill)
      await task1.terminate();
      expect(await op2.done).toBe('done');
      expect(Atomics.load(board, kSlotB + 1)).toBe(1);
      expect(await reg.lock('ok', () => 'done')).toBe('done');
      await coord.sync();
    });

    test('#25 locks when the one waiting for the lock terminates', async () => {
      const board = newBoard();
      const [task1, task2] = await startTasks(board);

      const op1 = task1.begin('lock', 'ok', { hold: true, slot: kSlotA });
      await op1.event('locked');
      const op2 = task2.begin('lock', 'ok', { slot: kSlotA });
      await op2.event('attempting');

      // Task.shutdown(task2, :brutal_kill): a dead waiter is skipped.
      await task2.terminate();
      op1.unlock();
      expect(await op1.done).toBe('done');
      expect(Atomics.load(board, kSlotA + 1)).toBe(1);
      expect(await reg.lock('ok', () => 'done')).toBe('done');
      await coord.sync();
    });
  });
});
