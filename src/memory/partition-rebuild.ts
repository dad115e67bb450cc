/**
 * Growth and compaction of a partition: sizing a bank for the live entries, and rebuilding them into
 * the other bank under the lock, then switching to it with one store of `epoch + 1`. Readers of the old
 * bank notice the epoch change and retry; the old bank is rewritten only by the next rebuild, an epoch
 * later. The writes (table.ts) extend this. Protocol: see table.ts.
 *
 * @module
 */
import { CapacityError } from '../errors.js';
import {
  kMinArenaWords, kBankArena, kBankBase, kBankCap, kBankDescWords, kBlobHash, kBlobOwnerInc, kEmpty, kHArenaTop, kHBankBase,
  kHCompactions, kHEpoch, kHGrowths, kHIntentOld, kHIntentOp, kHLive, kHLiveWords, kHOwners, kHUsed, kMaxLoad, kMaxThreads, kOpCompact, kSlotHash, kSlotWords, kTomb,
} from '../layout.js';
import { crashHook, kOwnerMask, PartitionLock } from './partition-lock.js';

/** A partition's growth and compaction. Extended by `Table` (table.ts). Under the partition lock. */
export class PartitionRebuild extends PartitionLock {
  /** Rebuilds to fit the live entries, dropping tombstones, if the buffer has room; else keeps them. */
  protected compact(): void {
    try {
      const { cap, arena } = this.sizeFor(0, 0);
      this.rebuild(Math.max(cap, Math.min(this.mask + 1, cap * 4)), Math.max(arena, Math.min(this.arenaWords, arena * 4)));
    } catch (err) {
      if (!(err instanceof CapacityError)) throw err;
    }
  }

  /** True if one more slot and a blob of `words` words do not fit without a rebuild. */
  protected needsRoom(words: number): boolean {
    const i32 = this.i32;
    return (i32[kHUsed] as number) + 1 > (this.mask + 1) * kMaxLoad || (i32[kHArenaTop] as number) + words > this.arenaWords;
  }

  /** Makes room for one more slot and a blob of `words` words by rebuilding into the other bank. */
  protected makeRoom(words: number): void {
    const { cap, arena } = this.sizeFor(1, words);
    this.rebuild(cap, arena);
  }

  /**
   * The bank size for the live entries plus `entries` more taking `words` words: load ≤ 25% and the
   * arena at most half full after the rebuild. Sized from the live data, not from the current bank, so
   * a partition that was emptied shrinks back (and fits a smaller old region) instead of asking for
   * another full-size one.
   */
  protected sizeFor(entries: number, words: number, live = this.i32[kHLive] as number, liveWords = this.i32[kHLiveWords] as number): { cap: number; arena: number } {
    let cap = 8;
    while ((live + entries) * 4 > cap) cap *= 2;
    let arena = kMinArenaWords;
    while ((liveWords + words) * 2 > arena) arena *= 2;
    return { cap, arena };
  }

  /**
   * Copies every live entry (less those `drop` names by slot tag and blob) into the other bank
   * (placing it anew if too small), then switches to it.
   */
  protected rebuild(cap: number, arenaWords: number, drop: ((tag: number, off: number) => boolean) | null = null): void {
    // Another writer may have grown the buffer without switching epochs (it died at 'rebuild-switch'):
    // its region for the other bank can lie past this thread's views.
    if (this.sab.byteLength !== this.u8.length) this.views();
    const epoch = this.epoch;
    const d = kHBankBase + ((epoch + 1) & 1) * kBankDescWords;
    let i32 = this.i32;
    const need = cap * kSlotWords + arenaWords;
    const oldBase = i32[d + kBankBase] as number;
    const oldSize = oldBase === 0 ? 0 : (i32[d + kBankCap] as number) * kSlotWords + (i32[d + kBankArena] as number);
    let base = oldBase;
    if (oldBase === 0 || oldSize < need) {
      base = (this.sab.byteLength >> 2) + 15 & ~15;
      const bytes = (base + need) * 4;
      if (bytes > this.sab.maxByteLength) {
        throw new CapacityError(`partition would grow to ${bytes} bytes, past maxPartitionBytes (${this.sab.maxByteLength})`);
      }
      this.sab.grow(bytes);
      this.views();
      i32 = this.i32;
    }
    i32[kHIntentOld] = epoch;
    i32[kHIntentOp] = kOpCompact;
    const mask = cap - 1;
    const arenaBase = base + cap * kSlotWords;
    i32.fill(kEmpty, base, arenaBase);
    let top = 0;
    let live = 0;
    const owners = new Int32Array(kMaxThreads);
    for (let i = 0; i <= this.mask; i++) {
      const s = this.base + i * kSlotWords;
      const off = i32[s] as number;
      if (off === kEmpty || off === kTomb) continue;
      const tag = i32[s + kSlotHash] as number;
      if (drop !== null && drop(tag, off)) continue;
      const inc = i32[off + kBlobOwnerInc] as number;
      owners[inc & kOwnerMask] = (owners[inc & kOwnerMask] as number) + 1;
      const size = this.blobWords(off);
      const to = arenaBase + top;
      i32.copyWithin(to, off, off + size);
      top += size;
      live++;
      // The index needs the full hash (the slot word keeps only 22 bits of it): it is in the blob.
      let j = (i32[off + kBlobHash] as number) & mask;
      while (i32[base + j * kSlotWords] !== kEmpty) j = (j + 1) & mask;
      i32[base + j * kSlotWords + kSlotHash] = tag;
      i32[base + j * kSlotWords] = to;
      if (crashHook !== null && live === 1) crashHook('rebuild-copy');
    }
    i32[d + kBankBase] = base;
    i32[d + kBankCap] = cap;
    i32[d + kBankArena] = arenaWords;
    if (crashHook !== null) crashHook('rebuild-switch');
    this.modBegin();
    // ORDER: the epoch store publishes the new bank; everything above happens-before a reader's load.
    Atomics.store(i32, kHEpoch, epoch + 1);
    // ORDER: statistics only (the observer reads them); no reader depends on them.
    Atomics.add(i32, cap > this.mask + 1 || arenaWords > this.arenaWords ? kHGrowths : kHCompactions, 1);
    // INVARIANT: the counters move only after the switch. A writer dying before it leaves them
    // describing the old bank; after it, the old arena top (≥ the compacted one) is kept, so recovery
    // never lowers the arena top below a blob a reader may still be copying.
    i32[kHLive] = live;
    i32[kHUsed] = live;
    i32[kHArenaTop] = top;
    i32[kHLiveWords] = top;
    i32.set(owners, kHOwners);
    this.sync(epoch + 1);
  }
}
