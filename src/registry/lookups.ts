/**
 * The lock-free lookups of a registry, its hot path: `lookup`, `whereis` and `ref`, and, for unique
 * registries, the per-thread lookup cache in front of the partition probe. Docs of the public calls:
 * registry.ts.
 *
 * @module
 */
import { makePid } from '../domain/domain.js';
import { UnsupportedError } from '../errors.js';
import { KeyRef } from './key-ref.js';
import { kRowInc, kRowLocal, kRowPartition, kRowWords, type LookupCache } from '../memory/lookup-cache.js';
import type { Table, KeyQuery, RawEntry } from '../memory/table.js';
import type { RegistryCore } from './core.js';
import type { Entry, Key, Pid } from '../types.js';

/** `resolve` results besides a cache row. */
const kInHit = -1;
const kNotFound = -2;

/** `registry.lookup(key)`. */
export function lookup<V>(r: RegistryCore, key: Key): Array<Entry<V>> {
  r.check();
  if (r.unique) {
    const row = resolve(r, key);
    if (row >= 0) {
      const c = r.cache as LookupCache;
      const b = row * kRowWords;
      return [[makePid(c.rows[b + kRowInc] as number, c.rows[b + kRowLocal] as number), c.values[row] as V]];
    }
    return row === kInHit ? [[makePid(r.hit.inc, r.hit.local), r.hit.value as V]] : [];
  }
  return entries(r, r.prep(key)).map((e) => [makePid(e.inc, e.local), e.value as V]);
}

/**
 * Finds a unique key's entry, through the lookup cache (lookup-cache.ts) when the key is a string or
 * a number. V8 keeps a string's hash inside the string, so the cache's `Map.get` skips hashing; the
 * row is then re-validated in shared memory (three loads of the partition's modification seqlock,
 * else the slot), plus one load for the owner's liveness. An entry that moved or changed is probed
 * again and its row refreshed in place.
 * Returns the cache row (≥ 0), kInHit (found, in `r.hit`), or kNotFound.
 */
function resolve(r: RegistryCore, key: Key): number {
  const cache = r.cache;
  const cacheable = cache !== null && (typeof key === 'string' || typeof key === 'number');
  if (cacheable) {
    const row = cache.map.get(key);
    if (row !== undefined) {
      const rows = cache.rows;
      const b = row * kRowWords;
      const p = rows[b + kRowPartition] as number;
      const t = r.tables[p] as Table;
      if (t.stillAt(rows, b) && r.domain.isAlive(rows[b + kRowInc] as number)) return row;
      const hit = r.hit;
      if (!t.find(r.prep(key), r.domain, hit)) {
        cache.drop(key);
        return kNotFound;
      }
      if (typeof hit.value === 'object' && hit.value !== null) {
        cache.drop(key);
        return kInHit;
      }
      cache.write(row, p, hit);
      return row;
    }
  }
  const p = findUnique(r, key);
  if (p < 0) return kNotFound;
  const hit = r.hit;
  if (cacheable && (typeof hit.value !== 'object' || hit.value === null)) cache.put(key, p, hit);
  return kInHit;
}

/** Probes for a unique key without the cache; leaves the entry in `r.hit` and returns its partition, or -1. */
export function findUnique(r: RegistryCore, key: Key): number {
  const q = r.prep(key);
  const p = r.partition(q);
  return (r.tables[p] as Table).find(q, r.domain, r.hit) ? p : -1;
}

function entries(r: RegistryCore, q: KeyQuery): RawEntry[] {
  const tables = r.tablesFor(q);
  if (tables.length === 1) return (tables[0] as Table).all(q, r.alive);
  const out: RawEntry[] = [];
  for (const t of tables) for (const e of t.all(q, r.alive)) out.push(e);
  return out;
}

/** `registry.whereis(key)`. */
export function whereis(r: RegistryCore, key: Key): Pid | undefined {
  r.check();
  if (!r.unique) throw new UnsupportedError(`whereis (via names) is not supported for ${r.handle.kind} registries`);
  const row = resolve(r, key);
  if (row >= 0) {
    const rows = (r.cache as LookupCache).rows;
    return makePid(rows[row * kRowWords + kRowInc] as number, rows[row * kRowWords + kRowLocal] as number);
  }
  return row === kInHit ? makePid(r.hit.inc, r.hit.local) : undefined;
}

/** `registry.ref(key)`. */
export function ref<V>(r: RegistryCore, key: Key): KeyRef<V> {
  r.check();
  if (!r.unique) throw new UnsupportedError(`ref is only supported for unique registries, not ${r.handle.kind}`);
  const q = r.ownQuery(key);
  return new KeyRef<V>(key, q, r.tables[r.partition(q)] as Table, r.domain, r.control);
}
