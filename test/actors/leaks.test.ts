/**
 * Leaks: N spawn → register → stop cycles (ROSTER_ACTOR_CYCLES, default 100,000) across 2
 * schedulers, in 32 concurrent lanes. Each cycle spawns a named actor (registered
 * before init), registers a second key from inside a handler, monitors it, stops it, and waits for the
 * Down. At the end: the registry's count is back to its baseline, every scheduler hosts 0 actors
 * (spawned = exited), no call is pending in any thread, scheduler heaps are back near their baseline.
 *
 * Replay with ROSTER_SEED=<seed in the test names>.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, monitor, spawn, stopProcess, via } from '../../dist/src/index.js';
import type { ActorRow } from '../../dist/src/index.js';
import { Caller } from '../../dist/src/runtime/caller.js';
import { mulberry32, randInt, seedFromEnv, subSeed } from '../helpers/prng.js';
import { kit, startRig, total, type Pid, type Rig } from './kit.js';

const seed = seedFromEnv();
const cycles = Number(process.env['ROSTER_ACTOR_CYCLES'] ?? 100_000);
let rig: Rig;

beforeAll(async () => {
  rig = await startRig(2);
});
afterAll(async () => {
  await rig.close();
});

describe(`leaks (seed ${seed})`, () => {
  test(`${cycles} spawn → register → stop cycles leave nothing behind (seed ${seed})`, { timeout: Math.max(60_000, cycles * 5) }, async () => {
    const { names, rt } = rig;
    const rng = mulberry32(subSeed(seed, 'leaks'));
    // Probes that stay, to read each scheduler's heap and pending calls.
    const probes: Pid[] = [];
    for (const i of [0, 1]) probes.push(await spawn(kit('Probe'), {}, { scheduler: i }));
    const heap = async (): Promise<number[]> => Promise.all(probes.map((p) => call<number>(p, 'heap')));
    const count0 = names.count();
    const spawned0 = total(rt, 'spawned');
    const warm = async (from: number, n: number): Promise<void> => {
      const lanes = 32;
      let next = from;
      const failures: string[] = [];
      await Promise.all(Array.from({ length: lanes }, async () => {
        while (next < from + n) {
          const i = next++;
          const k = `leak:${i}`;
          try {
            const placement = randInt(rng, 3);
            const pid = await spawn(kit('Probe'), {}, { name: via(names, k), scheduler: placement === 2 ? 'hash' : placement });
            const m = monitor(pid);
            if (i % 4 === 0) await call(pid, { register: `${k}:inner`, registry: names.handle.id });
            await stopProcess(pid);
            const d = await m.down;
            if (d.reason !== 'shutdown') failures.push(`${k}: down ${d.reason}`);
          } catch (e) {
            failures.push(`${k}: ${(e as Error).message}`);
          }
        }
      }));
      expect(failures.slice(0, 5)).toEqual([]);
    };
    // Warm up (module loads, rings, caches), then measure the heaps.
    await warm(0, 2000);
    const heap0 = await heap();
    const t0 = performance.now();
    await warm(2000, cycles);
    const ms = performance.now() - t0;
    console.log(`${cycles} spawn → register → stop cycles: ${Math.round(ms)} ms (${Math.round(cycles / (ms / 1000))}/s), heaps ${heap0.map((h) => (h / 1e6).toFixed(1)).join(', ')} MB before`);

    expect(names.count()).toBe(count0);
    expect(names.whereis(`leak:${cycles}`)).toBeUndefined();
    expect(total(rt, 'spawned') - spawned0).toBe(cycles + 2000);
    expect(total(rt, 'actors')).toBe(probes.length);
    for (const s of rt.stats()) expect(s.spawned - s.exited).toBe(1);
    const rows = await Promise.all([0, 1].map((i) => rt.control(i).listActors()));
    expect((rows.flat() as ActorRow[]).map((r) => r.pid).sort()).toEqual([...probes].sort());
    expect(Caller.current().pending).toBe(0);
    for (const p of probes) expect(await call(p, 'host')).toEqual({ pending: 0, actors: 1 });
    const heap1 = await heap();
    console.log(`heaps after: ${heap1.map((h) => (h / 1e6).toFixed(1)).join(', ')} MB`);
    // Live bookkeeping per actor would be well over 100 bytes each: 100k cycles would add 10 MB or more.
    for (const [i, h] of heap1.entries()) expect(h - (heap0[i] as number)).toBeLessThan(Math.max(8e6, cycles * 100));
    for (const p of probes) await stopProcess(p);
    expect(total(rt, 'actors')).toBe(0);
  });
});
