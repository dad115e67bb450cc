/**
 * mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). One copy, shared by the demo,
 * the benchmarks and the tests: the same seed gives the same sequence on every thread and platform.
 * Not for cryptography.
 *
 * @module
 */

/** A uniform generator of floats in [0, 1). */
export type Rng = () => number;

/** A generator seeded with `seed` (any number; its low 32 bits are used). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
