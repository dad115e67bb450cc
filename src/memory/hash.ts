/**
 * Hashing of keys. Any thread; pure.
 *
 * FNV-1a over UTF-16 units (strings) or bytes (canonical encodings of other keys), finished with
 * murmur3's fmix32 so both the low bits (slot index) and the high bits (partition) are well mixed.
 * Cost: about 1 ns per character.
 *
 * @module
 */

const kFnvOffset = 0x811c9dc5 | 0;
const kFnvPrime = 0x01000193;

/** murmur3 finalizer: full avalanche of a 32-bit value. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Hash of a string key, over its UTF-16 units (so lone surrogates hash as themselves). */
export function hashString(s: string): number {
  let h = kFnvOffset;
  const n = s.length;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ s.charCodeAt(i), kFnvPrime);
  return fmix32(h ^ n);
}

/** Hash of a canonical key encoding. Seeded apart from `hashString`. */
export function hashBytes(b: Uint8Array, len: number): number {
  let h = kFnvOffset ^ 0x5bd1e995;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ (b[i] as number), kFnvPrime);
  return fmix32(h ^ len);
}

/** Hash of a pid (for routing `'duplicate'` registries by owner). */
export function hashPid(inc: number, local: number): number {
  return fmix32(Math.imul(inc, 0x9e3779b1) ^ local);
}

/** Partition index from a hash, using the high bits (slots use the low bits). */
export function partitionOf(hash: number, partitions: number): number {
  return Math.floor(((hash >>> 0) * partitions) / 4294967296);
}
