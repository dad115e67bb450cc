/**
 * A scheduler dies: its permanent and transient children restart on the survivors, temporary ones are
 * gone, a replacement thread starts, via names resolve to the new pids, callers get typed errors and
 * never hang, and a checker thread sees no name held twice at any moment.
 */
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, via, type Pid } from '../../dist/src/index.js';
import { bounded } from '../actors/kit.js';
import { startSupRig, worker, type SupRig } from './kit.js';

const kChecker = new URL('../../dist/test/fixtures/name-checker.js', import.meta.url);

let rig: SupRig;
beforeAll(async () => {
  rig = await startSupRig(2);
});
afterAll(async () => {
  await rig.close();
});

describe('scheduler death', () => {
  test('2,000 children: restarted elsewhere, replacement started, names never double-held, calls fail typed', async () => {
    const sup = rig.sup('death');
    const keys = Array.from({ length: 2000 }, (_, i) => `child:${i}`);
    const restart = (i: number): 'temporary' | 'transient' | 'permanent' => (i % 10 === 0 ? 'temporary' : i % 10 === 1 ? 'transient' : 'permanent');
    const pids = await Promise.all(keys.map((k, i) => sup.startChild(worker({}, { name: via(rig.names, k), restart: restart(i) }))));
    const doomed = rig.rt.stats()[0]?.actors ?? 0;
    expect(doomed).toBeGreaterThan(500);
    const ctl = new Int32Array(new SharedArrayBuffer(16));
    const checker = new Worker(kChecker, { workerData: { handle: rig.names.handle, keys, ctl: ctl.buffer } });
    const problems: string[] = [];
    checker.on('message', (m: string) => m !== 'done' && problems.push(m));
    while (Atomics.load(ctl, 1) < 2) await new Promise((r) => setImmediate(r)); // the checker runs
    // Calls in flight to children of scheduler 0 when it dies (a pid is inc × 2³¹ + local).
    const inc0 = (await rig.rt.control(0).info()).inc;
    const onZero = (pids as Pid[]).filter((p) => Math.floor(p / 2 ** 31) === inc0).slice(0, 200);
    expect(onZero.length).toBe(200);
    const held = onZero.map((p) => call(p, { hold: 60_000 }, { timeout: 30_000 }).then(() => 'replied', (e: { code: string }) => e.code));
    const down = rig.next('schedulerDown');
    const recovered = rig.next('recovered', 20_000);
    const up = rig.next('schedulerUp', 20_000);
    const t0 = Date.now();
    await rig.rt.worker(0).terminate();
    const d = await down;
    const r = await recovered;
    expect(d).toMatchObject({ type: 'schedulerDown', index: 0, reason: 'terminated' });
    expect(r).toMatchObject({ type: 'recovered', index: 0 });
    const outcomes = await bounded(Promise.all(held), 5000, 'calls held by the dead scheduler');
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(outcomes).toEqual(onZero.map(() => 'ROSTER_ERR_EXIT'));
    await up;
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    await once(checker, 'exit');
    expect(problems).toEqual([]);
    expect(Atomics.load(ctl, 2)).toBe(0);
    expect(Atomics.load(ctl, 3)).toBeGreaterThan(0); // it saw names move
    // Every permanent and transient child runs again under its name; temporary ones on 0 are gone.
    let gone = 0;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      const holder = rig.names.whereis(k);
      if (holder === undefined) {
        expect(restart(i), k).toBe('temporary');
        gone++;
        continue;
      }
      expect(await call(via(rig.names, k), 'ping')).toBe('pong');
    }
    expect(gone).toBeGreaterThan(0);
    const s = sup.stats();
    expect(s.children).toBe(keys.length - gone);
    expect(s.restarts).toBe(r.type === 'recovered' ? r.children : -1);
    expect(rig.rt.stats().map((x) => x.actors).reduce((a, b) => a + b, 0)).toBe(keys.length - gone);
    console.log(`recovery of ${r.type === 'recovered' ? r.children : 0} children: ${r.type === 'recovered' ? r.ms.toFixed(0) : '?'} ms after the death was seen`);
  });

  test('the replacement scheduler takes new children, and the runtime still stops cleanly', async () => {
    const sup = rig.sup('after');
    const pid = await sup.startChild(worker({}, { name: via(rig.names, 'on-replacement'), scheduler: 0 }));
    expect(await call(pid, 'ping')).toBe('pong');
    expect(rig.rtEvents.filter((e) => e.type === 'schedulerUp').length).toBe(1);
  });
});
