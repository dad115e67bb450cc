/**
 * One partition: an open-addressing hash table in a growable SharedArrayBuffer (layout in layout.ts).
 *
 * Folder `src/memory/` (layer 2; imports only domain): the partition buffer. A partition is a chain of
 * classes, each extending the one before: partition-view.ts (views, blob decoding), partition-read.ts
 * (lock-free reads), partition-lock.ts (the lock and its recovery), partition-rebuild.ts (growth and
 * compaction) and this module's `Table` (writes and sweeps). Beside them: the key and value codec
 * (codec.ts), hashing (hash.ts), the per-thread lookup cache (lookup-cache.ts) and the scratch buffer
 * for encodings (scratch.ts).
 *
 * ## Protocol
 * - **Entries are immutable blobs.** A write builds a new blob in the arena, then publishes it with one
 *   `Atomics.store` of its offset into a slot. Removal stores `kTomb` (or `kEmpty` at a chain's end).
 *   A slot therefore only ever shows its before- or after-image, even if the writer dies mid-write.
 * - **Readers take no lock.** They load `epoch`, probe, copy what they need, and load `epoch` again; on
 *   change they retry. Within one epoch a blob never changes, so nothing else needs validating.
 * - **Writers** serialize on the lock word, which holds the writer's incarnation (never 0). They never
 *   run user code while holding it.
 * - **Growth and compaction** rebuild the live entries into the other bank while holding the lock,
 *   then publish it by storing `epoch + 1`. Readers of the old bank notice the epoch change and retry;
 *   the old bank is rewritten only by the next rebuild, an epoch later.
 *
 * @module
 */
import { CapacityError } from '../errors.js';
import {
  kBlobHash, kBlobHeaderWords, kBlobKeyLen, kBlobKeyTag,
  kBlobOwnerInc, kBlobOwnerLocal, kBlobSerial, kBlobValLen, kBlobValTag, kEmpty, kHArenaTop, kHBankBase,
  kHIntentNew, kHIntentOld, kHIntentOp, kHIntentSlot, kHKind, kHLive, kHLiveWords,
  kHMagic, kHOwners, kHSerial, kHUsed, kHVersion, kHeaderWords, kKeyBytes, kKeyString, kLayoutVersion, kMaxThreads,
  kOpPublish, kOpRemove, kPartitionMagic, kSlotHash, kSlotHashBits, kSlotOwnerShift, kSlotWords, kTomb, kValFloat, kValString,
  initialPartitionSize, kBankArena, kBankBase, kBankCap,
} from '../layout.js';
import { decodeKeyBytes, type EncodedValue } from './codec.js';
import { crashHook, kOwnerMask } from './partition-lock.js';
import type { KeyQuery } from './partition-read.js';
import { PartitionRebuild } from './partition-rebuild.js';
import { stringFrom } from './partition-view.js';

/** Words a blob for key `q` and value `v` takes: header, key and value data, each 8-byte aligned. */
function blobSize(q: KeyQuery, v: EncodedValue): number {
  const keyBytes = q.isString ? q.str.length * 2 : q.len;
  return kBlobHeaderWords + ((keyBytes + 7) >> 3) * 2 + ((v.dataBytes + 7) >> 3) * 2;
}

/** Pass as `inc` to `remove` to remove entries whoever owns them (metadata). */
export const kAnyOwner = -1;
import type { Key } from '../types.js';

export type { KeyQuery, RawEntry, Hit } from './partition-read.js';
export { setCrashHook } from './partition-lock.js';

/**
 * How `insert` treats an existing entry under the same key: `unique` keeps an entry of an Alive owner
 * and replaces any other; `lock` (for `lock()`) keeps it until its owner is known to have stopped, so
 * a fenced holder that may still run keeps its lock; `upsert` replaces whoever owns it (metadata);
 * `duplicate` always adds.
 */
export type InsertMode = 'unique' | 'lock' | 'duplicate' | 'upsert';


/** Creates the buffer of a new, empty partition. Any thread. */
export function allocatePartition(initialCap: number, maxBytes: number, kind: number): SharedArrayBuffer {
  const { cap, arena, words } = initialPartitionSize(initialCap);
  if (words * 4 > maxBytes) throw new CapacityError(`initial partition size ${words * 4} exceeds maxPartitionBytes`);
  const sab = new SharedArrayBuffer(words * 4, { maxByteLength: maxBytes });
  const i32 = new Int32Array(sab);
  i32[kHMagic] = kPartitionMagic;
  i32[kHVersion] = kLayoutVersion;
  i32[kHKind] = kind;
  i32[kHBankBase + kBankBase] = kHeaderWords;
  i32[kHBankBase + kBankCap] = cap;
  i32[kHBankBase + kBankArena] = arena;
  // Bank 1 has no region yet; the first rebuild places it at the end of the buffer.
  return sab;
}

/** A thread's read-write view of one partition. Readers: any thread. Writers: threads with an incarnation. */
export class Table extends PartitionRebuild {
  // ── Writes (under the partition lock) ─────────────────────────────────────────────────────────

  /**
   * Inserts an entry owned by (`inc`, `local`). With `unique`, an existing entry under the key owned by
   * a live process wins: its owner is returned and nothing is written. An entry of a dead owner is
   * replaced at once (no waiting for the sweep). With `upsert`, an existing entry is replaced whoever
   * owns it (metadata). Returns null on success.
   */
  insert(q: KeyQuery, v: EncodedValue, inc: number, local: number, mode: InsertMode): { inc: number; local: number } | null {
    const unique = mode !== 'duplicate';
    const me = this.begin();
    try {
      const words = blobSize(q, v);
      for (;;) {
        const i32 = this.i32; // a rebuild below may replace the views
        let target = -1;
        let replace = -1;
        for (let i = q.hash & this.mask, n = 0; n <= this.mask; i = (i + 1) & this.mask, n++) {
          const s = this.base + i * kSlotWords;
          const off = i32[s] as number;
          if (off === kEmpty) {
            if (target < 0) target = s;
            break;
          }
          if (off === kTomb) {
            if (target < 0) target = s;
            if (!unique) break;
            continue;
          }
          if (!unique || (((i32[s + kSlotHash] as number) ^ q.hash) & kSlotHashBits) !== 0 || !this.keyEquals(off, q)) continue;
          const holder = i32[off + kBlobOwnerInc] as number;
          if (mode === 'unique' ? this.domain.isAlive(holder) : mode === 'lock' && !this.domain.isStopped(holder)) {
            return { inc: holder, local: i32[off + kBlobOwnerLocal] as number };
          }
          replace = s;
          break;
        }
        // A refused insert returned above, before making room: a refusal changes nothing.
        if (this.needsRoom(words)) {
          this.makeRoom(words);
          continue; // the table moved: probe again
        }
        if (replace >= 0) target = replace;
        if (target < 0) throw new CapacityError('partition table is full'); // unreachable: makeRoom keeps load ≤ 50%
        const blob = this.#writeBlob(q, v, inc, local, words);
        this.#publish(target, q.hash, blob, replace >= 0 ? this.blobWords(i32[target] as number) : -1);
        return null;
      }
    } finally {
      this.end(me);
    }
  }

  /** Writes a blob at the arena top and returns its offset. Not yet visible to anyone. */
  #writeBlob(q: KeyQuery, v: EncodedValue, inc: number, local: number, words: number): number {
    const i32 = this.i32;
    const top = i32[kHArenaTop] as number;
    const off = this.arenaBase + top;
    i32[kHArenaTop] = top + words;
    const serial = (i32[kHSerial] as number) + 1;
    i32[kHSerial] = serial;
    i32[off + kBlobHash] = q.hash;
    i32[off + kBlobOwnerInc] = inc;
    i32[off + kBlobOwnerLocal] = local;
    i32[off + kBlobSerial] = serial;
    i32[off + kBlobValTag] = v.tag;
    i32[off + kBlobValLen] = v.len;
    if (q.isString) {
      const s = q.str;
      i32[off + kBlobKeyTag] = kKeyString;
      i32[off + kBlobKeyLen] = s.length;
      const p = (off + kBlobHeaderWords) * 2;
      for (let i = 0; i < s.length; i++) this.u16[p + i] = s.charCodeAt(i);
    } else {
      i32[off + kBlobKeyTag] = kKeyBytes;
      i32[off + kBlobKeyLen] = q.len;
      this.u8.set(q.bytes.subarray(0, q.len), (off + kBlobHeaderWords) * 4);
    }
    if (v.dataBytes > 0) {
      const vs = this.valStart(off);
      if (v.tag === kValFloat) this.f64[vs >> 1] = v.num;
      else if (v.tag === kValString) {
        const p = vs * 2;
        for (let i = 0; i < v.str.length; i++) this.u16[p + i] = v.str.charCodeAt(i);
      } else if (v.bytes !== null) this.u8.set(v.bytes, vs * 4);
    }
    return off;
  }

  /** Publishes `blob` in slot word `s` (replacing a blob of `oldWords` words, or an empty/tomb slot). */
  #publish(s: number, hash: number, blob: number, oldWords: number): void {
    const i32 = this.i32;
    const old = i32[s] as number;
    // ORDER: counters, intent and the slot's hash are plain stores. The lock orders them for the next
    // writer (its CAS acquires after our release); readers only ever act on a slot's offset, which is
    // an Atomics.store, so everything stored before it is visible to whoever loads it.
    // The intent is recorded before the slot changes, for a recoverer if we die here.
    i32[kHIntentSlot] = s;
    i32[kHIntentOld] = old;
    i32[kHIntentNew] = blob;
    i32[kHIntentOp] = kOpPublish;
    if (crashHook !== null) crashHook('intent');
    this.modBegin();
    i32[s + kSlotHash] = (hash & kSlotHashBits) | (((i32[blob + kBlobOwnerInc] as number) & kOwnerMask) << kSlotOwnerShift);
    if (crashHook !== null) crashHook('slot-hash');
    // ORDER: release-store of the offset publishes the blob written above.
    Atomics.store(i32, s, blob);
    if (crashHook !== null) crashHook('published');
    const size = this.blobWords(blob);
    const owner = kHOwners + ((i32[blob + kBlobOwnerInc] as number) & kOwnerMask);
    i32[owner] = (i32[owner] as number) + 1;
    if (oldWords >= 0) {
      const was = kHOwners + ((i32[old + kBlobOwnerInc] as number) & kOwnerMask);
      i32[was] = (i32[was] as number) - 1;
      i32[kHLiveWords] = (i32[kHLiveWords] as number) - oldWords + size;
    } else {
      i32[kHLive] = (i32[kHLive] as number) + 1;
      if (old === kEmpty) i32[kHUsed] = (i32[kHUsed] as number) + 1;
      i32[kHLiveWords] = (i32[kHLiveWords] as number) + size;
    }
  }

  /**
   * Removes the live entries under `q` owned by (`inc`, `local`) — or by anyone when `inc` is
   * kAnyOwner — and, when `serials` is given, only those with these serials. Returns how many went.
   * Under the lock; cost: one probe sequence.
   */
  remove(q: KeyQuery, inc: number, local: number, serials: ReadonlySet<number> | null = null): number {
    const me = this.begin();
    try {
      const i32 = this.i32;
      const mask = this.mask;
      let removed = 0;
      for (let i = q.hash & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
        const s = this.base + i * kSlotWords;
        const off = i32[s] as number;
        if (off === kEmpty) break;
        if (off === kTomb || (((i32[s + kSlotHash] as number) ^ q.hash) & kSlotHashBits) !== 0) continue;
        // The owner first: under a key with many entries (a topic), comparing two words is cheaper
        // than comparing the key.
        if (inc !== kAnyOwner && (i32[off + kBlobOwnerInc] !== inc || i32[off + kBlobOwnerLocal] !== local)) continue;
        if (!this.keyEquals(off, q)) continue;
        if (serials !== null && !serials.has(i32[off + kBlobSerial] as number)) continue;
        this.#unpublish(i, off);
        removed++;
        if ((i32[s] as number) === kEmpty) break; // the chain ended here
      }
      if (removed > 0) this.changed();
      return removed;
    } finally {
      this.end(me);
    }
  }

  /**
   * Removes every entry whose owner `gone` reports stopped: by one rebuild into the other bank that
   * leaves them out (readers see them all go at once), or, when the buffer has no room for that
   * rebuild, in place (each becomes a tombstone, or empty where its chain ends), which needs no new
   * space, so a sweep works even in a partition at `maxPartitionBytes`. Tombstones are compacted away
   * when there is room. With `slots`, only entries tagged with those thread slots are looked at (and a partition
   * where none of them has entries is skipped: decided under the lock, so a concurrent recount cannot
   * mislead it). Returns the removed entries (keys only when `collect`), or null without waiting when
   * the lock is busy: the caller retries later. Called by the coordinator.
   */
  sweep(gone: (inc: number) => boolean, collect: boolean, slots: readonly number[] | null): Array<{ inc: number; local: number; key: Key }> | null {
    const me = this.tryBegin();
    if (me === 0) return null;
    const out: Array<{ inc: number; local: number; key: Key }> = [];
    try {
      const i32 = this.i32;
      const clean = (i32[kHUsed] as number) === (i32[kHLive] as number);
      if (slots !== null && clean && slots.every((slot) => this.ownerCount(slot) === 0)) return out;
      let pick: Uint8Array | null = null;
      if (slots !== null) {
        pick = new Uint8Array(kMaxThreads);
        for (const slot of slots) pick[slot] = 1;
      }
      let lastInc = 0;
      let lastGone = false;
      // With `slots`, every entry tagged with one of them is gone: those slots are Dead, and a slot's
      // earlier incarnations have all stopped, so the tag decides without reading the blob.
      const isGone = (tag: number, off: number): boolean => {
        if (pick !== null) return pick[tag >>> kSlotOwnerShift] === 1;
        const inc = i32[off + kBlobOwnerInc] as number;
        if (inc !== lastInc) {
          lastInc = inc;
          lastGone = inc !== 0 && gone(inc);
        }
        return lastGone;
      };
      let removed = 0;
      if (!collect && slots !== null) {
        // Without keys to collect, the per-owner counts (exact under the lock) say whether any went.
        for (const slot of slots) removed += this.ownerCount(slot);
      } else {
        for (let i = 0; i <= this.mask; i++) {
          const s = this.base + i * kSlotWords;
          const off = i32[s] as number;
          if (off === kEmpty || off === kTomb) continue;
          const tag = i32[s + kSlotHash] as number;
          if (pick !== null && pick[tag >>> kSlotOwnerShift] !== 1) continue; // no blob read for others
          if (!isGone(tag, off)) continue;
          const inc = i32[off + kBlobOwnerInc] as number;
          if (collect) out.push({ inc, local: i32[off + kBlobOwnerLocal] as number, key: this.#keyOf(off) });
          removed++;
        }
      }
      if (removed > 0) {
        // One rebuild drops them all at once; with no room for one, they are removed in place.
        try {
          const { cap, arena } = this.#sweptSize(removed, isGone);
          this.rebuild(cap, arena, isGone);
        } catch (err) {
          if (!(err instanceof CapacityError)) throw err;
          this.#removeInPlace(isGone);
        }
      }
      if ((i32[kHUsed] as number) > (i32[kHLive] as number)) this.compact();
      if (removed > 0) this.changed();
    } finally {
      this.end(me);
    }
    return out;
  }

  /**
   * The bank size for a sweep's rebuild. Dropping most entries, it fits what stays (counted exactly:
   * the kept blobs' sizes are read), so it reuses the other bank's region instead of growing the
   * buffer and clearing a full-size slot array; dropping fewer, it keeps the current size.
   */
  #sweptSize(removed: number, drop: (tag: number, off: number) => boolean): { cap: number; arena: number } {
    const i32 = this.i32;
    if (removed * 2 < (i32[kHLive] as number)) return { cap: this.mask + 1, arena: this.arenaWords };
    let live = 0;
    let words = 0;
    for (let i = 0; i <= this.mask; i++) {
      const s = this.base + i * kSlotWords;
      const off = i32[s] as number;
      if (off === kEmpty || off === kTomb || drop(i32[s + kSlotHash] as number, off)) continue;
      live++;
      words += this.blobWords(off);
    }
    return this.sizeFor(0, 0, live, words);
  }

  /** Removes every entry `drop` names, slot by slot (tombstones, or empties where a chain ends): no new space. */
  #removeInPlace(drop: (tag: number, off: number) => boolean): void {
    const i32 = this.i32;
    for (let i = 0; i <= this.mask; i++) {
      const s = this.base + i * kSlotWords;
      const off = i32[s] as number;
      if (off === kEmpty || off === kTomb) continue;
      // Only slots at or before i change (a tombstone run ending in an empty slot is freed backwards).
      if (drop(i32[s + kSlotHash] as number, off)) this.#unpublish(i, off);
    }
  }

  /** The key of the blob at `off`. */
  #keyOf(off: number): Key {
    const i32 = this.i32;
    const len = i32[off + kBlobKeyLen] as number;
    const p = off + kBlobHeaderWords;
    return (i32[off + kBlobKeyTag] as number) === kKeyString ? stringFrom(this.u16, p * 2, len) : decodeKeyBytes(this.u8.slice(p * 4, p * 4 + len), 0, len);
  }

  /** Turns slot `i` (holding blob `off`) into a tombstone, or empty when its chain ends after it. */
  #unpublish(i: number, off: number): void {
    const i32 = this.i32;
    const s = this.base + i * kSlotWords;
    const size = this.blobWords(off);
    i32[kHIntentSlot] = s;
    i32[kHIntentOld] = off;
    i32[kHIntentNew] = kTomb;
    i32[kHIntentOp] = kOpRemove;
    if (crashHook !== null) crashHook('intent');
    this.modBegin();
    // ORDER: one store retracts the entry; readers see it or not, never half.
    Atomics.store(i32, s, kTomb);
    if (crashHook !== null) crashHook('unpublished');
    const owner = kHOwners + ((i32[off + kBlobOwnerInc] as number) & kOwnerMask);
    i32[owner] = (i32[owner] as number) - 1;
    i32[kHLive] = (i32[kHLive] as number) - 1;
    i32[kHLiveWords] = (i32[kHLiveWords] as number) - size;
    // A tombstone followed by an empty slot ends no chain that passes it: free it, and the ones before.
    let j = i;
    while ((i32[this.base + ((j + 1) & this.mask) * kSlotWords] as number) === kEmpty) {
      const sj = this.base + j * kSlotWords;
      if ((i32[sj] as number) !== kTomb) break;
      Atomics.store(i32, sj, kEmpty);
      i32[kHUsed] = (i32[kHUsed] as number) - 1;
      j = (j - 1) & this.mask;
      if (j === i) break;
    }
  }

  /**
   * Replaces the value of the entry under `q` owned by (`inc`, `local`) with serial `serial`.
   * Returns false (and writes nothing) if that exact entry is gone.
   */
  replace(q: KeyQuery, v: EncodedValue, inc: number, local: number, serial: number): boolean {
    const me = this.begin();
    try {
      const words = blobSize(q, v);
      if (this.needsRoom(words)) this.makeRoom(words);
      const i32 = this.i32;
      for (let i = q.hash & this.mask, n = 0; n <= this.mask; i = (i + 1) & this.mask, n++) {
        const s = this.base + i * kSlotWords;
        const off = i32[s] as number;
        if (off === kEmpty) return false;
        if (off === kTomb || (((i32[s + kSlotHash] as number) ^ q.hash) & kSlotHashBits) !== 0 || !this.keyEquals(off, q)) continue;
        if (i32[off + kBlobOwnerInc] !== inc || i32[off + kBlobOwnerLocal] !== local || i32[off + kBlobSerial] !== serial) continue;
        const blob = this.#writeBlob(q, v, inc, local, words);
        this.#publish(s, q.hash, blob, this.blobWords(off));
        return true;
      }
      return false;
    } finally {
      this.end(me);
    }
  }
}
