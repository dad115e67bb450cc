/**
 * A small seeded PRNG (mulberry32) and helpers, shared by tests (main thread) and worker fixtures.
 * Same seed, same sequence, on every thread and platform.
 *
 * @module
 */

import { mulberry32, type Rng } from '../../scripts/lib/prng.js';

export { mulberry32, type Rng };

/** An integer in [0, n). */
export function randInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

/** One element of a non-empty array. */
export function pick<T>(rng: Rng, xs: readonly T[]): T {
  if (xs.length === 0) throw new RangeError('pick from an empty array');
  return xs[randInt(rng, xs.length)] as T;
}

/** Fisher–Yates shuffle, in place; returns the array. */
export function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = randInt(rng, i + 1);
    const t = xs[i] as T;
    xs[i] = xs[j] as T;
    xs[j] = t;
  }
  return xs;
}

/** FNV-1a over a string's UTF-16 units; a 32-bit unsigned integer. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Derives a sub-seed from a seed and a label, so each config/worker gets its own stream. */
export function subSeed(seed: number, label: string | number): number {
  return fnv1a(`${seed >>> 0}/${String(label)}`);
}

/**
 * The run's seed: `ROSTER_SEED` (decimal or 0x-hex) when set, otherwise random. Print it on
 * failure so a run can be replayed with `ROSTER_SEED=<seed>`.
 */
export function seedFromEnv(env: Record<string, string | undefined> = process.env): number {
  const raw = env['ROSTER_SEED'];
  if (raw !== undefined && raw.trim() !== '') {
    const n = Number(raw.trim());
    if (!Number.isSafeInteger(n)) throw new RangeError(`ROSTER_SEED must be an integer, got ${raw}`);
    return n >>> 0;
  }
  return (Math.random() * 2 ** 32) >>> 0;
}
