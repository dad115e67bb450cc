/**
 * Faults of the actor runtime, with real scheduler threads (2):
 * - a mailbox filled past its limit: casts beyond it are dropped and counted, a call beyond it gets
 *   ROSTER_ERR_MAILBOX_FULL, and the scheduler's memory does not grow with what was dropped;
 * - a scheduler terminated in the middle of heavy traffic (calls in flight from the main thread and
 *   from an actor on the other scheduler, some held inside handlers): every pending call settles with
 *   ROSTER_ERR_EXIT (or NOPROC) within 2 s, every monitor fires with the thread's reason (in the main
 *   thread and in an actor's handleInfo), the registry holds none of its actors after the sweep, and
 *   the survivors keep working.
 *
 * Replay with ROSTER_SEED=<seed in the test names>.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Coordinator, call, cast, monitor, spawn, stopProcess, via, type Down } from '../../dist/src/index.js';
import type { ActorRow } from '../../dist/src/index.js';
import { mulberry32, randInt, seedFromEnv, subSeed } from '../helpers/prng.js';
import { bounded, kit, openGate, rejection, startRig, waitBoard, type Pid, type Rig } from './kit.js';

const seed = seedFromEnv();
let rig: Rig;
let killed = false;

beforeAll(async () => {
  rig = await startRig(2);
});
afterAll(async () => {
  if (!killed) return rig.close();
  // After a scheduler died, Runtime.stop() does not settle (see the last test): stop what it can,
  // then the coordinator it started.
  await Promise.race([rig.rt.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
  await (await Coordinator.start()).stop();
  rig.names.close();
});

describe(`faults (seed ${seed})`, () => {
  test('a full mailbox: casts beyond the limit are dropped and counted, a call gets MAILBOX_FULL, memory stays flat', async () => {
    const { board, rt } = rig;
    const g = rig.slots(2);
    const p = await spawn(kit('Probe'), {}, { mailboxLimit: 10, scheduler: 1 });
    const barrier = await spawn(kit('Probe'), {}, { scheduler: 1 });
    const hold = call(p, { hold: g }, { timeout: 60_000 });
    await waitBoard(board, g + 1, 1);
    const dropped0 = rt.stats()[1]!.dropped;
    for (let i = 1; i <= 30; i++) expect(cast(p, { i })).toBe(true);
    const e = await rejection(call(p, 'get'));
    expect(e.code).toBe('ROSTER_ERR_MAILBOX_FULL');
    expect(rt.stats()[1]!.dropped - dropped0).toBe(21);
    const row = (await rt.control(1).listActors()).find((r: ActorRow) => r.pid === p);
    expect(row).toMatchObject({ depth: 10, dropped: 21 });

    // 100k more casts, each chunk followed by a call to another actor of that scheduler (same
    // sender → thread ring, so every cast before it was routed): all dropped, none kept.
    const heap0 = await call<number>(barrier, 'heap');
    const more = 100_000;
    const t0 = performance.now();
    for (let i = 0; i < more; ) {
      for (let k = 0; k < 5000; k++, i++) expect(cast(p, { i: 100 + i, pad: 'x'.repeat(32) })).toBe(true);
      await call(barrier, 'get');
    }
    const heap1 = await call<number>(barrier, 'heap');
    console.log(`100k dropped casts: ${Math.round(performance.now() - t0)} ms, scheduler heap ${((heap1 - heap0) / 1e6).toFixed(1)} MB`);
    expect(rt.stats()[1]!.dropped - dropped0).toBe(21 + more);
    expect(rt.stats()[1]!.depth).toBeLessThanOrEqual(10);
    // 100k queued envelopes would hold over 10 MB; the dropped ones leave at most GC slack.
    expect(heap1 - heap0).toBeLessThan(8 * 1024 * 1024);

    openGate(board, g);
    expect(await hold).toBe('released');
    expect(await call(p, 'log')).toEqual(Array.from({ length: 10 }, (_, k) => ({ i: k + 1 })));
    await stopProcess(p);
    await stopProcess(barrier);
  });

  test(`a scheduler terminated under heavy traffic: calls settle with EXIT within 2 s, monitors fire, names swept, survivors work (seed ${seed})`, async () => {
    const rng = mulberry32(subSeed(seed, 'kill'));
    const { board, names, rt } = rig;
    const g = rig.slots(3);
    const ready = g + 2;
    const doomedKeys = Array.from({ length: 16 }, (_, i) => `doomed:${i}`);
    const doomed: Pid[] = [];
    for (const k of doomedKeys) doomed.push(await spawn(kit('Probe'), {}, { name: via(names, k), scheduler: 0 }));
    const liveKeys = Array.from({ length: 4 }, (_, i) => `live:${i}`);
    const live: Pid[] = [];
    for (const k of liveKeys) live.push(await spawn(kit('Probe'), {}, { name: via(names, k), scheduler: 1 }));
    const watcher = await spawn(kit('Probe'), {}, { scheduler: 1 });
    const hammer = await spawn(kit('Hammer'), null, { scheduler: 1 });
    for (const [i, p] of doomed.entries()) await call(watcher, { watch: p, registry: names.handle.id, key: doomedKeys[i] });
    const count0 = names.count();

    const settled: Array<{ what: string; code: string; reason?: string; at: number }> = [];
    const track = (what: string, p: Promise<unknown>): Promise<void> =>
      p.then(
        () => void settled.push({ what, code: 'REPLIED', at: Date.now() }),
        (e: { code: string; reason?: string }) => void settled.push({ what, code: e.code, ...(e.reason !== undefined ? { reason: e.reason } : {}), at: Date.now() }),
      );
    const downs: Array<Promise<Down & { at: number }>> = doomed.map((p) => monitor(p).down.then((d) => ({ ...d, at: Date.now() })));
    // Held inside handlers: from the main thread to doomed 0–3, from the hammer to doomed 4–7.
    const held = doomed.slice(0, 4).map((p) => track('hold', call(p, { hold: g }, { timeout: 30_000 })));
    const hammered = call<{ failures: Array<{ code: string; reason?: string; at: number; what: string }>; replies: number }>(
      hammer,
      { holds: doomed.slice(4, 8), lanes: doomed.slice(8, 12), hold: g, ready, timeout: 30_000 },
      { timeout: 60_000 },
    );
    // Lanes of casts and calls by via name from the main thread to doomed 8–15.
    let warm = 0;
    let warmed!: () => void;
    const allWarm = new Promise<void>((r) => (warmed = r));
    const lanes = doomedKeys.slice(8).map(async (k) => {
      let replies = 0;
      for (;;) {
        try {
          cast(via(names, k), { add: 1 });
          await call(via(names, k), randInt(rng, 2) === 0 ? 'get' : 'bump', { timeout: 30_000 });
          if (++replies === 20 && ++warm === 8) warmed();
        } catch (e) {
          const err = e as { code: string; reason?: string };
          settled.push({ what: 'lane', code: err.code, ...(err.reason !== undefined ? { reason: err.reason } : {}), at: Date.now() });
          return replies;
        }
      }
    });
    await waitBoard(board, g + 1, 8);
    await waitBoard(board, ready, 1);
    await bounded(allWarm, 10_000, 'main lanes warming up');

    const tKill = Date.now();
    killed = true;
    const gone = rt.worker(0).terminate();
    await bounded(Promise.all([...held, ...lanes]), 5000, 'pending calls from the main thread');
    const h = await bounded(hammered, 5000, 'the hammer');
    const d = await bounded(Promise.all(downs), 5000, 'monitors in the main thread');
    await gone;

    expect(settled.length).toBe(12);
    for (const s of [...settled, ...h.failures]) {
      expect(['ROSTER_ERR_EXIT', 'ROSTER_ERR_NOPROC']).toContain(s.code);
      if (s.code === 'ROSTER_ERR_EXIT') expect(s.reason).toBe('terminated');
      expect(s.at - tKill).toBeLessThanOrEqual(2000);
    }
    for (const s of [...settled, ...h.failures].filter((x) => x.what === 'hold')) expect(s.code).toBe('ROSTER_ERR_EXIT');
    expect(h.failures.length).toBe(8);
    expect(h.replies).toBeGreaterThan(0);
    for (const [i, x] of d.entries()) {
      expect(x).toMatchObject({ type: 'down', pid: doomed[i], reason: 'terminated' });
      expect(x.at - tKill).toBeLessThanOrEqual(2000);
    }
    // The watcher on the surviving scheduler got every Down, with no name left pointing at the dead.
    let wd: Array<{ pid: Pid; reason: string; nameAtDown: unknown }> = [];
    const end = Date.now() + 2000;
    while (wd.length < doomed.length && Date.now() < end) wd = await call(watcher, 'downs');
    expect(new Set(wd.map((x) => x.pid))).toEqual(new Set(doomed));
    for (const x of wd) expect(x).toMatchObject({ reason: 'terminated', nameAtDown: null });

    const coordinator = await Coordinator.start();
    await coordinator.sync();
    for (const k of doomedKeys) expect(names.lookup(k)).toEqual([]);
    expect(names.count()).toBe(count0 - doomed.length);

    // Survivors: every actor of scheduler 1 answers; new spawns avoid the dead scheduler.
    for (const [i, k] of liveKeys.entries()) {
      cast(via(names, k), { add: 2 });
      expect(await call(via(names, k), 'get')).toBe(2);
      expect(names.whereis(k)).toBe(live[i]);
    }
    const fresh = await spawn(kit('Probe'), { n: 7 }, { scheduler: 0, name: via(names, 'after-kill') });
    expect(await call(via(names, 'after-kill'), 'get')).toBe(7);
    expect((await rt.control(1).listActors()).map((r: ActorRow) => r.pid)).toContain(fresh);
    for (const p of [...live, watcher, hammer, fresh]) await stopProcess(p);
    expect(rt.stats()[1]!.actors).toBe(0);
  });

  test('Runtime.stop() resolves after one of its schedulers died', async () => {
    expect(killed).toBe(true);
    await bounded(rig.rt.stop(), 3000, 'rt.stop() after a scheduler died');
  });
});
