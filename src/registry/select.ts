/**
 * The registry's queries beyond a plain lookup, all lock-free: `match` and `countMatch` (a value
 * pattern over one key's entries), `select` and `countSelect` (a match specification over every
 * entry), `count`, `keys`, `values` and `dispatch`. Docs of the public calls: registry.ts.
 *
 * @module
 */
import { incSlot, isPid, makePid, pidInc, pidLocal } from '../domain/domain.js';
import { InvalidKeyError, InvalidOptionError, describe } from '../errors.js';
import { hashPid, partitionOf } from '../memory/hash.js';
import type { Table } from '../memory/table.js';
import type { RegistryCore } from './core.js';
import { lookup } from './lookups.js';
import { compileMatchSpec, compileValueMatcher, type Guard, type MatchSpec } from './pattern.js';
import type { Entry, Key, Pid } from '../types.js';

/** `registry.match(key, pattern, guards)`. */
export function match<V>(r: RegistryCore, key: Key, pattern: unknown, guards?: readonly Guard[]): Array<Entry<V>> {
  r.check();
  const test = compileValueMatcher(pattern, guards, 'match');
  return lookup<V>(r, key).filter((e) => test(e[1]));
}

/** `registry.countMatch(key, pattern, guards)`. */
export function countMatch(r: RegistryCore, key: Key, pattern: unknown, guards?: readonly Guard[]): number {
  r.check();
  const test = compileValueMatcher(pattern, guards, 'countMatch');
  let n = 0;
  for (const e of lookup(r, key)) if (test(e[1])) n++;
  return n;
}

/** `registry.select(spec)`. */
export function select(r: RegistryCore, spec: MatchSpec): unknown[] {
  r.check();
  const compiled = compileMatchSpec(spec, 'select');
  const out: unknown[] = [];
  for (const t of r.tables) {
    for (const e of t.scan(r.alive)) {
      const res = compiled.apply(e.key, makePid(e.inc, e.local), e.value);
      if (res.matched) out.push(res.result);
    }
  }
  return out;
}

/** `registry.countSelect(spec)`. */
export function countSelect(r: RegistryCore, spec: MatchSpec): number {
  r.check();
  const compiled = compileMatchSpec(spec, 'countSelect');
  let n = 0;
  for (const t of r.tables) for (const e of t.scan(r.alive)) if (compiled.test(e.key, makePid(e.inc, e.local), e.value)) n++;
  return n;
}

/** `registry.count()`. */
export function count(r: RegistryCore): number {
  r.check();
  let n = 0;
  for (const t of r.tables) n += t.live();
  return n;
}

/** `registry.keys(pid)`. */
export function keys(r: RegistryCore, pid: Pid): Key[] {
  r.check();
  if (typeof pid !== 'number') throw new InvalidKeyError(`${r.name}: expected a pid, got: ${describe(pid)}`);
  if (!isPid(pid)) return []; // a number no process ever had
  const inc = pidInc(pid);
  const local = pidLocal(pid);
  if (!r.domain.isAlive(inc)) return [];
  const tables = r.byPid && r.partitions > 1 ? [r.tables[partitionOf(hashPid(inc, local), r.partitions)] as Table] : r.tables;
  const out: Key[] = [];
  const slot = incSlot(inc);
  for (const t of tables) {
    if (t.ownerCount(slot) === 0) continue;
    for (const e of t.scan((i, l) => i === inc && l === local, false)) out.push(e.key);
  }
  return out;
}

/** `registry.values(key, pid)`. */
export function values<V>(r: RegistryCore, key: Key, pid: Pid): V[] {
  r.check();
  // As keys(pid): any number is a pid argument (one no process had finds nothing); anything else is not.
  if (typeof pid !== 'number') throw new InvalidKeyError(`${r.name}: expected a pid, got: ${describe(pid)}`);
  return lookup<V>(r, key).filter((e) => e[0] === pid).map((e) => e[1]);
}

/** `registry.dispatch(key, fn, opts)`. */
export function dispatch<V>(
  r: RegistryCore, key: Key, fn: (entries: Array<Entry<V>>) => unknown, opts?: { parallel?: boolean },
): void | Promise<void> {
  r.check();
  if (opts !== undefined && (typeof opts !== 'object' || opts === null)) {
    throw new InvalidOptionError(`expected dispatch options to be an object, got: ${describe(opts)}`);
  }
  const q = r.prep(key);
  const groups: Array<Array<Entry<V>>> = [];
  for (const t of r.tablesFor(q)) {
    const es = t.all(q, r.alive);
    if (es.length > 0) groups.push(es.map((e) => [makePid(e.inc, e.local), e.value as V]));
  }
  if (opts?.parallel === true) return Promise.all(groups.map(async (g) => fn(g))).then(() => undefined);
  for (const g of groups) fn(g);
  return undefined;
}
