/**
 * Bad input to every public function of the actor runtime (spawn, call, cast, send, monitor, via,
 * stopProcess, reply, Runtime.start, Runtime.attach): wrong targets, behaviours, options and timeouts
 * throw or reject a typed RosterError with a stable code, and change nothing (no actor, no name, no
 * pending call, no message delivered, the runtime in use unchanged).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  RosterError, Registry, Runtime, call, cast, monitor, ref, reply, send, spawn, stopProcess, via,
} from '../../dist/src/index.js';
import type { ActorRow } from '../../dist/src/index.js';
import { Caller } from '../../dist/src/runtime/caller.js';
import { kit, kKit, rejection, startRig, thrown, total, type Pid, type Rig } from './kit.js';

let rig: Rig;
let probe: Pid;
let dup: Registry;
let stranger: Registry;

beforeAll(async () => {
  rig = await startRig(2);
  probe = await spawn(kit('Probe'), {}, { name: via(rig.names, 'probe') });
  dup = Registry.create({ keys: 'duplicate' });
  stranger = Registry.create({ keys: 'unique' });
});
afterAll(async () => {
  await rig.close();
  dup.close();
  stranger.close();
});

/** What must not change. */
function snapshot(): unknown {
  const { names, rt } = rig;
  return { names: names.count(), probe: names.whereis('probe'), actors: total(rt, 'actors'), pending: Caller.current().pending };
}

async function unchanged(): Promise<void> {
  // Everything sent to the probe so far was handled before this reply (FIFO): nothing got through.
  expect(await call(probe, 'log')).toEqual([]);
  expect(snapshot()).toEqual(before);
}

let before: unknown;

const badTargets: unknown[] = [undefined, null, 'probe', 0, -1, 1.5, NaN, Infinity, 2 ** 60, {}, [], () => 1, Symbol('t'), 10n];
const badTimeouts: unknown[] = [0, -5, NaN, Infinity, '100', null, {}, 2 ** 32];

describe('bad input', () => {
  test('call: bad targets, bad timeouts and options reject a typed error at once', async () => {
    before = snapshot();
    for (const t of badTargets) {
      const e = await rejection(call(t as Pid, 'get'));
      expect(e).toBeInstanceOf(RosterError);
      expect(e.code).toBe('ROSTER_ERR_INVALID_OPTION');
    }
    for (const timeout of badTimeouts) {
      expect((await rejection(call(probe, 'get', { timeout } as never))).code).toBe('ROSTER_ERR_INVALID_OPTION');
    }
    for (const opts of [5, 'x', null, true]) expect((await rejection(call(probe, 'get', opts as never))).code).toBe('ROSTER_ERR_INVALID_OPTION');
    // A via name with a bad key, or in a registry that has no via names.
    for (const key of [undefined, null, {}, () => 1, Symbol('k')]) {
      expect((await rejection(call(via(rig.names, key as never), 'get'))).code).toBe('ROSTER_ERR_INVALID_KEY');
    }
    expect((await rejection(call(via(dup, 'k'), 'get'))).code).toBe('ROSTER_ERR_UNSUPPORTED');
    await unchanged();
  });

  test('cast and send: bad targets throw a typed error; bad messages throw INVALID_MESSAGE; nothing is delivered', async () => {
    before = snapshot();
    for (const f of [cast, send]) {
      for (const t of badTargets) expect(thrown(() => f(t as Pid, { add: 1 })).code).toBe('ROSTER_ERR_INVALID_OPTION');
      expect(thrown(() => f(via(rig.names, {} as never), 1)).code).toBe('ROSTER_ERR_INVALID_KEY');
      expect(thrown(() => f(via(dup, 'k'), 1)).code).toBe('ROSTER_ERR_UNSUPPORTED');
      for (const m of [() => 1, Symbol('m'), { s: Symbol('m') }, new SharedArrayBuffer(4)]) {
        expect(thrown(() => f(probe, m)).code).toBe('ROSTER_ERR_INVALID_MESSAGE');
      }
    }
    await unchanged();
  });

  test('monitor: bad targets throw a typed error', async () => {
    before = snapshot();
    for (const t of badTargets) expect(thrown(() => monitor(t as Pid)).code).toBe('ROSTER_ERR_INVALID_OPTION');
    expect(thrown(() => monitor(via(rig.names, {} as never))).code).toBe('ROSTER_ERR_INVALID_KEY');
    await unchanged();
  });

  test('via: a registry that is not one throws INVALID_OPTION', () => {
    for (const r of [undefined, null, 'names', 42, {}, { whereis: 1 }, rig.names.handle]) {
      const e = thrown(() => via(r as never, 'k'));
      expect(e).toBeInstanceOf(RosterError);
      expect(e.code).toBe('ROSTER_ERR_INVALID_OPTION');
    }
  });

  test('spawn: bad behaviours, args, names, placements, mailbox limits and timeouts reject a typed error; no actor, no name', async () => {
    before = snapshot();
    const { names } = rig;
    const refs: unknown[] = [undefined, null, 'Probe', 42, {}, { module: 1, export: 'Probe' }, { module: kKit }, { module: kKit, export: 7 }];
    for (const b of refs) expect((await rejection(spawn(b as never, {}))).code).toBe('ROSTER_ERR_INVALID_OPTION');
    // References to nothing: a missing export, an export that is not a behaviour, a missing module.
    for (const b of [ref(kKit, 'Nope'), ref(kKit, 'default'), ref(new URL('./no-such-module.js', kKit), 'X'), ref('/no/such/dir/x.js', 'X')]) {
      const e = await rejection(spawn(b, {}, { name: via(names, 'never') }));
      expect(e).toBeInstanceOf(RosterError);
      expect(e.code).toBe('ROSTER_ERR_INVALID_OPTION');
    }
    expect((await rejection(spawn(kit('Probe'), () => 1))).code).toBe('ROSTER_ERR_INVALID_MESSAGE');
    expect((await rejection(spawn(kit('Probe'), { board: new SharedArrayBuffer(4) }))).code).toBe('ROSTER_ERR_INVALID_MESSAGE');
    for (const opts of [null, 5, 'x', true]) expect((await rejection(spawn(kit('Probe'), {}, opts as never))).code).toBe('ROSTER_ERR_INVALID_OPTION');
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ name: 'never' }, 'ROSTER_ERR_INVALID_OPTION'],
      [{ name: { registry: names, key: 'never' } }, 'ROSTER_ERR_INVALID_OPTION'],
      [{ name: via(stranger, 'never') }, 'ROSTER_ERR_INVALID_OPTION'],
      [{ name: via(dup, 'never') }, 'ROSTER_ERR_INVALID_OPTION'],
      [{ name: via(names, {} as never) }, 'ROSTER_ERR_INVALID_KEY'],
      ...[0, -1, 1.5, '10', NaN, Infinity, null].map((mailboxLimit): [Record<string, unknown>, string] => [{ mailboxLimit }, 'ROSTER_ERR_INVALID_OPTION']),
      ...[-1, 2, 1.5, 'x', NaN, {}].map((scheduler): [Record<string, unknown>, string] => [{ scheduler }, 'ROSTER_ERR_INVALID_OPTION']),
      ...badTimeouts.map((timeout): [Record<string, unknown>, string] => [{ timeout }, 'ROSTER_ERR_INVALID_OPTION']),
    ];
    for (const [opts, code] of bad) {
      const e = await rejection(spawn(kit('Probe'), {}, opts as never));
      expect(e, JSON.stringify(opts, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))).toBeInstanceOf(RosterError);
      expect(e.code, String(Object.keys(opts))).toBe(code);
    }
    expect(names.whereis('never')).toBeUndefined();
    expect(stranger.count()).toBe(0);
    await unchanged();
  });

  test('stopProcess: bad targets, reasons and timeouts reject a typed error, and the actor lives on', async () => {
    before = snapshot();
    for (const t of badTargets) expect((await rejection(stopProcess(t as Pid))).code).toBe('ROSTER_ERR_INVALID_OPTION');
    for (const reason of [42, null, {}, Symbol('r'), () => 'x']) {
      expect((await rejection(stopProcess(probe, reason as never))).code).toBe('ROSTER_ERR_INVALID_OPTION');
    }
    for (const timeout of badTimeouts) {
      expect((await rejection(stopProcess(probe, 'shutdown', { timeout } as never))).code).toBe('ROSTER_ERR_INVALID_OPTION');
    }
    expect((await rejection(stopProcess(via(rig.names, 'nobody')))).code).toBe('ROSTER_ERR_NOPROC');
    expect(await call(probe, 'get')).toBe(0);
    await unchanged();
  });

  test('reply: a From that is not one throws INVALID_OPTION', async () => {
    before = snapshot();
    for (const from of [undefined, null, 42, {}, { pid: 'x', ref: 1 }, { pid: probe }, { pid: probe, ref: 'r' }, { pid: 1, ref: 1 }]) {
      expect(thrown(() => reply(from as never, 1)).code).toBe('ROSTER_ERR_INVALID_OPTION');
    }
    await unchanged();
  });

  test('Runtime.start and Runtime.attach: bad options throw INVALID_OPTION and leave the running runtime in use', async () => {
    before = snapshot();
    const bad: unknown[] = [
      null, 5, 'x',
      { schedulers: 0 }, { schedulers: -1 }, { schedulers: 1.5 }, { schedulers: '2' }, { schedulers: 257 }, { schedulers: NaN },
      { registries: 'x' }, { registries: [{}] }, { registries: [null] },
      { coordinator: 5 }, { coordinator: { heartbeatMs: -1 } }, { coordinator: { heartbeatMs: 100, stallMs: 100 } },
    ];
    for (const o of bad) {
      const e = await rejection(Runtime.start(o as never));
      expect(e).toBeInstanceOf(RosterError);
      expect(e.code, JSON.stringify(o)).toBe('ROSTER_ERR_INVALID_OPTION');
    }
    for (const h of [undefined, null, 5, {}, { directory: new ArrayBuffer(8) }]) {
      expect(thrown(() => Runtime.attach(h as never)).code).toBe('ROSTER_ERR_INVALID_OPTION');
    }
    // The runtime in use is still this one: a spawn lands on its schedulers.
    const pid = await spawn(kit('Probe'), { n: 3 }, { scheduler: 1 });
    expect((await rig.rt.control(1).listActors()).map((r: ActorRow) => r.pid)).toContain(pid);
    expect(await call(pid, 'get')).toBe(3);
    await stopProcess(pid);
    await unchanged();
  });

  test('Runtime.start with a registry handle instead of a registry: INVALID_OPTION, the runtime in use unchanged', async () => {
    const e = await rejection(Runtime.start({ schedulers: 1, registries: [rig.names.handle as never] }));
    const pid = await spawn(kit('Probe'), {}, { scheduler: 1 }).catch((err: { code: string }) => err.code);
    if (typeof pid === 'number') await stopProcess(pid);
    expect({ code: e.code, spawned: typeof pid }).toEqual({ code: 'ROSTER_ERR_INVALID_OPTION', spawned: 'number' });
  });
});
