/**
 * Threads meeting through the runtime: the main thread, actors on both schedulers (a call chain that
 * crosses schedulers) and piscina task workers all call the same actors by via name; then 8 sender
 * actors on 2 schedulers cast sequence-numbered messages to a receiver on each scheduler, which checks
 * per-pair FIFO on every message (violations counted in shared memory).
 *
 * Replay with ROSTER_SEED=<seed in the test names>.
 */
import { Piscina } from 'piscina';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, spawn, stopProcess, via } from '../../dist/src/index.js';
import { Caller } from '../../dist/src/runtime/caller.js';
import { mulberry32, randInt, seedFromEnv, subSeed } from '../helpers/prng.js';
import { actors, kit, startRig, total, waitBoard, type Pid, type Rig } from './kit.js';

const seed = seedFromEnv();
let rig: Rig;
let pool: Piscina | undefined;

beforeAll(async () => {
  rig = await startRig(2);
});
afterAll(async () => {
  await pool?.destroy();
  await rig.close();
});

describe(`threads (seed ${seed})`, () => {
  test(`main thread, both schedulers and piscina task workers call the same actors by via name (seed ${seed})`, async () => {
    const rng = mulberry32(subSeed(seed, 'callers'));
    const { names, rt } = rig;
    const keys = ['shared:a', 'shared:b'];
    const targets: Pid[] = [];
    for (const [i, k] of keys.entries()) targets.push(await spawn(kit('Probe'), {}, { name: via(names, k), scheduler: i }));
    // Callers inside actors: one per scheduler per target, so some calls cross schedulers and some stay.
    const callers: Pid[] = [];
    for (const i of [0, 1]) callers.push(await spawn(kit('Probe'), {}, { scheduler: i }));
    // A call chain main → Relay (scheduler i) → target on the other scheduler.
    const relays: Pid[] = [];
    for (const i of [0, 1]) relays.push(await spawn(actors('Relay'), targets[1 - i], { scheduler: i }));
    pool = new Piscina({ filename: new URL('../../dist/test/fixtures/actors-task.js', import.meta.url).href, minThreads: 2, maxThreads: 2 });

    const expected = new Map<string, number>(keys.map((k) => [k, 0]));
    const work: Array<Promise<unknown[]>> = [];
    const taskSelves = new Set<number>();
    for (let round = 0; round < 6; round++) {
      for (const k of keys) {
        const times = 20 + randInt(rng, 40);
        expected.set(k, (expected.get(k) as number) + 4 * times);
        work.push((async () => {
          const r: unknown[] = [];
          for (let j = 0; j < times; j++) r.push(await call(via(names, k), 'bump'));
          return r;
        })());
        for (const c of callers) work.push(call<unknown[]>(c, { callVia: k, registry: names.handle.id, msg: 'bump', times }));
        work.push(
          pool.run({ runtime: rt.handle, registry: names.handle, key: k, msg: 'bump', times }).then((r: { self: number; replies: unknown[] }) => {
            taskSelves.add(r.self);
            return r.replies;
          }),
        );
      }
      for (const [i, r] of relays.entries()) {
        const other = keys[1 - i] as string;
        expected.set(other, (expected.get(other) as number) + 1);
        work.push(call<{ relayed: unknown }>(r, 'bump').then((x) => [x.relayed]));
      }
    }
    const all = (await Promise.all(work)).flat();
    expect(all.every((x) => x === 'bumped')).toBe(true);
    for (const [i, k] of keys.entries()) {
      expect(await call(via(names, k), 'get')).toBe(expected.get(k));
      expect(names.whereis(k)).toBe(targets[i]);
    }
    expect(taskSelves.size).toBeGreaterThanOrEqual(1);
    for (const s of taskSelves) expect(targets).not.toContain(s);
    // The task workers were replied to and hold nothing pending; nor does the main thread.
    expect(Caller.current().pending).toBe(0);
    for (const c of callers) expect((await call<{ pending: number }>(c, 'host')).pending).toBe(0);
    for (const p of [...targets, ...callers, ...relays]) await stopProcess(p);
    await pool.destroy();
    pool = undefined;
    expect(total(rt, 'actors')).toBe(0);
  });

  test(`8 sender actors on 2 schedulers → a receiver on each: per-pair FIFO on every message, nothing lost (seed ${seed})`, async () => {
    const { board, rt } = rig;
    const count = 15_000;
    const senders = 8;
    const receivers: Pid[] = [];
    const slots: Array<{ violations: number; received: number }> = [];
    for (const i of [0, 1]) {
      const s = rig.slots(2);
      slots.push({ violations: s, received: s + 1 });
      receivers.push(await spawn(kit('Receiver'), { violations: s, received: s + 1, senders }, { scheduler: i }));
    }
    const sending: Pid[] = [];
    for (let i = 0; i < senders; i++) sending.push(await spawn(kit('Sender'), null, { scheduler: i % 2 }));
    const rng = mulberry32(subSeed(seed, 'senders'));
    const results = await Promise.all(
      sending.map((p, index) =>
        call<{ refused: number }>(p, { targets: receivers, count, seed: subSeed(seed, index), index, burst: 1 + randInt(rng, 500) }, { timeout: 60_000 }),
      ),
    );
    for (const r of results) expect(r.refused).toBe(0);
    for (const s of slots) await waitBoard(board, s.received, senders * count, 30_000);
    for (const r of receivers) expect(await call(r, 'last')).toEqual(new Array<number>(senders).fill(count));
    for (const s of slots) {
      expect(Atomics.load(board, s.violations)).toBe(0);
      expect(Atomics.load(board, s.received)).toBe(senders * count);
    }
    for (const p of [...receivers, ...sending]) await stopProcess(p);
    expect(total(rt, 'actors')).toBe(0);
    expect(total(rt, 'dropped')).toBe(0);
  });
});
