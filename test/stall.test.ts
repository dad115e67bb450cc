/**
 * A stalled event loop, with a coordinator at heartbeatMs 50, stallMs 400,
 * fenceMs 300:
 * (a) a supervised worker that blocks its loop well below the deadline (100 ms) is not swept: its
 *     entries stay and it keeps writing;
 * (b) one that blocks far above it is terminated, then swept; the 'down' reason is 'stalled';
 * (c) fencing: a worker whose supervisor cannot terminate it (supervised through a stand-in whose
 *     terminate() does nothing, as when termination is stuck) is fenced by the coordinator after
 *     stallMs + fenceMs while it still runs: its entries are hidden, its writes after waking are
 *     refused with ROSTER_ERR_STALE_INCARNATION, and it is declared dead and swept only once it exits.
 * Wall-clock time is used only for the deliberate stall durations; every wait on another thread is
 * an event or an Atomics wake-up with a wide bound.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { Coordinator, Registry } from '../dist/src/index.js';
import type { RegistryEvent } from '../dist/src/types.js';
import {
  kBResult, kBWake, newBoard, startWriter, terminateAll, until, waitChange, withTimeout, type Writer,
} from '../dist/test/fixtures/fault-driver.js';

const kStallMs = 400;
let reg: Registry;
let coord: Coordinator;
const events: RegistryEvent[] = [];
let onEvent: (() => void) | undefined;

beforeAll(async () => {
  // Created before the coordinator starts, so it is handed over at once.
  reg = Registry.create({ keys: 'unique', partitions: 2, listeners: ['L'] });
  reg.listen('L', (e) => {
    events.push(e);
    onEvent?.();
  });
  coord = await Coordinator.start({ heartbeatMs: 50, stallMs: kStallMs, fenceMs: 300 });
});
afterAll(async () => {
  await terminateAll();
  await coord.stop();
  reg.close();
});
afterEach(terminateAll);

/** The 'down' event of `pid`, once it arrives. */
function downOf(w: Writer, what: string, ms = 15_000): Promise<RegistryEvent> {
  const find = (): RegistryEvent | undefined => events.find((e) => e.type === 'down' && e.pid === w.pid);
  return withTimeout(
    new Promise<RegistryEvent>((resolve) => {
      const check = (): void => {
        const e = find();
        if (e !== undefined) resolve(e);
      };
      const prev = onEvent;
      onEvent = () => {
        prev?.();
        check();
      };
      check();
    }),
    what,
    ms,
  );
}

describe('stalled event loop (heartbeatMs 50, stallMs 400)', () => {
  test('(a) blocked well below the deadline: not swept, keeps working', async () => {
    const w = await startWriter(reg, newBoard());
    expect(await w.call('op', 'register', 'a/1', 1)).toMatchObject({ ok: true });
    const declared = coord.deaths().declared;
    for (let i = 0; i < 3; i++) {
      // 100 ms = 2 heartbeats, a quarter of stallMs; the coordinator checks every heartbeat meanwhile.
      expect(await w.call('block', 100, 'register', `a/block${i}`, i)).toMatchObject({ ok: true });
    }
    expect(coord.deaths().declared, 'a death was declared').toBe(declared);
    expect(reg.lookup('a/1')).toEqual([[w.pid, 1]]);
    expect(reg.lookup('a/block2')).toEqual([[w.pid, 2]]);
    expect(await w.call('op', 'update', 'a/1', 2)).toMatchObject({ ok: true, value: 2 });
    expect(reg.lookup('a/1')).toEqual([[w.pid, 2]]);
    expect(events.some((e) => e.type === 'down' && e.pid === w.pid)).toBe(false);
  });

  test('(b) blocked far above the deadline: terminated, then swept, reason stalled', async () => {
    const w = await startWriter(reg, newBoard());
    expect(await w.call('op', 'register', 'b/1', 1)).toMatchObject({ ok: true });
    const order: string[] = [];
    void w.exited.then(() => order.push('exit'));
    const down = downOf(w, "the stalled worker's down event").then((e) => {
      order.push('down');
      return e;
    });
    const tid = w.worker.threadId;
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    // Blocks for up to 60 s: far above stallMs; the coordinator has it terminated long before.
    w.begin('block', 60_000).done.catch(() => undefined);
    const code = await withTimeout(w.exited, 'the stalled worker to be terminated', 15_000);
    expect(code).toBe(1);
    await until(() => warnings.length > 0, 'the stall warning');
    process.off('warning', onWarning);
    // The kill is visible: a process warning names the thread, how long it was blocked and the option.
    const warning = warnings.find((x) => (x as { code?: string }).code === 'ROSTER_STALLED');
    expect(warning?.message).toContain(`worker thread ${tid}:`);
    expect(warning?.message).toMatch(/blocked for \d+ ms, past stallMs \(400 ms\)/);
    expect(await down).toMatchObject({ type: 'down', reason: 'stalled' });
    expect(order, 'terminated before swept').toEqual(['exit', 'down']);
    await coord.sync();
    expect(reg.lookup('b/1')).toEqual([]);
    expect(reg.keys(w.pid)).toEqual([]);
    for (const s of reg.stats()) expect(s.lock).toBe(0);
  });

  test('(c) fencing: a thread fenced while still running has its entries hidden and its late writes refused; it is swept once it exits', async () => {
    const board = newBoard();
    const w = await startWriter(reg, board, { supervise: 'deaf' });
    expect(await w.call('op', 'register', 'c/1', 1)).toMatchObject({ ok: true });
    let exited = false;
    void w.exited.then(() => (exited = true));
    const fenced0 = coord.deaths().fenced;
    const declared0 = coord.deaths().declared;
    const parked = w.begin<{ ok: boolean; code?: unknown }>('park', 'register', 'c/2', 'late');
    await parked.event('parked');
    // Its supervisor cannot terminate it: the coordinator fences it itself.
    await until(() => coord.deaths().fenced > fenced0, 'the coordinator to fence the stalled worker', 15_000);
    expect(exited, 'the fenced thread is still running').toBe(false);
    expect(reg.lookup('c/1'), 'a fenced thread\'s entries are hidden at once').toEqual([]);
    expect(coord.deaths().declared, 'fenced is not dead: nothing is declared while it may run').toBe(declared0);
    expect(events.some((e) => e.type === 'down' && e.pid === w.pid), 'no down event before it stops').toBe(false);
    // Its unique key can be taken over while it is fenced.
    expect(reg.register('c/1', 'main').ok).toBe(true);

    // Wake the zombie: its write must be refused by the incarnation check.
    Atomics.store(board, kBWake, 1);
    Atomics.notify(board, kBWake);
    await waitChange(board, kBResult, 0, 'the late write');
    expect(await parked.done).toEqual({ ok: false, code: 'ROSTER_ERR_STALE_INCARNATION' });
    await expect(w.call('op', 'unregister', 'c/1')).rejects.toMatchObject({ code: 'ROSTER_ERR_STALE_INCARNATION' });
    await expect(w.call('op', 'register', 'c/3', 3)).rejects.toMatchObject({ code: 'ROSTER_ERR_STALE_INCARNATION' });
    expect(reg.lookup('c/2')).toEqual([]);
    expect(reg.lookup('c/3')).toEqual([]);
    expect(reg.lookup('c/1')).toEqual([[reg.lookup('c/1')[0]?.[0], 'main']]);
    for (const s of reg.stats()) expect(s.lock, 'a refused write leaves no lock behind').toBe(0);

    // Its real exit declares it dead (once), and then it is swept.
    const down = downOf(w, "the fenced worker's down event");
    await w.terminate();
    expect(await down).toMatchObject({ type: 'down', reason: 'stalled' });
    await coord.sync();
    expect(coord.deaths().declared).toBe(declared0 + 1);
    expect(reg.keys(w.pid)).toEqual([]);
    expect(reg.unregister('c/1')).toBeUndefined();
  });
});
