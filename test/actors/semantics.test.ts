/**
 * The actor runtime's messaging semantics, with real scheduler threads (2): per-pair FIFO across
 * call/cast/send, at-most-once, call timeouts and expired requests, noproc, callee exits during a call,
 * deferred replies, acting as the actor after an await, registration before init and duplicate names,
 * non-cloneable messages, init failures, and monitors (from the main thread and from actors), with the
 * exit order: names gone before monitors fire or callers see the exit.
 *
 * Replay with ROSTER_SEED=<seed in the test names>.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, cast, demonitor, monitor, send, spawn, stopProcess, via, type Down } from '../../dist/src/index.js';
import { pidLocal } from '../../dist/src/domain/domain.js';
import { Caller } from '../../dist/src/runtime/caller.js';
import { mulberry32, randInt, seedFromEnv, subSeed } from '../helpers/prng.js';
import { actors, bounded, kit, openGate, rejection, startRig, thrown, total, waitBoard, type Pid, type Rig } from './kit.js';

const seed = seedFromEnv();
let rig: Rig;
let key = 0;
/** A fresh via key. */
const fresh = (p: string): string => `${p}:${++key}`;

beforeAll(async () => {
  rig = await startRig(2);
});
afterAll(async () => {
  await rig.close();
});

describe(`actor semantics (seed ${seed})`, () => {
  test(`call, cast and send keep FIFO per sender → receiver pair, on both schedulers (seed ${seed})`, async () => {
    const rng = mulberry32(subSeed(seed, 'fifo'));
    for (const scheduler of [0, 1]) {
      const pid = await spawn(kit('Probe'), {}, { scheduler });
      const sent: unknown[] = [];
      const snapshots: Array<{ at: number; log: Promise<unknown[]> }> = [];
      const n = 2000 + randInt(rng, 2000);
      for (let i = 1; i <= n; i++) {
        const m = { i };
        if (randInt(rng, 2) === 0) expect(cast(pid, m)).toBe(true);
        else expect(send(pid, m)).toBe(true);
        sent.push(m);
        // Pipelined calls (not awaited) among the casts: each sees exactly what was sent before it.
        if (randInt(rng, 200) === 0) snapshots.push({ at: sent.length, log: call<unknown[]>(pid, 'log') });
      }
      expect(await call(pid, 'log')).toEqual(sent);
      for (const s of snapshots) expect(await s.log).toEqual(sent.slice(0, s.at));
      await stopProcess(pid);
    }
  });

  test(`at most once under load: sequence-numbered casts arrive once each, in order (seed ${seed})`, async () => {
    const rng = mulberry32(subSeed(seed, 'once'));
    const { board } = rig;
    const slot = rig.slots(2);
    const [violations, received] = [slot, slot + 1];
    const receiver = await spawn(kit('Receiver'), { violations, received, senders: 1 }, { scheduler: randInt(rng, 2) });
    const n = 30_000;
    let refused = 0;
    for (let seq = 1; seq <= n; ) {
      const burst = 1 + randInt(rng, 2000);
      for (let k = 0; k < burst && seq <= n; k++, seq++) if (!cast(receiver, { from: 0, seq })) refused++;
      await new Promise<void>((r) => setImmediate(r));
    }
    expect(refused).toBe(0);
    await waitBoard(board, received, n);
    // A call behind the casts (same pair, FIFO): nothing more is on its way.
    expect(await call(receiver, 'last')).toEqual([n]);
    expect(Atomics.load(board, received)).toBe(n);
    expect(Atomics.load(board, violations)).toBe(0);
    await stopProcess(receiver);
  });

  test('call timeout: a reply later than the timeout rejects ROSTER_ERR_CALL_TIMEOUT', async () => {
    const pid = await spawn(actors('Counter'), 0);
    const t0 = performance.now();
    const e = await rejection(call(pid, { sleep: 200 }, { timeout: 50 }));
    expect(e.code).toBe('ROSTER_ERR_CALL_TIMEOUT');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(performance.now() - t0).toBeLessThan(5000); // its own timeout, not the default one
    // The actor is fine, and the late reply is ignored.
    expect(await call(pid, 'get')).toBe(0);
    await stopProcess(pid);
  });

  test('a request that expired before its handler ran is never run', async () => {
    const { board } = rig;
    const g = rig.slots(2);
    const pid = await spawn(kit('Probe'), {});
    const hold = call(pid, { hold: g });
    await waitBoard(board, g + 1, 1);
    const expired0 = total(rig.rt, 'expired');
    const e = await rejection(call(pid, { mark: 'expired' }, { timeout: 50 }));
    expect(e.code).toBe('ROSTER_ERR_CALL_TIMEOUT');
    const live = call(pid, { mark: 'live' }, { timeout: 10_000 });
    openGate(board, g);
    expect(await hold).toBe('released');
    expect(await live).toBe('live');
    expect(await call(pid, 'marks')).toEqual(['live']);
    expect(total(rig.rt, 'expired')).toBe(expired0 + 1);
    await stopProcess(pid);
  });

  test('noproc: unknown names and dead pids fail at once, never hang', async () => {
    const { names } = rig;
    let t0 = performance.now();
    expect((await rejection(call(via(names, 'nobody'), 'get', { timeout: 60_000 }))).code).toBe('ROSTER_ERR_NOPROC');
    expect(performance.now() - t0).toBeLessThan(5000); // far below its timeout: not a hang
    expect(cast(via(names, 'nobody'), 1)).toBe(false);
    expect(send(via(names, 'nobody'), 1)).toBe(false);
    expect((await rejection(stopProcess(via(names, 'nobody')))).code).toBe('ROSTER_ERR_NOPROC');
    expect((await monitor(via(names, 'nobody')).down).reason).toBe('noproc');

    const k = fresh('dead');
    const pid = await spawn(kit('Probe'), {}, { name: via(names, k), scheduler: 0 });
    await stopProcess(pid);
    t0 = performance.now();
    expect((await rejection(call(pid, 'get', { timeout: 60_000 }))).code).toBe('ROSTER_ERR_NOPROC');
    expect((await rejection(call(via(names, k), 'get', { timeout: 60_000 }))).code).toBe('ROSTER_ERR_NOPROC');
    expect((await rejection(stopProcess(pid, 'shutdown', { timeout: 60_000 }))).code).toBe('ROSTER_ERR_NOPROC');
    expect((await monitor(pid).down).reason).toBe('noproc');
    expect(performance.now() - t0).toBeLessThan(5000); // far below their timeouts: not a hang
    // A cast to a dead pid on a live thread is sent, then dropped and counted there.
    const dropped0 = total(rig.rt, 'dropped');
    expect(cast(pid, 'lost')).toBe(true);
    const other = await spawn(kit('Probe'), {}, { scheduler: 0 });
    await call(other, 'get'); // same receiving thread, same pair: the cast was routed before this reply
    expect(total(rig.rt, 'dropped')).toBe(dropped0 + 1);
    await stopProcess(other);
  });

  test('the callee throws during a call: ROSTER_ERR_EXIT with reason "error: …", its name already gone', async () => {
    const { names } = rig;
    const k = fresh('thrower');
    const pid = await spawn(actors('Counter'), 1, { name: via(names, k) });
    const e = await rejection(call(via(names, k), { throw: 'boom' }));
    expect(names.whereis(k)).toBeUndefined();
    expect(e.code).toBe('ROSTER_ERR_EXIT');
    expect(e.reason).toBe('error: boom');
    expect((await rejection(call(pid, 'get'))).code).toBe('ROSTER_ERR_NOPROC');
  });

  test('the callee stops during a call: it answers, then calls behind it fail with its reason, later ones noproc', async () => {
    const { names } = rig;
    const k = fresh('stopper');
    const pid = await spawn(actors('Counter'), 1, { name: via(names, k) });
    const stopping = call(pid, { stop: 'bye' });
    const behind = call(pid, 'get').then(
      () => ({ code: 'REPLIED', reason: undefined as string | undefined }),
      (err: { code: string; reason?: string }) => err,
    );
    expect(await stopping).toBe('stopping');
    const b = await behind;
    expect(['ROSTER_ERR_EXIT', 'ROSTER_ERR_NOPROC']).toContain(b.code);
    if (b.code === 'ROSTER_ERR_EXIT') expect(b.reason).toBe('bye');
    expect(names.whereis(k)).toBeUndefined();
    expect((await rejection(call(pid, 'get'))).code).toBe('ROSTER_ERR_NOPROC');
  });

  test('stopProcess during a call in progress: the call fails with the stop reason, terminate ran once', async () => {
    const { board } = rig;
    const g = rig.slots(3);
    const terminateSlot = g + 2;
    const pid = await spawn(kit('Probe'), { terminateSlot });
    const hold = rejection(call(pid, { hold: g }));
    await waitBoard(board, g + 1, 1);
    const queued = rejection(call(pid, 'get'));
    await stopProcess(pid, 'killed');
    for (const p of [hold, queued]) {
      const e = await p;
      expect(e.code).toBe('ROSTER_ERR_EXIT');
      expect(e.reason).toBe('killed');
    }
    expect(Atomics.load(board, terminateSlot)).toBe(1);
    openGate(board, g); // the handler settles later: its reply is ignored
  });

  test('deferred reply: reply(from, value) answers later; a deferred call fails if the actor exits', async () => {
    const d = await spawn(actors('Deferred'), null);
    expect(await call(d, { later: 20 })).toBe('late');
    // Several deferred calls in flight from one sender.
    expect(await Promise.all([call(d, { later: 30 }), call(d, { later: 1 }), call(d, { later: 10 })])).toEqual(['late', 'late', 'late']);
    await stopProcess(d);

    const p = await spawn(kit('Probe'), {});
    const never = rejection(call(p, { later: 60_000 }, { timeout: 30_000 }));
    expect(await call(p, 'get')).toBe(0); // the deferred call did not block the actor
    await stopProcess(p, 'gone');
    const e = await never;
    expect(e.code).toBe('ROSTER_ERR_EXIT');
    expect(e.reason).toBe('gone');
  });

  test('self() and registrations after an await inside a handler are the actor, not its scheduler', async () => {
    const { names, rt } = rig;
    for (const i of [0, 1]) {
      // AwaitRegister takes a registry handle, which spawn() cannot carry: spawned via the control plane.
      const pid = await rt.control(i).spawn({ behaviour: actors('AwaitRegister'), args: names.handle });
      expect(pidLocal(pid)).not.toBe(0);
      const k = fresh('after-await');
      const r = await call<{ self: Pid; ok: boolean; lookup: unknown }>(pid, k);
      expect(r).toEqual({ self: pid, ok: true, lookup: [[pid, 'after-await']] });
      expect(names.lookup(k)).toEqual([[pid, 'after-await']]);
      await stopProcess(pid);
      expect(names.lookup(k)).toEqual([]);
    }
    const p = await spawn(kit('Probe'), {});
    const k = fresh('probe-reg');
    expect(await call(p, { register: k, registry: names.handle.id })).toEqual({ ok: true, self: p });
    expect(await call(p, 'self')).toBe(p);
    expect(names.whereis(k)).toBe(p);
    await stopProcess(p);
    expect(names.whereis(k)).toBeUndefined();
  });

  test('registration before init: init finds itself by its via name; a duplicate name fails with the holder and its init never runs', async () => {
    const { names, board, rt } = rig;
    const inits = rig.slots(1);
    const k = fresh('self');
    const args = { registry: names.handle.id, key: k, initsSlot: inits };
    const pid = await spawn(kit('Probe'), args, { name: via(names, k) });
    expect(await call(pid, 'whoami')).toEqual({ self: pid, found: pid });
    expect(Atomics.load(board, inits)).toBe(1);
    const actors0 = total(rt, 'actors');
    const count0 = names.count();
    for (const scheduler of ['hash', 0, 1] as const) {
      const e = await rejection(spawn(kit('Probe'), args, { name: via(names, k), scheduler }));
      expect(e.code).toBe('ROSTER_ERR_ALREADY_STARTED');
      expect(e.holder).toBe(pid);
    }
    expect(Atomics.load(board, inits)).toBe(1);
    expect(names.whereis(k)).toBe(pid);
    expect(names.count()).toBe(count0);
    expect(total(rt, 'actors')).toBe(actors0);
    await stopProcess(pid);
  });

  test('non-cloneable messages get ROSTER_ERR_INVALID_MESSAGE at the sender, and nothing is sent', async () => {
    const { names } = rig;
    const k = fresh('clone');
    const pid = await spawn(kit('Probe'), {}, { name: via(names, k) });
    cast(pid, 'before');
    const bad: unknown[] = [() => 1, Symbol('s'), { f() {} }, [1, Symbol.iterator], new SharedArrayBuffer(8)];
    for (const m of bad) {
      expect((await rejection(call(pid, m))).code).toBe('ROSTER_ERR_INVALID_MESSAGE');
      expect((await rejection(call(via(names, k), m))).code).toBe('ROSTER_ERR_INVALID_MESSAGE');
      expect(thrown(() => cast(pid, m)).code).toBe('ROSTER_ERR_INVALID_MESSAGE');
      expect(thrown(() => send(via(names, k), m)).code).toBe('ROSTER_ERR_INVALID_MESSAGE');
    }
    expect(Caller.current().pending).toBe(0);
    cast(pid, 'after');
    expect(await call(pid, 'log')).toEqual(['before', 'after']);
    await stopProcess(pid);
  });

  test('spawn whose init fails rejects ROSTER_ERR_SPAWN and leaves the name free', async () => {
    const { names, rt } = rig;
    const k = fresh('broken');
    const actors0 = total(rt, 'actors');
    const e = await rejection(spawn(actors('Broken'), undefined, { name: via(names, k) }));
    expect(e.code).toBe('ROSTER_ERR_SPAWN');
    expect(e.reason).toBe('error: init refuses');
    expect(names.whereis(k)).toBeUndefined();
    expect(total(rt, 'actors')).toBe(actors0);
    const pid = await spawn(kit('Probe'), {}, { name: via(names, k) });
    expect(names.whereis(k)).toBe(pid);
    await stopProcess(pid);
  });

  test('monitors: down with the reason on stop and crash, noproc for a dead pid, demonitor cancels', async () => {
    const { names } = rig;
    // Stop with a reason, stopProcess's default reason, and a crash.
    const cases: Array<[string, (pid: Pid) => Promise<unknown>]> = [
      ['bye', (pid) => call(pid, { stop: 'bye' })],
      ['shutdown', (pid) => stopProcess(pid)],
      ['error: boom', (pid) => call(pid, { throw: 'boom' }).catch(() => undefined)],
    ];
    for (const [reason, end] of cases) {
      const k = fresh('mon');
      const pid = await spawn(kit('Probe'), {}, { name: via(names, k) });
      const m = monitor(via(names, k));
      const seen = m.down.then((d) => ({ d, name: names.whereis(k) }));
      await end(pid);
      const { d, name } = await bounded(seen, 5000, 'down');
      expect(d).toEqual({ type: 'down', ref: m.ref, pid, reason });
      expect(name).toBeUndefined(); // gone before the monitor fired
      expect((await monitor(pid).down).reason).toBe('noproc');
    }
    // demonitor: the cancelled monitor never fires, the other one does.
    const pid = await spawn(kit('Probe'), {});
    const cancelled = monitor(pid);
    let fired = false;
    void cancelled.down.then(() => (fired = true));
    demonitor(cancelled.ref);
    const kept = monitor(pid);
    await stopProcess(pid, 'done');
    expect((await kept.down).reason).toBe('done');
    await new Promise<void>((r) => setImmediate(r));
    expect(fired).toBe(false);
  });

  test('an actor monitoring another gets the Down in handleInfo, after the name is gone, across and within schedulers', async () => {
    const { names } = rig;
    for (const [ws, ts] of [[0, 1], [1, 0], [0, 0]] as const) {
      const watcher = await spawn(kit('Probe'), {}, { scheduler: ws });
      const k = fresh('watched');
      const target = await spawn(kit('Probe'), {}, { name: via(names, k), scheduler: ts });
      const ref = await call<number>(watcher, { watch: target, registry: names.handle.id, key: k });
      const main: Promise<Down> = monitor(target).down;
      await call(target, { throw: 'crash' }).catch(() => undefined);
      expect((await main).reason).toBe('error: crash');
      let downs: unknown[] = [];
      const end = Date.now() + 5000;
      while (downs.length === 0 && Date.now() < end) downs = await call<unknown[]>(watcher, 'downs');
      expect(downs).toEqual([{ ref, pid: target, reason: 'error: crash', nameAtDown: null }]);
      expect(await call(watcher, 'log')).toEqual([]); // the Down was not taken for an ordinary info
      await stopProcess(watcher);
    }
  });

  test('nothing is left pending in the main thread, and the schedulers host no test actors', async () => {
    expect(Caller.current().pending).toBe(0);
    expect(total(rig.rt, 'actors')).toBe(0);
    const s = rig.rt.stats();
    expect(s.reduce((a, x) => a + x.spawned - x.exited, 0)).toBe(0);
  });
});
