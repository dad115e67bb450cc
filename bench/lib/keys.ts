/**
 * Deterministic key sets and access orders for the benchmarks. Every thread that calls these with the
 * same seed gets the same keys, so workers need not receive 100k strings by structured clone.
 *
 * @module
 */
import { mulberry32 } from '../../scripts/lib/prng.js';

/** mulberry32 (scripts/lib/prng.ts): a small, fast, seedable PRNG returning floats in [0, 1). */
export const rng = mulberry32;

/**
 * `n` distinct string keys shaped like `actor:<base36>:<i>` (about 18–19 UTF-16 units, like the keys in
 * /work/shared/reference/performance.md). `prefix` separates key families (hit keys, miss keys, ...).
 */
export function makeKeys(n: number, seed: number, prefix = 'actor'): string[] {
  const r = rng(seed);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = `${prefix}:${Math.floor(r() * 2 ** 36).toString(36)}:${i}`;
  // Template literals make V8 cons strings (a tree of the parts). Reading their characters is several
  // times slower than reading a flat string's (measured: FNV-1a over a key 196 ns vs 38 ns; Map.get
  // 98 vs 54 ns), which would make every figure depend on how the keys happened to be built. Keys that
  // arrive by message or JSON are flat, so flatten them: a JSON round trip yields sequential strings.
  return JSON.parse(JSON.stringify(out)) as string[];
}

/** Fisher–Yates shuffle of a copy. */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const r = rng(seed);
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = out[i] as T;
    out[i] = out[j] as T;
    out[j] = t;
  }
  return out;
}
