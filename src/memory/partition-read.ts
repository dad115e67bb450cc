/**
 * The read side of a partition: the lock-free lookups, over the views of partition-view.ts. The write
 * side (table.ts) extends it. Protocol and layout: see table.ts and layout.ts.
 *
 * Readers take no lock. They load `epoch`, probe, copy what they need, and load `epoch` again; on change
 * they retry. Within one epoch a blob never changes, so nothing else needs validating. A reader can
 * see a half-rewritten bank only after the epoch moved, so everything it reads is bounds-checked and
 * thrown away on retry.
 *
 * @module
 */
import type { Domain } from '../domain/domain.js';
import { RosterError } from '../errors.js';
import {
  kBlobHeaderWords, kBlobKeyLen, kBlobKeyTag, kBlobOwnerInc, kBlobOwnerLocal, kBlobSerial, kEmpty, kHEpoch, kHModHi, kHModLo,
  kHLive, kHLock, kHUsed, kKeyBytes, kKeyString, kSlotHash, kSlotHashBits, kSlotWords, kTomb,
} from '../layout.js';
import { decodeKeyBytes, decodeSerialized } from './codec.js';
import { kTorn, Pending, PartitionView, stringFrom } from './partition-view.js';
import type { Key } from '../types.js';

/** A key prepared for probing: a string, or canonical bytes. Reused per registry instance. */
export interface KeyQuery {
  isString: boolean;
  str: string;
  bytes: Uint8Array;
  len: number;
  hash: number;
}

/** How `insert` treats an existing entry under the same key. */
export type InsertMode = 'unique' | 'duplicate' | 'upsert';

/** An entry read out of a table. */
export interface RawEntry {
  inc: number;
  local: number;
  serial: number;
  value: unknown;
}

/** Where a `find` found its entry: enough to re-validate it later with `still` (lookup cache). */
/** Where an entry was found, and the modification counter when it was last validated. */
export interface Place {
  readonly epoch: number;
  readonly slot: number;
  readonly off: number;
  /** `modHi` is -1 when unknown (a write was in progress). */
  modHi: number;
  modLo: number;
}

/** Where a `find` found its entry, and the entry: enough to re-validate it later with `still`. */
export interface Hit extends RawEntry, Place {
  epoch: number;
  slot: number;
  off: number;
}

/**
 * The row format of the lookup cache (lookup-cache.ts): a `Hit` packed into 8 words of an Int32Array,
 * so that a cached row is validated (`stillAt`) without a record object.
 */
export const kRowWords = 8;
export const kRowSlot = 0;
export const kRowOff = 1;
export const kRowEpoch = 2;
export const kRowModHi = 3;
export const kRowModLo = 4;
export const kRowInc = 5;
export const kRowLocal = 6;
export const kRowPartition = 7;

/** A thread's read-only view of one partition. Any thread. */
export class PartitionReader extends PartitionView {
  // ── Reads (lock-free) ────────────────────────────────────────────────────────────────────────

  protected keyEquals(off: number, q: KeyQuery): boolean {
    const i32 = this.i32;
    if (q.isString) {
      const s = q.str;
      const n = s.length;
      if (i32[off + kBlobKeyTag] !== kKeyString || i32[off + kBlobKeyLen] !== n) return false;
      const u16 = this.u16;
      const p = (off + kBlobHeaderWords) * 2;
      for (let i = 0; i < n; i++) if (u16[p + i] !== s.charCodeAt(i)) return false;
      return true;
    }
    const n = q.len;
    if (i32[off + kBlobKeyTag] !== kKeyBytes || i32[off + kBlobKeyLen] !== n) return false;
    const u8 = this.u8;
    const b = q.bytes;
    const p = (off + kBlobHeaderWords) * 4;
    for (let i = 0; i < n; i++) if (u8[p + i] !== b[i]) return false;
    return true;
  }

  /**
   * Runs `read` against a consistent bank: retries until the epoch is the same before and after.
   * Returns what `read` returned. Lock-free: a reader never waits for a writer.
   */
  protected consistent<T>(read: () => T): T {
    for (let stuck = 0; ; ) {
      // ORDER: acquire-load of epoch; the bank descriptors and blobs of that epoch were written before it.
      const e = Atomics.load(this.i32, kHEpoch);
      if (e !== this.epoch) this.sync(e);
      let out: T;
      try {
        out = read();
      } catch (err) {
        if (Atomics.load(this.i32, kHEpoch) !== e) continue;
        if (err !== kTorn) throw err;
        this.#stuck(++stuck);
        continue;
      }
      // ORDER: if the epoch did not move, no blob we read was rewritten.
      if (Atomics.load(this.i32, kHEpoch) === e) return out;
    }
  }

  /**
   * A read saw an impossible entry although the epoch did not move. Within one epoch blobs never change,
   * so that is a bug, not a race: refresh the views once (the buffer may have grown), then fail loudly
   * instead of spinning.
   */
  #stuck(times: number): void {
    if (times === 1) {
      this.views();
      return;
    }
    if (times > 3) throw new RosterError('ROSTER_ERR_CORRUPT', 'partition read found an inconsistent entry in a stable epoch');
  }

  /**
   * Finds the first live entry under `q` whose owner is alive in `domain` (any owner when null) and
   * fills `hit`. Returns false when there is none. Lock-free, allocation-free on the hot path; any thread.
   * Cost: one hash probe sequence, usually one slot and one blob cache line.
   */
  find(q: KeyQuery, domain: Domain | null, hit: Hit): boolean {
    for (let stuck = 0; ; ) {
      const i32 = this.i32;
      // ORDER: the modification counter is read before the probe (see `still`).
      const hi = Atomics.load(i32, kHModHi);
      const lo = Atomics.load(i32, kHModLo);
      const hi2 = Atomics.load(i32, kHModHi);
      // ORDER: acquire-load of epoch; the bank descriptors and blobs of that epoch were written before it.
      const e = Atomics.load(i32, kHEpoch);
      if (e !== this.epoch) this.sync(e);
      const r = this.#probe(q, domain, hit);
      // ORDER: if the epoch did not move, no blob we read was rewritten.
      if (Atomics.load(this.i32, kHEpoch) !== e) continue;
      if (r < 0) {
        this.#stuck(++stuck);
        continue;
      }
      if (r === 0) return false;
      hit.epoch = e;
      hit.modHi = hi === hi2 && (lo & 1) === 0 ? hi : -1;
      hit.modLo = lo;
      if (hit.value instanceof Pending) hit.value = decodeSerialized(hit.value.bytes);
      return true;
    }
  }

  /** One probe of the current bank: 1 found, 0 absent, -1 saw something torn (retry). */
  #probe(q: KeyQuery, domain: Domain | null, hit: Hit): number {
    const i32 = this.i32;
    const mask = this.mask;
    const base = this.base;
    const h = q.hash;
    const limit = i32.length - kBlobHeaderWords;
    for (let i = h & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
      const s = base + i * kSlotWords;
      if (s + kSlotHash >= i32.length) return -1;
      // ORDER: the slot's offset is the publish point of its blob.
      const off = Atomics.load(i32, s);
      if (off === kEmpty) return 0;
      if (off === kTomb || (((i32[s + kSlotHash] as number) ^ h) & kSlotHashBits) !== 0) continue;
      if (off > limit) return -1;
      if (!this.keyEquals(off, q)) continue;
      const inc = i32[off + kBlobOwnerInc] as number;
      if (domain !== null && !domain.isAlive(inc)) continue;
      const value = this.rawValue(off);
      if (value === kTorn) return -1;
      hit.slot = s;
      hit.off = off;
      hit.inc = inc;
      hit.local = i32[off + kBlobOwnerLocal] as number;
      hit.serial = i32[off + kBlobSerial] as number;
      hit.value = value;
      return 1;
    }
    return 0;
  }

  /**
   * True while the entry `find` returned is still published unchanged.
   *
   * Fast path, three loads of one header line: the modification counter is what it was when the hit
   * was validated, and even. Writers make it odd before their first slot or epoch store and even after
   * the last, so an unchanged even value means no slot changed since. Slow path, when anything in the
   * partition was written meanwhile: the same blob is still in the same slot in the same epoch (blobs
   * are immutable and never reused within an epoch); the hit then records the counter read before the
   * check, so the next call takes the fast path again.
   */
  still(hit: Place): boolean {
    const i32 = this.i32;
    const hi = Atomics.load(i32, kHModHi);
    const lo = Atomics.load(i32, kHModLo);
    const hi2 = Atomics.load(i32, kHModHi);
    if (hi === hit.modHi && lo === hit.modLo && hi2 === hi) return true;
    // ORDER: slot first, then epoch. The epoch only grows, and it was hit.epoch when the hit was made,
    // so if it still is hit.epoch now, it was hit.epoch at the slot load too: the slot word read belongs
    // to that epoch's bank, whose region is rewritten only after two more epochs begin.
    if (Atomics.load(i32, hit.slot) !== hit.off || Atomics.load(i32, kHEpoch) !== hit.epoch) return false;
    hit.modHi = hi === hi2 && (lo & 1) === 0 ? hi : -1;
    hit.modLo = lo;
    return true;
  }

  /**
   * `still` for a lookup-cache row (lookup-cache.ts): the same checks on the row's words at `b`. (KeyRef
   * keeps its place in its own fields instead of a row: one object fewer on its hot path, measured
   * 57 vs 76 ns per lookup.) When
   * the slow path validates the entry, the row records the counter read before the check.
   */
  stillAt(rows: Int32Array, b: number): boolean {
    const i32 = this.i32;
    const hi = Atomics.load(i32, kHModHi);
    const lo = Atomics.load(i32, kHModLo);
    const hi2 = Atomics.load(i32, kHModHi);
    if (hi === rows[b + kRowModHi] && lo === rows[b + kRowModLo] && hi2 === hi) return true;
    // ORDER: slot first, then epoch, as in `still`.
    if (Atomics.load(i32, rows[b + kRowSlot] as number) !== rows[b + kRowOff] || Atomics.load(i32, kHEpoch) !== rows[b + kRowEpoch]) {
      return false;
    }
    rows[b + kRowModHi] = hi === hi2 && (lo & 1) === 0 ? hi : -1;
    rows[b + kRowModLo] = lo;
    return true;
  }

  /** Every live entry under `q` whose owner `accept`s, in insertion order. Lock-free; any thread. */
  all(q: KeyQuery, accept: (inc: number) => boolean): RawEntry[] {
    const out = this.consistent(() => {
      const i32 = this.i32;
      const mask = this.mask;
      const base = this.base;
      const h = q.hash;
      const found: RawEntry[] = [];
      for (let i = h & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
        const s = base + i * kSlotWords;
        const off = Atomics.load(i32, s);
        if (off === kEmpty) break;
        if (off === kTomb || (((i32[s + kSlotHash] as number) ^ h) & kSlotHashBits) !== 0 || !this.keyEquals(off, q)) continue;
        const inc = i32[off + kBlobOwnerInc] as number;
        if (!accept(inc)) continue;
        const value = this.rawValue(off);
        if (value === kTorn) throw kTorn;
        found.push({ inc, local: i32[off + kBlobOwnerLocal] as number, serial: i32[off + kBlobSerial] as number, value });
      }
      return found;
    });
    // Insertion order, wrap-aware: the int32 serial wraps after 2^31 inserts into the partition, and
    // the difference read as int32 is exact while the entries compared span fewer than 2^31 inserts.
    if (out.length > 1) out.sort((a, b) => (a.serial - b.serial) | 0);
    for (const e of out) if (e.value instanceof Pending) e.value = decodeSerialized(e.value.bytes);
    return out;
  }

  /**
   * Every live entry in the partition whose owner `accept`s, with its key. Lock-free; any thread.
   * Cost: the whole table. No snapshot across partitions; within one partition the result is one epoch.
   */
  scan(accept: (inc: number, local: number) => boolean, withValues = true): Array<RawEntry & { key: Key }> {
    const raw = this.consistent(() => {
      const i32 = this.i32;
      const found: Array<{ e: RawEntry; keyTag: number; keyRaw: string | Uint8Array }> = [];
      for (let i = 0; i <= this.mask; i++) {
        const off = Atomics.load(i32, this.base + i * kSlotWords);
        if (off === kEmpty || off === kTomb) continue;
        const inc = i32[off + kBlobOwnerInc] as number;
        const local = i32[off + kBlobOwnerLocal] as number;
        if (!accept(inc, local)) continue;
        const tag = i32[off + kBlobKeyTag] as number;
        const len = i32[off + kBlobKeyLen] as number;
        const p = off + kBlobHeaderWords;
        if (len < 0 || p * 4 + (tag === kKeyString ? len * 2 : len) > this.u8.length) throw kTorn;
        const keyRaw = tag === kKeyString ? stringFrom(this.u16, p * 2, len) : this.u8.slice(p * 4, p * 4 + len);
        const serial = i32[off + kBlobSerial] as number;
        const value = withValues ? this.rawValue(off) : undefined;
        if (value === kTorn) throw kTorn;
        found.push({ e: { inc, local, serial, value }, keyTag: tag, keyRaw });
      }
      return found;
    });
    raw.sort((a, b) => (a.e.serial - b.e.serial) | 0); // wrap-aware, as in lookup
    return raw.map(({ e, keyTag, keyRaw }) => {
      if (e.value instanceof Pending) e.value = decodeSerialized(e.value.bytes);
      const key = keyTag === kKeyString ? (keyRaw as string) : decodeKeyBytes(keyRaw as Uint8Array, 0, keyRaw.length);
      return { ...e, key };
    });
  }

  /** Counters for invariant checks: live, used (live + tombstones), capacity, bytes. Any thread. */
  stats(): { live: number; used: number; capacity: number; bytes: number; epoch: number; lock: number } {
    return this.consistent(() => ({
      live: Atomics.load(this.i32, kHLive),
      used: Atomics.load(this.i32, kHUsed),
      capacity: this.mask + 1,
      bytes: this.sab.byteLength,
      epoch: this.epoch,
      lock: Atomics.load(this.i32, kHLock),
    }));
  }
}
