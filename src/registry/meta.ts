/**
 * Registry metadata: `meta`, `putMeta` and `deleteMeta`, kept in the registry's metadata table (a
 * partition of its own, with no owners: an entry stays until it is deleted). Docs of the public calls:
 * registry.ts.
 *
 * @module
 */
import { encodeValue } from '../memory/codec.js';
import { kAnyOwner } from '../memory/table.js';
import type { RegistryCore } from './core.js';
import type { Key, MetaResult } from '../types.js';

/** `registry.meta(key)`. Lock-free. */
export function meta(r: RegistryCore, key: Key): MetaResult {
  r.check();
  const hit = r.hit;
  return r.meta.find(r.prep(key), null, hit) ? { ok: true, value: hit.value } : { ok: false };
}

/** `registry.putMeta(key, value)`. One lock on the metadata table. */
export function putMeta(r: RegistryCore, key: Key, value: unknown): void {
  r.check();
  const v = encodeValue(value, r.handle.maxValueBytes);
  r.meta.insert(r.prep(key), v, 0, 0, 'upsert');
}

/** `registry.deleteMeta(key)`. */
export function deleteMeta(r: RegistryCore, key: Key): void {
  r.check();
  r.meta.remove(r.prep(key), kAnyOwner, 0);
}
