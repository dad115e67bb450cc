/**
 * Edges of the exit and of addressing: deferred calls from several threads (whose call refs overlap)
 * all fail when their callee exits; a call or monitor that arrives while `terminate` runs waits for
 * the end of the exit, then fails with it (never a timeout, never before the names are gone); a
 * monitor of a name nobody holds fires at once, also into an actor's `handleInfo`; and a call or
 * monitor addressed to a process that is not an actor fails at once with `noproc`.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, cast, monitor, self, spawn, stopProcess, via, type Down } from '../../dist/src/index.js';
import { Caller } from '../../dist/src/runtime/caller.js';
import { kit, startRig, type Rig } from './kit.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig(2);
});
afterAll(async () => {
  await rig.close();
});

const codeOf = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

/** Resolves once `board[slot]` is no longer 0 (without blocking this thread). */
async function gate(board: Int32Array, slot: number): Promise<void> {
  while (Atomics.load(board, slot) === 0) {
    const w = Atomics.waitAsync(board, slot, 0);
    if (w.async) await w.value;
  }
}

describe('exits and addressing', () => {
  test('2,000 deferred calls from the main thread and 2,000 from an actor on the other scheduler: every one fails with ExitError when the callee stops', async () => {
    const target = await spawn(kit('Probe'), {}, { scheduler: 0 });
    const other = await spawn(kit('Probe'), {}, { scheduler: 1 });
    const n = 2000;
    // Both threads number their calls from small integers: their refs overlap.
    const fromOther = call<string[]>(other, { fanCalls: target, n, msg: { park: true }, timeout: 20_000 }, { timeout: 30_000 });
    const fromMain = Array.from({ length: n }, () => codeOf(call(target, { park: true }, { timeout: 20_000 })));
    while ((await call<number>(target, 'parked')) < 2 * n) await new Promise((r) => setImmediate(r));
    await stopProcess(target);
    const codes = [...(await Promise.all(fromMain)), ...(await fromOther)];
    expect(codes.length).toBe(2 * n);
    expect(codes.filter((c) => c !== 'ROSTER_ERR_EXIT')).toEqual([]);
    await stopProcess(other);
  });

  test('a call and a monitor that arrive while terminate runs wait for the exit, then fail with its reason once the name is gone', async () => {
    const gateSlot = rig.slots(2);
    const pid = await spawn(kit('Probe'), { gateSlot }, { scheduler: 1, name: via(rig.names, 'slow-exit') });
    const stopped = stopProcess(pid, 'going');
    await gate(rig.board, gateSlot + 1); // terminate is running
    expect(rig.names.whereis('slow-exit')).toBe(pid); // its name is still there meanwhile
    const byPid = call(pid, 'get', { timeout: 20_000 }).then(() => 'ok', (e: { code?: string; reason?: string }) => ({ code: e.code, reason: e.reason, name: rig.names.whereis('slow-exit') ?? null }));
    const byName = codeOf(call(via(rig.names, 'slow-exit'), 'get', { timeout: 20_000 }));
    const m = monitor(pid);
    const castSent = cast(pid, { add: 1 });
    // A second stop, from another thread, resolves only once the first one's exit is done.
    let again = false;
    const second = stopProcess(pid).then(() => (again = true));
    expect(await call(await spawn(kit('Probe'), {}, { scheduler: 1 }), 'get')).toBe(0); // a round trip to that scheduler
    expect(again).toBe(false);
    // A call behind them from this thread is answered first only if the actor still ran: it does not.
    Atomics.store(rig.board, gateSlot, 1);
    Atomics.notify(rig.board, gateSlot);
    await stopped;
    await second;
    expect(await byPid).toEqual({ code: 'ROSTER_ERR_EXIT', reason: 'going', name: null });
    expect(await byName).toBe('ROSTER_ERR_EXIT');
    expect(await m.down).toMatchObject({ type: 'down', pid, reason: 'going' });
    expect(castSent).toBe(true); // sent; dropped and counted there
    // Gone now: a call fails at once with noproc.
    expect(await codeOf(call(pid, 'get'))).toBe('ROSTER_ERR_NOPROC');
  });

  test('a monitor of a name nobody holds fires noproc at once, with its own ref, and inside an actor also reaches handleInfo', async () => {
    const a = monitor(via(rig.names, 'nobody'));
    const b = monitor(via(rig.names, 'nobody'));
    expect(a.ref).not.toBe(b.ref);
    expect(await a.down).toEqual({ type: 'down', ref: a.ref, pid: 0, reason: 'noproc' });
    const probe = await spawn(kit('Probe'), {}, { scheduler: 0 });
    const r = await call<{ ref: number; down: Down }>(probe, { monitorName: 'nobody', registry: rig.names.handle.id });
    expect(r.down).toEqual({ type: 'down', ref: r.ref, pid: 0, reason: 'noproc' });
    expect(await call<unknown[]>(probe, 'log')).toContainEqual({ type: 'down', ref: r.ref, pid: 0, reason: 'noproc' });
    await stopProcess(probe);
  });

  test('calls and monitors to processes that are not actors fail at once: this thread, a scheduler, a name this thread holds', async () => {
    const me = self();
    expect(await codeOf(call(me, 'hello', { timeout: 20_000 }))).toBe('ROSTER_ERR_NOPROC');
    expect(await monitor(me).down).toMatchObject({ pid: me, reason: 'noproc' });
    const probe = await spawn(kit('Probe'), {}, { scheduler: 1 });
    const scheduler = Math.floor(probe / 2 ** 31) * 2 ** 31; // local 0: the scheduler's own process
    expect(await codeOf(call(scheduler, 'hello', { timeout: 20_000 }))).toBe('ROSTER_ERR_NOPROC');
    expect(await monitor(scheduler).down).toMatchObject({ pid: scheduler, reason: 'noproc' });
    expect(rig.names.register('held-by-main', null).ok).toBe(true);
    expect(await codeOf(call(via(rig.names, 'held-by-main'), 'hello', { timeout: 20_000 }))).toBe('ROSTER_ERR_NOPROC');
    // From an actor too.
    expect(await call(probe, { callTo: me, msg: 'hello', timeout: 20_000 })).toEqual({ ok: false, err: { code: 'ROSTER_ERR_NOPROC' } });
    rig.names.unregister('held-by-main');
    await stopProcess(probe);
    expect(Caller.current().pending).toBe(0);
  });
});
