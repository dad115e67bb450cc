/**
 * get-or-start: racers on every thread (actors on each scheduler and the main thread) for the same
 * names end with one actor per name, every racer gets its pid, and only the winner ran `init`; a
 * failing `init` gives every racer the typed error and leaves the name free; get-or-start while a
 * scheduler dies. Seeded; the seed is printed in the suite's name.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, spawn, stopProcess, via, type Pid } from '../../dist/src/index.js';
import { bounded } from '../actors/kit.js';
import { fx, startSupRig, worker, type SupRig } from './kit.js';
import { mulberry32, shuffle } from '../helpers/prng.js';

const seed = Number(process.env.ROSTER_SEED ?? (Math.random() * 2 ** 32) >>> 0);

let rig: SupRig;
beforeAll(async () => {
  rig = await startSupRig(2);
});
afterAll(async () => {
  await rig.close();
});

type Outcomes = Record<string, Pid | string>;

/** Starts `n` Racer actors per scheduler. */
async function racers(n: number): Promise<Pid[]> {
  const out: Pid[] = [];
  for (let s = 0; s < rig.rt.schedulers; s++) for (let i = 0; i < n; i++) out.push(await spawn(fx('Racer'), null, { scheduler: s }));
  return out;
}

/** Races from the main thread: every key at once, in a seeded order (same outcome shape as a Racer). */
async function mainRacer(sup: string, keys: string[], s: number, spec: (i: number) => ReturnType<typeof worker>): Promise<Outcomes> {
  const order = shuffle(mulberry32(s), keys.map((_, i) => i));
  const kv = await Promise.all(order.map(async (i) => {
    const k = keys[i] as string;
    try {
      return [k, await rig.sup(sup).getOrStart(via(rig.names, k), spec(i))] as const;
    } catch (e) {
      return [k, (e as { code?: string }).code ?? String(e)] as const;
    }
  }));
  return Object.fromEntries(kv);
}

describe(`get-or-start (seed ${seed})`, () => {
  test('16 racers on every thread, 64 names: one actor per name, every racer gets its pid, init ran once per name', async () => {
    const keys = Array.from({ length: 64 }, (_, i) => `race:${i}`);
    const base = 100;
    const rs = await racers(16);
    const results = await bounded(Promise.all([
      ...rs.map((pid, i) => call<Outcomes>(pid, { race: keys, seed: seed + i, registry: 'names', sup: 'race', spec: worker(), slots: base }, { timeout: 30_000 })),
      ...Array.from({ length: 16 }, (_, i) => mainRacer('race', keys, seed + 100 + i, (j) => worker({ slot: base + j }))),
    ]), 30_000, 'the race');
    expect(results.length).toBe(48);
    keys.forEach((k, i) => {
      const holder = rig.names.whereis(k);
      expect(holder, k).toBeTypeOf('number');
      for (const r of results) expect(r[k], `${k} (seed ${seed})`).toBe(holder);
      expect(rig.board[base + i], `inits of ${k} (seed ${seed})`).toBe(1);
    });
    expect(rig.sup('race').stats()).toMatchObject({ children: 64, started: 64 });
    for (const pid of rs) await stopProcess(pid);
  });

  test('a failing init: every racer on every thread gets SPAWN, and the name is free afterwards', async () => {
    const rs = await racers(4);
    const spec = worker({ initMs: 20, fail: 'no room' });
    const results = await bounded(Promise.all([
      ...rs.map((pid, i) => call<Outcomes>(pid, { race: ['doomed'], seed: seed + i, registry: 'names', sup: 'fail', spec }, { timeout: 30_000 })),
      ...Array.from({ length: 8 }, (_, i) => mainRacer('fail', ['doomed'], seed + i, () => spec)),
    ]), 30_000, 'the failing race');
    for (const r of results) expect(r.doomed, `seed ${seed}`).toBe('ROSTER_ERR_SPAWN');
    expect(rig.names.whereis('doomed')).toBeUndefined();
    expect(rig.sup('fail').stats()).toMatchObject({ children: 0 });
    // And the name works once init does.
    const pid = await rig.sup('fail').getOrStart(via(rig.names, 'doomed'), worker());
    expect(await call(pid, 'ping')).toBe('pong');
    for (const p of rs) await stopProcess(p);
  });

  test('an existing name is a lookup: the pid comes back without a start, also from inside an actor', async () => {
    const pid = await rig.sup('look').getOrStart(via(rig.names, 'look'), worker({ slot: 40 }));
    for (let i = 0; i < 100; i++) expect(await rig.sup('look').getOrStart(via(rig.names, 'look'), worker({ slot: 40 }))).toBe(pid);
    const [r] = await racers(1);
    expect(await call(r as Pid, { race: ['look'], seed, registry: 'names', sup: 'look', spec: worker({ slot: 40 }) })).toEqual({ look: pid });
    expect(rig.board[40]).toBe(1);
    await stopProcess(r as Pid);
  });

  test('get-or-start while a scheduler dies: no hang, typed errors at worst, and afterwards one live actor per name', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `death:${i}`);
    const sup = rig.sup('death');
    const before = await mainRacer('death', keys.slice(0, 150), seed, () => worker());
    expect(Object.values(before).every((v) => typeof v === 'number')).toBe(true);
    const recovered = rig.next('recovered');
    const during = bounded(mainRacer('death', keys, seed + 1, () => worker({ initMs: 1 })), 20_000, 'racing through the death');
    await rig.rt.worker(1).terminate();
    const mid = await during;
    for (const v of Object.values(mid)) if (typeof v !== 'number') expect(['ROSTER_ERR_EXIT', 'ROSTER_ERR_NOPROC']).toContain(v);
    await recovered;
    const after = await bounded(mainRacer('death', keys, seed + 2, () => worker()), 20_000, 'racing after the death');
    for (const k of keys) {
      const pid = after[k];
      expect(pid, `${k} (seed ${seed})`).toBeTypeOf('number');
      expect(rig.names.lookup(k).length).toBe(1);
      expect(rig.names.whereis(k)).toBe(pid);
      expect(await call(pid as Pid, 'ping')).toBe('pong');
    }
    expect(sup.stats().children).toBe(300);
  });
});
