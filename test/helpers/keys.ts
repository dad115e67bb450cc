/**
 * Deterministic key and self-checking value families shared by the concurrent tests and their
 * worker fixtures. Every thread rebuilds the same key from its index, so ledgers travel as indexes.
 *
 * @module
 */
import type { Key } from '../../src/types.js';
import { fnv1a } from './prng.js';

/** The i-th key of a family: a mix of strings, numbers, tuples and byte strings. */
export function keyFor(i: number, family = 'k'): Key {
  switch (i % 4) {
    case 0:
      return `${family}:${i}`;
    case 1:
      return family === 'k' ? i : [family, i];
    case 2:
      return [family, i, i % 8 === 2];
    default:
      return Uint8Array.of(family.charCodeAt(0) & 255, i & 255, (i >>> 8) & 255, (i >>> 16) & 255);
  }
}

/**
 * A self-checking value: `check` is a hash of the other fields, `pad` varies the encoded size so
 * a torn read across entries of different sizes shows up as a bad check.
 */
export interface StressValue {
  readonly k: number;
  readonly w: number;
  readonly n: number;
  readonly pad: string;
  readonly tail: readonly number[];
  readonly check: number;
}

function checksum(k: number, w: number, n: number, pad: string, tail: readonly number[]): number {
  return fnv1a(`${k}|${w}|${n}|${pad}|${tail.join(',')}`);
}

/** Builds the value worker `w` stores under key index `k` for its `n`-th write. */
export function makeValue(k: number, w: number, n: number): StressValue {
  const pad = String.fromCharCode(97 + (n % 26)).repeat((n * 37) % 300);
  const tail = [k, w, n];
  return { k, w, n, pad, tail, check: checksum(k, w, n, pad, tail) };
}

/** Returns a description of what is wrong with a value read under key index `k`, or null when it is intact. */
export function valueProblem(v: unknown, k: number, workers: number): string | null {
  if (typeof v !== 'object' || v === null) return `value is not an object: ${String(v)}`;
  const r = v as Partial<StressValue>;
  if (typeof r.k !== 'number' || typeof r.w !== 'number' || typeof r.n !== 'number') return 'value lacks k/w/n';
  if (typeof r.pad !== 'string' || !Array.isArray(r.tail)) return 'value lacks pad/tail';
  if (r.check !== checksum(r.k, r.w, r.n, r.pad, r.tail)) return `torn value: check mismatch (k=${r.k} w=${r.w} n=${r.n})`;
  if (r.k !== k) return `value of key ${r.k} found under key ${k}`;
  if (!Number.isInteger(r.w) || r.w < 0 || r.w >= workers) return `value names worker ${r.w}`;
  return null;
}
