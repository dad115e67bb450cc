/**
 * The event bus: delivery to exactly the live subscribers, subscribers dying mid-publish,
 * per-publisher FIFO with several publishers on several threads, and one topic with 100k subscribers
 * (one record per scheduler). Seeded; the seed is printed in the suite's name.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RosterError, call, spawn, stopProcess, type Pid } from '../../dist/src/index.js';
import { bounded, rejection, thrown, waitBoard } from '../actors/kit.js';
import { fx, kFixture, startSupRig, worker, type SupRig } from './kit.js';
import { mulberry32, shuffle } from '../helpers/prng.js';

const seed = Number(process.env.ROSTER_SEED ?? (Math.random() * 2 ** 32) >>> 0);

let rig: SupRig;
beforeAll(async () => {
  rig = await startSupRig(2);
});
afterAll(async () => {
  await rig.close(60_000); // 100k subscribers leave one by one
}, 90_000);

type Msg = { from: string; seq: number };

/** Starts `n` subscribers of `topics`, alternating schedulers. */
async function subscribers(n: number, topics: string[]): Promise<Pid[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => spawn(fx('Worker'), { topics, bus: 'bus' }, { scheduler: i % 2 })));
}

describe(`event bus (seed ${seed})`, () => {
  test('delivers to exactly the live subscribers, in order; unsubscribed and exited ones get nothing more', async () => {
    const subs = await subscribers(40, ['news']);
    expect(rig.bus.subscribers('news')).toBe(40);
    const order = shuffle(mulberry32(seed), [...subs]);
    const unsubscribed = order.slice(0, 10);
    const stopped = order.slice(10, 20);
    const live = order.slice(20);
    rig.bus.publish('news', { from: 'main', seq: 0 });
    for (const p of unsubscribed) await call(p, { unsubscribe: 'news' });
    for (const p of stopped) await stopProcess(p);
    expect(rig.bus.subscribers('news')).toBe(20);
    for (let seq = 1; seq < 5; seq++) expect(rig.bus.publish('news', { from: 'main', seq })).toBe(2); // one record per scheduler
    // A call from this thread arrives after the records this thread published before it (FIFO per pair).
    for (const p of live) expect(await call<Msg[]>(p, 'got')).toEqual([0, 1, 2, 3, 4].map((seq) => ({ from: 'main', seq })));
    for (const p of unsubscribed) expect(await call<Msg[]>(p, 'got')).toEqual([{ from: 'main', seq: 0 }]);
    rig.bus.publish('nobody', 'x'); // a topic without subscribers costs one record per scheduler, delivered to none
    for (const p of [...live, ...unsubscribed]) await stopProcess(p);
  });

  test('per-publisher FIFO: three publishers on three threads, every subscriber gets each sequence whole and in order', async () => {
    const subs = await subscribers(30, ['seq']);
    const pubs = [await spawn(fx('Publisher'), { bus: 'bus' }, { scheduler: 0 }), await spawn(fx('Publisher'), { bus: 'bus' }, { scheduler: 1 })];
    const n = 500;
    const main = (async () => {
      for (let seq = 0; seq < n; seq++) {
        rig.bus.publish('seq', { from: 'main', seq });
        if (seq % 50 === 0) await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all([main, ...pubs.map((p, i) => call(p, { burst: n, topic: 'seq', from: `p${i}` }))]);
    // Each publisher's records reach a subscriber's scheduler in order; wait until every one arrived.
    for (const s of subs) {
      let got: Msg[] = [];
      for (let tries = 0; tries < 200 && got.length < 3 * n; tries++) got = await call<Msg[]>(s, 'got');
      for (const from of ['main', 'p0', 'p1']) {
        expect(got.filter((m) => m.from === from).map((m) => m.seq), `${from} → ${s} (seed ${seed})`).toEqual(Array.from({ length: n }, (_, i) => i));
      }
    }
    for (const p of [...subs, ...pubs]) await stopProcess(p);
  });

  test('subscribers dying mid-publish: survivors get everything in order, a restarted subscriber gets only later messages, once', async () => {
    const sup = rig.sup('bus-subs');
    const subs = await Promise.all(Array.from({ length: 20 }, (_, i) => sup.startChild(worker({ topics: ['storm'], bus: 'bus' }, { scheduler: i % 2, restart: 'temporary' }))));
    const phoenix = await sup.startChild(worker({ topics: ['storm'], bus: 'bus' }, { scheduler: 1 }));
    const pub = await spawn(fx('Publisher'), { bus: 'bus' }, { scheduler: 0 });
    const burst = call(pub, { burst: 3000, topic: 'storm', from: 'p' });
    const doomed = shuffle(mulberry32(seed), [...subs]).slice(0, 8);
    await Promise.all(doomed.map((p) => stopProcess(p)));
    await rejection(call(phoenix, { crash: 'mid-publish' }));
    await burst;
    const survivors = subs.filter((p) => !doomed.includes(p));
    for (const s of survivors) {
      let got: Msg[] = [];
      for (let tries = 0; tries < 200 && got.length < 3000; tries++) got = await call<Msg[]>(s, 'got');
      expect(got.map((m) => m.seq), `survivor ${s} (seed ${seed})`).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    }
    for (const p of doomed) expect((await rejection(call(p, 'got'))).code).toBe('ROSTER_ERR_NOPROC');
    // The restarted subscriber re-subscribed in init: a strictly increasing tail, no duplicates.
    const reborn = sup.stats().restarts === 1 ? rig.events.filter((e) => e.supervisor === 'bus-subs' && e.type === 'restart')[0]?.pid : undefined;
    expect(reborn).toBeTypeOf('number');
    const tail = (await call<Msg[]>(reborn as Pid, 'got')).map((m) => m.seq);
    for (let i = 1; i < tail.length; i++) expect(tail[i]).toBe((tail[i - 1] as number) + 1);
    expect(rig.bus.subscribers('storm')).toBe(survivors.length + 1);
    for (const p of [...survivors, reborn as Pid, pub]) await stopProcess(p);
  });

  test('100k subscribers on one topic: one record per scheduler, every subscriber gets every message, the publisher stays responsive', async () => {
    const slot = 900;
    const per = 50_000;
    const spawners = [await spawn(fx('Spawner'), null, { scheduler: 0 }), await spawn(fx('Spawner'), null, { scheduler: 1 })];
    const made = await bounded(Promise.all(spawners.map((s) => call<number>(s, { spawn: per, behaviour: [kFixture, 'Counting'], args: { topics: ['hot'], bus: 'bus', count: slot } }, { timeout: 60_000 }))), 90_000, 'spawning 100k subscribers');
    expect(made).toEqual([per, per]);
    expect(rig.bus.subscribers('hot')).toBe(2 * per);
    const pub = await spawn(fx('Publisher'), { bus: 'bus' }, { scheduler: 0 });
    for (let round = 1; round <= 3; round++) {
      expect(rig.bus.publish('hot', { round })).toBe(2);
      // Published from an actor too: its call returns with the records sent, not after the deliveries.
      expect(await call(pub, { burst: 1, topic: 'hot', from: 'pub' })).toBe(1);
      await waitBoard(rig.board, slot, round * 4 * per, 60_000);
    }
    expect(Atomics.load(rig.board, slot)).toBe(12 * per);
    for (const s of spawners) await stopProcess(s);
    await stopProcess(pub);
  }, 180_000);

  test('bad input: typed errors, nothing registered', () => {
    const before = rig.topics.count();
    expect(thrown(() => new (rig.bus.constructor as new (r: unknown) => unknown)(rig.names)).code).toBe('ROSTER_ERR_INVALID_OPTION');
    expect(thrown(() => new (rig.bus.constructor as new (r: unknown) => unknown)(5)).code).toBe('ROSTER_ERR_INVALID_OPTION');
    expect(thrown(() => rig.bus.subscribe('t')).code).toBe('ROSTER_ERR_UNSUPPORTED'); // not inside an actor
    expect(thrown(() => rig.bus.publish('t', () => 1))).toBeInstanceOf(RosterError);
    expect(thrown(() => rig.bus.publish({} as never, 1)).code).toBe('ROSTER_ERR_INVALID_KEY');
    expect(rig.topics.count()).toBe(before);
  });
});
