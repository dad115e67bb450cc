/**
 * The sweep of one registry, the coordinator's side of it (reached through `sweepRegistry` in
 * registry.ts): removes the entries of stopped owners from every table and recovers locks left by
 * stopped writers, then tells listeners. Never blocks: a busy table is left for the next round.
 *
 * @module
 */
import { incSlot, makePid, type DeadThread } from '../domain/domain.js';
import { UnknownRegistryError } from '../errors.js';
import { kCClosed } from '../layout.js';
import type { RegistryCore } from './core.js';

/** The sweep (see `sweepRegistry`). Coordinator thread. */
export function sweepDead(r: RegistryCore, dead: readonly DeadThread[] | null): boolean {
  if (Atomics.load(r.control, kCClosed) !== 0) throw new UnknownRegistryError(`unknown registry: ${r.name} (it was closed)`);
  const domain = r.domain;
  const gone = (inc: number): boolean => domain.isStopped(inc) && !domain.isAlive(inc);
  const slots = dead === null ? null : dead.map((d) => incSlot(d.inc));
  const listeners = r.hasListeners();
  let complete = true;
  for (const t of [...r.tables, r.meta, r.locks]) {
    if (t === r.meta) {
      // Metadata has no owner to die; only a lock left by a stopped writer needs recovering.
      const owner = t.lockOwner();
      if (owner !== 0) t.recover(owner);
      continue;
    }
    const removed = t.sweep(gone, listeners && t !== r.locks, slots);
    if (removed === null) {
      // Busy: done anyway if none of the dead threads has entries here; else try again later.
      if (slots === null || !t.quietFor(slots)) complete = false;
      continue;
    }
    for (const g of removed) r.emit({ type: 'unregister', registry: r.name, key: g.key, pid: makePid(g.inc, g.local) });
  }
  if (complete && listeners && dead !== null) {
    for (const d of dead) r.emit({ type: 'down', registry: r.name, pid: makePid(d.inc, 0), reason: d.reason });
  }
  return complete;
}
