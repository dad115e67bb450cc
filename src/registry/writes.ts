/**
 * The registry's writes of the calling process's own entries: `register`, `unregister`,
 * `unregisterMatch` and `updateValue`. Each takes one partition's lock (table.ts) and never runs user
 * code while holding it: patterns, guards and `updateValue`'s `fn` run in the caller first. Docs of the
 * public calls: registry.ts.
 *
 * @module
 */
import { decodeSerialized, encodeValue, type EncodedValue } from '../memory/codec.js';
import { makePid, pidInc, pidLocal } from '../domain/domain.js';
import { self } from '../domain/process.js';
import { UnsupportedError } from '../errors.js';
import { kValSerialized } from '../layout.js';
import type { Table } from '../memory/table.js';
import type { RegistryCore } from './core.js';
import { findUnique } from './lookups.js';
import { compileValueMatcher, type Guard } from './pattern.js';
import type { Key, Pid, RegisterResult, UpdateResult } from '../types.js';

/**
 * `registry.register(key, value)`. `hook` (the actor runtime's, see `setOwnerHook`) is told of every
 * registration made by an actor, with `reg`.
 */
export function register<R>(r: RegistryCore, key: Key, value: unknown, reg: R, hook: ((reg: R, key: Key, pid: Pid) => void) | null): RegisterResult {
  r.check();
  const v = encodeValue(value, r.handle.maxValueBytes);
  const q = r.prep(key);
  const pid = self();
  const holder = r.tableFor(q, pid).insert(q, v, pidInc(pid), pidLocal(pid), r.unique ? 'unique' : 'duplicate');
  if (holder !== null) return { ok: false, reason: 'already_registered', holder: makePid(holder.inc, holder.local) };
  if (hook !== null && pidLocal(pid) !== 0) hook(reg, key, pid);
  if (r.hasListeners()) r.emit({ type: 'register', registry: r.name, key, pid, value: stored(v, value) });
  return { ok: true, owner: pid };
}

/** `registry.unregister(key)`. */
export function unregister(r: RegistryCore, key: Key): void {
  r.check();
  const q = r.prep(key);
  const pid = self();
  const inc = pidInc(pid);
  const local = pidLocal(pid);
  r.tableFor(q, pid).remove(q, inc, local);
  if (r.hasListeners()) r.emit({ type: 'unregister', registry: r.name, key, pid });
}

/** `registry.unregisterMatch(key, pattern, guards)`. */
export function unregisterMatch(r: RegistryCore, key: Key, pattern: unknown, guards?: readonly Guard[]): void {
  r.check();
  const test = compileValueMatcher(pattern, guards, 'unregisterMatch');
  const q = r.prep(key);
  const pid = self();
  const inc = pidInc(pid);
  const local = pidLocal(pid);
  const table = r.tableFor(q, pid);
  const mine = table.all(q, (i) => i === inc).filter((e) => e.local === local);
  const serials = new Set(mine.filter((e) => test(e.value)).map((e) => e.serial));
  if (serials.size > 0) r.prep(key, q);
  const removed = serials.size === 0 ? 0 : table.remove(q, inc, local, serials);
  if ((mine.length === 0 || removed === mine.length) && r.hasListeners()) {
    r.emit({ type: 'unregister', registry: r.name, key, pid });
  }
}

/** `registry.updateValue(key, fn)`. */
export function updateValue<T>(r: RegistryCore, key: Key, fn: (old: T) => T): UpdateResult<T> {
  r.check();
  if (!r.unique) throw new UnsupportedError(`updateValue is not supported for ${r.handle.kind} registries`);
  const pid = self();
  const inc = pidInc(pid);
  const local = pidLocal(pid);
  for (;;) {
    const p = findUnique(r, key);
    const e = r.hit;
    if (p < 0 || e.inc !== inc || e.local !== local) return { ok: false };
    const previous = e.value as T;
    const serial = e.serial;
    const next = fn(previous);
    const v = encodeValue(next, r.handle.maxValueBytes);
    if ((r.tables[p] as Table).replace(r.prep(key), v, inc, local, serial)) return { ok: true, value: next, previous };
  }
}

/** The value a listener sees: what was stored (decoded from its encoding), not a second read of the caller's object. */
function stored(v: EncodedValue, value: unknown): unknown {
  return v.tag === kValSerialized && v.bytes !== null ? decodeSerialized(v.bytes) : value;
}
