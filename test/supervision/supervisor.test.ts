/**
 * The dynamic supervisor: restart types, restart intensity, the shutdown timeout, a crash loop that
 * must not starve its scheduler, stats and events, and bad input.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RosterError, call, cast, via, type Pid } from '../../dist/src/index.js';
import { bounded, rejection, thrown } from '../actors/kit.js';
import { startSupRig, until, worker, type SupRig } from './kit.js';

let rig: SupRig;
beforeAll(async () => {
  rig = await startSupRig(2);
});
afterAll(async () => {
  await rig.close();
});

/** Waits until `key` is held by a pid other than `old` and the ledger has reported that restart; returns the pid. */
async function replaced(key: string, old: Pid): Promise<Pid> {
  await until(() => {
    const p = rig.names.whereis(key);
    return p !== undefined && p !== old && rig.events.some((e) => e.type === 'restart' && e.pid === p);
  }, `${key} restarted`);
  return rig.names.whereis(key) as Pid;
}

describe('dynamic supervisor', () => {
  test('permanent: restarted after a crash and after a normal exit, under the same name, with init run again', async () => {
    const sup = rig.sup('perm');
    const slot = 10;
    const p1 = await sup.startChild(worker({ slot }, { name: via(rig.names, 'perm') }));
    expect(rig.board[slot]).toBe(1);
    expect((await rejection(call(p1, { crash: 'boom' }))).reason).toBe('error: boom');
    const p2 = await replaced('perm', p1);
    expect(await call(p2, 'ping')).toBe('pong');
    expect(await call(p2, { exit: 'normal' })).toBe('bye');
    const p3 = await replaced('perm', p2);
    expect(rig.board[slot]).toBe(3);
    const restarts = rig.events.filter((e) => e.supervisor === 'perm' && e.type === 'restart');
    expect(restarts.map((e) => [e.previous, e.pid, e.reason])).toEqual([[p1, p2, 'error: boom'], [p2, p3, 'normal']]);
    expect(restarts.every((e) => e.id === p1)).toBe(true); // a child's id is its first pid
    expect(sup.stats()).toMatchObject({ children: 1, started: 1, restarts: 2, gaveUp: 0, exited: 0 });
  });

  test('transient: restarted after a crash, not after a normal exit or shutdown', async () => {
    const sup = rig.sup('trans');
    const p1 = await sup.startChild(worker({}, { name: via(rig.names, 'trans'), restart: 'transient' }));
    cast(p1, { crash: 'cast crash' });
    const p2 = await replaced('trans', p1);
    expect(await call(p2, { exit: 'normal' })).toBe('bye');
    await until(() => sup.stats().exited === 1, 'transient exit reported');
    expect(rig.names.whereis('trans')).toBeUndefined();
    expect(sup.stats()).toMatchObject({ children: 0, started: 1, restarts: 1, exited: 1 });
    const p3 = await sup.startChild(worker({}, { name: via(rig.names, 'trans2'), restart: 'transient' }));
    expect(await call(p3, { exit: 'shutdown' })).toBe('bye');
    await until(() => sup.stats().exited === 2, 'shutdown exit reported');
    expect(rig.names.whereis('trans2')).toBeUndefined();
  });

  test('temporary: never restarted', async () => {
    const sup = rig.sup('temp');
    const p1 = await sup.startChild(worker({}, { name: via(rig.names, 'temp'), restart: 'temporary' }));
    await rejection(call(p1, { crash: 'once' }));
    await until(() => sup.stats().exited === 1, 'temporary exit reported');
    expect(rig.names.whereis('temp')).toBeUndefined();
    expect(sup.stats()).toMatchObject({ children: 0, restarts: 0 });
  });

  test('restart intensity: a fourth crash within the window gives up on the child, reports it, and frees the name', async () => {
    const sup = rig.sup('intense'); // defaults: 3 restarts in 5 s
    let pid = await sup.startChild(worker({}, { name: via(rig.names, 'intense') }));
    for (let i = 0; i < 3; i++) {
      await rejection(call(pid, { crash: `c${i}` }));
      pid = await replaced('intense', pid);
    }
    await rejection(call(pid, { crash: 'last' }));
    await until(() => sup.stats().gaveUp === 1, 'gave up');
    expect(rig.names.whereis('intense')).toBeUndefined();
    const last = rig.events.filter((e) => e.supervisor === 'intense').at(-1);
    expect(last).toMatchObject({ type: 'gaveUp', pid, reason: 'error: last' });
    expect(sup.stats()).toMatchObject({ children: 0, restarts: 3, gaveUp: 1 });
  });

  test('intensity counts per child, within maxSeconds', async () => {
    const sup = rig.sup('window', { maxRestarts: 1, maxSeconds: 0.05 });
    let pid = await sup.startChild(worker({}, { name: via(rig.names, 'window') }));
    for (let i = 0; i < 3; i++) {
      const seen = Date.now();
      await rejection(call(pid, { crash: 'x' }));
      pid = await replaced('window', pid);
      // Past the window the budget is back (a 60 ms wait is the window itself, not a synchronisation).
      await new Promise((r) => setTimeout(r, Math.max(0, 60 - (Date.now() - seen))));
    }
    expect(sup.stats()).toMatchObject({ restarts: 3, gaveUp: 0 });
  });

  test('shutdown timeout: terminateChild of a child whose terminate hangs resolves after `shutdown` ms, and its name is gone', async () => {
    const sup = rig.sup('hang');
    const pid = await sup.startChild(worker({ hang: true }, { name: via(rig.names, 'hang'), shutdown: 100 }));
    const t0 = Date.now();
    await bounded(sup.terminateChild(pid), 3000, 'terminateChild');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(rig.names.whereis('hang')).toBeUndefined();
    await until(() => sup.stats().exited === 1, 'terminated child reported');
    expect(sup.stats()).toMatchObject({ children: 0, restarts: 0 });
    expect((await rejection(sup.terminateChild(pid))).code).toBe('ROSTER_ERR_NOPROC');
  });

  test('a crash loop does not starve its scheduler: a neighbour answers, heartbeats go on, the loop ends in gaveUp', async () => {
    const sup = rig.sup('loop', { maxRestarts: 300, maxSeconds: 60 });
    const neighbour = await sup.startChild(worker({}, { name: via(rig.names, 'neighbour'), scheduler: 0 }));
    // Every restart's init fails: each is one more crash, retried on the next turn of the event loop.
    const started = sup.startChild(worker({ fail: 'never starts' }, { name: via(rig.names, 'loop'), scheduler: 0 }));
    expect((await rejection(started)).code).toBe('ROSTER_ERR_SPAWN');
    expect(rig.names.whereis('loop')).toBeUndefined();
    // A failing first init is not a child, nothing restarts; the loop: a child whose every restart fails.
    const slot = 20;
    const looper = await sup.startChild(worker({ slot, failRestarts: true }, { name: via(rig.names, 'looper'), scheduler: 0 }));
    expect(await call(looper, 'ping')).toBe('pong');
    cast(looper, { crash: 'loop' });
    let pings = 0;
    while (sup.stats().gaveUp === 0) {
      expect(await bounded(call(neighbour, 'ping'), 2000, 'neighbour ping during the crash loop')).toBe('pong');
      pings++;
    }
    expect(rig.board[slot]).toBe(301); // the first init and 300 failed restarts
    expect(pings).toBeGreaterThan(1);
    expect(sup.stats()).toMatchObject({ restarts: 0, gaveUp: 1 });
    expect(rig.names.whereis('looper')).toBeUndefined();
    expect(rig.rtEvents.filter((e) => e.type === 'schedulerDown')).toEqual([]);
  });

  test('passivation: an idle child stops with idle and is not restarted; get-or-start and an activating via bring it back', async () => {
    const sup = rig.sup('passive');
    const spec = worker({ slot: 30 }, { idleMs: 80 });
    const p1 = await sup.getOrStart(via(rig.names, 'sleepy'), spec);
    // A busy child stays: messages keep it awake past several idle periods.
    const until0 = Date.now() + 300;
    while (Date.now() < until0) expect(await call(p1, 'ping')).toBe('pong');
    expect(rig.names.whereis('sleepy')).toBe(p1);
    await until(() => rig.names.whereis('sleepy') === undefined, 'passivated', 5000);
    await until(() => rig.events.some((e) => e.supervisor === 'passive' && e.type === 'exit' && e.reason === 'idle'), 'idle exit reported');
    expect(sup.stats()).toMatchObject({ children: 0, restarts: 0, exited: 1 });
    const p2 = await sup.getOrStart(via(rig.names, 'sleepy'), spec);
    expect(p2).not.toBe(p1);
    await until(() => rig.names.whereis('sleepy') === undefined, 'passivated again', 5000);
    // A call through the activating via name starts it again; a cast to the plain name does not.
    expect(cast(via(rig.names, 'sleepy'), { nothing: 1 })).toBe(false);
    expect(await call(sup.via(via(rig.names, 'sleepy'), spec), 'ping')).toBe('pong');
    expect(rig.names.whereis('sleepy')).toBeTypeOf('number');
    expect(rig.board[30]).toBe(3);
  });

  test('a message that waited for init and crashes the child at once: the crash is restarted like any other', async () => {
    const sup = rig.sup('early');
    const started = sup.startChild(worker({ initMs: 100 }, { name: via(rig.names, 'early') }));
    // The name is registered before init: the call waits in the mailbox until init is done.
    await until(() => rig.names.whereis('early') !== undefined, 'early registered');
    // Handled from now on: the crash may reject it before `started` resolves.
    const crashed = rejection(call(via(rig.names, 'early'), { crash: 'right after init' }));
    const p1 = await started;
    expect((await crashed).reason).toBe('error: right after init');
    const p2 = await replaced('early', p1);
    expect(await call(p2, 'ping')).toBe('pong');
    await until(() => sup.stats().children === 1 && sup.stats().restarts === 1, 'ledger settled');
    expect(sup.stats()).toMatchObject({ children: 1, started: 1, restarts: 1, gaveUp: 0, exited: 0 });
  });

  test('bad input: typed errors before anything is sent; nothing changes', async () => {
    const sup = rig.sup('bad');
    const before = { count: rig.names.count(), actors: rig.rt.stats().reduce((a, s) => a + s.actors, 0) };
    for (const name of [undefined, '', 5, {}, 'x'.repeat(201)]) expect(thrown(() => rig.sup(name as string)).code).toBe('ROSTER_ERR_INVALID_OPTION');
    for (const o of [5, { maxRestarts: -1 }, { maxRestarts: 1.5 }, { maxSeconds: 0 }, { maxSeconds: NaN }]) {
      expect(thrown(() => rig.sup('o', o as never)).code).toBe('ROSTER_ERR_INVALID_OPTION');
    }
    const bad: unknown[] = [
      null, 5, {}, { behaviour: 'x' }, { behaviour: { module: 1, export: 'Worker' } },
      worker({}, { restart: 'sometimes' as never }), worker({}, { shutdown: -1 }), worker({}, { shutdown: '5' as never }),
      worker({}, { mailboxLimit: 0 }), worker({}, { idleMs: 0 }), worker({}, { name: 'n' as never }),
      worker({}, { name: via(rig.topics, 'dup') }), worker({}, { scheduler: 99 }), worker({}, { scheduler: 'near' as never }),
      worker({ f: () => 1 }),
    ];
    for (const spec of bad) {
      const e = await rejection(sup.startChild(spec as never));
      expect(e, JSON.stringify(spec)).toBeInstanceOf(RosterError);
      expect(['ROSTER_ERR_INVALID_OPTION', 'ROSTER_ERR_INVALID_MESSAGE']).toContain(e.code);
    }
    for (const name of [undefined, 'k', via(rig.topics, 'k')]) expect((await rejection(sup.getOrStart(name as never, worker()))).code).toBe('ROSTER_ERR_INVALID_OPTION');
    expect((await rejection(sup.getOrStart(via(rig.names, 'k'), { behaviour: 5 } as never))).code).toBe('ROSTER_ERR_INVALID_OPTION');
    expect((await rejection(sup.terminateChild('x' as never))).code).toBe('ROSTER_ERR_INVALID_OPTION');
    expect(thrown(() => sup.on(5 as never)).code).toBe('ROSTER_ERR_INVALID_OPTION');
    expect({ count: rig.names.count(), actors: rig.rt.stats().reduce((a, s) => a + s.actors, 0) }).toEqual(before);
    expect(sup.stats()).toMatchObject({ children: 0, started: 0 });
  });
});
