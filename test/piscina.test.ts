/**
 * Sharing: a registry handle passed in piscina task payloads gives task workers the full API, and their
 * lookups see the main thread's registrations (and the other way round) through shared memory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Piscina } from 'piscina';
import { Registry, self } from '../dist/src/index.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

describe.each([1, 8])('piscina task workers attach to a registry (partitions %i)', (partitions) => {
  it('look up what the main thread registered, and register their own entries', async () => {
    const reg = Registry.create({ keys: 'unique', partitions });
    const keys = Array.from({ length: 200 }, (_, i) => `main:${i}`);
    for (const k of keys) expect(reg.register(k, k.length).ok).toBe(true);

    const pool = new Piscina({
      filename: new URL('../dist/test/fixtures/piscina-task.js', import.meta.url).href,
      minThreads: 2,
      maxThreads: 2,
    });
    cleanups.push(() => pool.destroy());

    const seen = (await pool.run({ handle: reg.handle, op: 'lookup', keys })) as Array<Array<[number, number]>>;
    expect(seen).toEqual(keys.map((k) => [[self(), k.length]]));

    // Two tasks race for the same keys: exactly one owner per key, and the main thread sees it.
    const mine = Array.from({ length: 100 }, (_, i) => `task:${i}`);
    const results = (await Promise.all([
      pool.run({ handle: reg.handle, op: 'register', keys: mine }),
      pool.run({ handle: reg.handle, op: 'register', keys: mine }),
    ])) as Array<Array<{ ok: boolean; owner?: number; holder?: number }>>;
    for (let i = 0; i < mine.length; i++) {
      const a = results[0]![i]!;
      const b = results[1]![i]!;
      const winners = [a, b].filter((r) => r.ok);
      // The same piscina worker may run both tasks: then the second sees itself as the holder.
      expect(winners.length).toBe(1);
      const winner = winners[0]!.owner!;
      const loser = a.ok ? b : a;
      expect(loser.holder).toBe(winner);
      expect(reg.lookup(mine[i]!)).toEqual([[winner, `from-task:${mine[i]}`]]);
    }
    expect(reg.count()).toBe(keys.length + mine.length);
  });
});
