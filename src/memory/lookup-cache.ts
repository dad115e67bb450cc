/**
 * The per-thread lookup cache of a unique registry: where each recently found key's entry lives, so a
 * repeated `lookup` / `whereis` skips hashing and probing.
 *
 * Layout (struct of arrays, so a hit touches one Map bucket and one 32-byte row, no record object):
 * ```
 *  map:    key → row (a small integer)
 *  rows:   Int32Array, 8 words per row: slot, off, epoch, modHi, modLo, owner inc, owner local, partition
 *  values: the entry's value per row (primitives only: an object value is never cached, so callers
 *          never share one)
 *  keys:   the key per row (for FIFO eviction: rows are reused round-robin once the cache is full)
 * ```
 * The row format (`kRow*`) belongs to partition-read.ts, which validates rows; this module fills them.
 * A row is only a hint: every hit is re-validated against shared memory (`PartitionReader.stillAt`)
 * and the owner's liveness, so a cached answer is never stale.
 *
 * Threads: one instance per registry instance, used by the thread that owns it. Memory: 32 bytes + a
 * Map entry + the key reference per cached key, up to `limit` keys.
 *
 * @module
 */
import { kRowEpoch, kRowInc, kRowLocal, kRowModHi, kRowModLo, kRowOff, kRowPartition, kRowSlot, kRowWords, type Hit } from './partition-read.js';

export { kRowInc, kRowLocal, kRowPartition, kRowWords } from './partition-read.js';

export class LookupCache {
  readonly map = new Map<string | number, number>();
  rows = new Int32Array(64 * kRowWords);
  values: unknown[] = [];
  readonly #keys: Array<string | number | undefined> = [];
  readonly #limit: number;
  #next = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Stores `hit` (found in partition `p`) for `key`; reuses the oldest row once full. */
  put(key: string | number, p: number, hit: Hit): void {
    let row: number;
    if (this.#keys.length < this.#limit) {
      row = this.#keys.length;
      this.#keys.push(key);
      if ((row + 1) * kRowWords > this.rows.length) {
        const bigger = new Int32Array(Math.min(this.rows.length * 2, this.#limit * kRowWords));
        bigger.set(this.rows);
        this.rows = bigger;
      }
    } else {
      row = this.#next;
      this.#next = (row + 1) % this.#limit;
      const old = this.#keys[row];
      if (old !== undefined && this.map.get(old) === row) this.map.delete(old);
      this.#keys[row] = key;
    }
    this.map.set(key, row);
    this.write(row, p, hit);
  }

  /** Overwrites row `row` with `hit` (a refreshed entry). */
  write(row: number, p: number, hit: Hit): void {
    const r = this.rows;
    const b = row * kRowWords;
    r[b + kRowSlot] = hit.slot;
    r[b + kRowOff] = hit.off;
    r[b + kRowEpoch] = hit.epoch;
    r[b + kRowModHi] = hit.modHi;
    r[b + kRowModLo] = hit.modLo;
    r[b + kRowInc] = hit.inc;
    r[b + kRowLocal] = hit.local;
    r[b + kRowPartition] = p;
    this.values[row] = hit.value;
  }

  /** Forgets `key`. */
  drop(key: string | number): void {
    const row = this.map.get(key);
    if (row === undefined) return;
    this.map.delete(key);
    this.#keys[row] = undefined;
  }
}
