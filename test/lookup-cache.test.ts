/**
 * The lookup cache is invisible: with a tiny cache (constant eviction) or none, and across growth,
 * updates, removals and re-registrations, `lookup` and `whereis` answer exactly as a registry without a
 * cache does. Seeded; the seed is in the test name.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from '../dist/src/index.js';
import { mulberry32 } from './helpers/prng.js';

const seed = Number(process.env['ROSTER_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const regs: Registry[] = [];
afterEach(() => {
  for (const r of regs.splice(0)) r.close();
});

describe.each([
  [1, 4],
  [8, 4],
  [8, 1 << 17],
])(`lookup cache (partitions %i, lookupCache %i, seed ${seed})`, (partitions, lookupCache) => {
  it('answers as the uncached registry through random writes', () => {
    const cached = Registry.create({ keys: 'unique', partitions, lookupCache, initialCapacity: 8 });
    const plain = Registry.create({ keys: 'unique', partitions, lookupCache: 0, initialCapacity: 8 });
    regs.push(cached, plain);
    const rng = mulberry32(seed);
    const keys = Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? i : `k${i}`));
    for (let step = 0; step < 20_000; step++) {
      const k = keys[Math.floor(rng() * keys.length)] as string | number;
      const r = rng();
      if (r < 0.15) {
        const v = rng() < 0.2 ? { n: step } : step % 7 === 0 ? `s${step}` : step;
        expect(cached.register(k, v).ok, `seed ${seed} step ${step}`).toBe(plain.register(k, v).ok);
      } else if (r < 0.25) {
        cached.unregister(k);
        plain.unregister(k);
      } else if (r < 0.3) {
        const a = cached.updateValue<unknown>(k, () => step);
        const b = plain.updateValue<unknown>(k, () => step);
        expect(a.ok, `seed ${seed} step ${step}`).toBe(b.ok);
      } else {
        expect(cached.lookup(k), `seed ${seed} step ${step} key ${String(k)}`).toEqual(plain.lookup(k));
        expect(cached.whereis(k), `seed ${seed} step ${step}`).toBe(plain.whereis(k));
      }
    }
    // A cached object value is never shared between calls.
    cached.register('obj', { n: 1 });
    const first = cached.lookup('obj')[0]![1] as { n: number };
    first.n = 2;
    expect(cached.lookup('obj')[0]![1]).toEqual({ n: 1 });
  });
});
