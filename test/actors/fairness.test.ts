/**
 * Fairness of same-thread work: actors of one scheduler that message each other without end (a cast
 * volley, and a handler that calls a neighbour in a loop), or a handler that spawns and stops actors
 * of its own scheduler in a loop, never starve that scheduler's event loop.
 * Its timers fire, mail from other threads is served, its heartbeat goes on (the coordinator, with
 * its default stallMs, does not declare it stalled), and the traffic itself keeps moving meanwhile.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, cast, spawn, stopProcess, type RuntimeEvent } from '../../dist/src/index.js';
import { Caller } from '../../dist/src/runtime/caller.js';
import { kit, startRig, type Pid, type Rig } from './kit.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig(2);
});
afterAll(async () => {
  await rig.close();
});

describe('same-thread fairness', () => {
  test('an endless cast volley and an endless call loop on scheduler 0: its timers, its ring mail and its heartbeat go on', async () => {
    const events: RuntimeEvent[] = [];
    const off = rig.rt.on((e) => events.push(e));
    const count = rig.slots(2);
    const stop = count + 1;
    const args = { count, stop };
    const a = await spawn(kit('Volley'), args, { scheduler: 0 });
    const b = await spawn(kit('Volley'), args, { scheduler: 0 });
    const looper = await spawn(kit('Volley'), args, { scheduler: 0 });
    const target = await spawn(kit('Probe'), {}, { scheduler: 0 });
    const timers = await spawn(kit('Probe'), {}, { scheduler: 0 });
    expect(cast(a, { peer: b })).toBe(true);
    const loop = call<number>(looper, { loop: target }, { timeout: 30_000 });
    loop.catch(() => undefined); // awaited below; a failure before then is reported there, not as unhandled

    // For longer than the stall deadline (1 s): a call from this thread that the scheduler can only
    // answer once a timer of its own fired. A starved event loop would answer none of them.
    const t0 = performance.now();
    let rounds = 0;
    let seen = Atomics.load(rig.board, count);
    let moved = 0;
    while (performance.now() - t0 < 1500) {
      expect(await call(timers, { later: 5 }, { timeout: 5000 })).toBe('late');
      rounds++;
      const now = Atomics.load(rig.board, count);
      if (now > seen) moved++;
      seen = now;
    }
    Atomics.store(rig.board, stop, 1);
    const calls = await loop;
    off();

    expect(rounds).toBeGreaterThan(10);
    // The volley moved between most rounds, and the call loop made progress.
    expect(moved).toBeGreaterThanOrEqual(rounds - 1);
    expect(seen).toBeGreaterThan(1000);
    // The call loop advances once per turn of same-thread mail: how often depends on the CPU the thread
    // gets, but each round spans several turns (a 5 ms timer), and a volley may not hog them.
    expect(calls).toBeGreaterThanOrEqual(rounds);
    // Nobody was declared dead or stalled.
    expect(events.filter((e) => e.type === 'schedulerDown')).toEqual([]);
    expect(await call(target, 'get')).toBe(0);
    for (const p of [a, b, looper, target, timers] as Pid[]) await stopProcess(p);
    expect(Caller.current().pending).toBe(0);
  });

  test('a handler that spawns and stops actors of its own scheduler in a loop: its timers, its ring mail and its heartbeat go on', async () => {
    const events: RuntimeEvent[] = [];
    const off = rig.rt.on((e) => events.push(e));
    const count = rig.slots(2);
    const stop = count + 1;
    const churner = await spawn(kit('Volley'), { count, stop }, { scheduler: 1 });
    const timers = await spawn(kit('Probe'), {}, { scheduler: 1 });
    const churn = call<number>(churner, { churn: true }, { timeout: 30_000 });
    churn.catch(() => undefined); // awaited below
    const t0 = performance.now();
    let rounds = 0;
    while (performance.now() - t0 < 1500) {
      expect(await call(timers, { later: 5 }, { timeout: 5000 })).toBe('late');
      rounds++;
    }
    Atomics.store(rig.board, stop, 1);
    const n = await churn;
    off();
    expect(rounds).toBeGreaterThan(10);
    expect(n).toBeGreaterThan(1000);
    expect(events.filter((e) => e.type === 'schedulerDown')).toEqual([]);
    for (const p of [churner, timers]) await stopProcess(p);
  });
});
