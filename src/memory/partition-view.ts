/**
 * A thread's views over one partition's buffer, and how a blob's words decode: the base of every
 * partition class. The lock-free lookups (partition-read.ts) extend it; layout in layout.ts.
 *
 * The views are fixed-length and are replaced when the buffer grows (`views`); `sync` adopts the bank
 * of an epoch. Everything here only reads: a caller that reads without the lock validates the epoch
 * around it (`PartitionReader.consistent`), and a value that cannot be what a blob holds comes back
 * as `kTorn` instead of being trusted.
 *
 * @module
 */
import type { Domain } from '../domain/domain.js';
import {
  kBankArena, kBankBase, kBankCap, kBankDescWords, kBlobHeaderWords, kBlobKeyLen, kBlobKeyTag, kBlobValLen, kBlobValTag,
  kHBankBase, kHChange, kHChangeWaiters, kHEpoch, kHOwners, kHLive, kHeaderWords, kKeyString, kSlotWords,
  kValFalse, kValFloat, kValInt, kValNull, kValSerialized, kValString, kValTrue,
} from '../layout.js';

/** A serialized value copied out of shared memory, decoded only after the read validated. */
export class Pending {
  constructor(readonly bytes: Uint8Array) {}
}

/** Thrown inside a read when what it saw cannot be a consistent bank; the read retries. */
export const kTorn: unique symbol = Symbol('torn');

/** A thread's views of one partition's buffer. Any thread. */
export class PartitionView {
  readonly sab: SharedArrayBuffer;
  protected readonly domain: Domain;
  protected i32!: Int32Array;
  protected u16!: Uint16Array;
  protected u8!: Uint8Array;
  protected f64!: Float64Array;
  protected epoch = -1;
  protected base = 0;
  protected mask = 0;
  protected arenaBase = 0;
  protected arenaWords = 0;

  constructor(sab: SharedArrayBuffer, domain: Domain) {
    this.sab = sab;
    this.domain = domain;
    this.views();
    this.sync(Atomics.load(this.i32, kHEpoch));
  }

  protected views(): void {
    // Fixed-length views: V8 reads them several times faster than length-tracking ones.
    const bytes = this.sab.byteLength;
    this.i32 = new Int32Array(this.sab, 0, bytes >> 2);
    this.u16 = new Uint16Array(this.sab, 0, bytes >> 1);
    this.u8 = new Uint8Array(this.sab, 0, bytes);
    this.f64 = new Float64Array(this.sab, 0, bytes >> 3);
  }

  /** Adopts the bank of `epoch`. The caller validates the epoch again after reading. */
  protected sync(epoch: number): void {
    if (this.sab.byteLength !== this.u8.length) this.views();
    const d = kHBankBase + (epoch & 1) * kBankDescWords;
    const i32 = this.i32;
    const cap = i32[d + kBankCap] as number;
    this.base = i32[d + kBankBase] as number;
    this.mask = cap - 1;
    this.arenaBase = this.base + cap * kSlotWords;
    this.arenaWords = i32[d + kBankArena] as number;
    this.epoch = epoch;
  }

  /** Entries owned by thread slot `slot` (any incarnation that used it and was not yet swept). */
  ownerCount(slot: number): number {
    return Atomics.load(this.i32, kHOwners + slot);
  }

  /** Number of live entries (including those of dead owners not yet swept). One atomic load. */
  live(): number {
    return Atomics.load(this.i32, kHLive);
  }

  /** Word offset of a blob's value data. */
  protected valStart(off: number): number {
    const i32 = this.i32;
    const keyBytes = i32[off + kBlobKeyTag] === kKeyString ? (i32[off + kBlobKeyLen] as number) * 2 : (i32[off + kBlobKeyLen] as number);
    return off + kBlobHeaderWords + ((keyBytes + 7) >> 3) * 2;
  }

  /** Copies a blob's value out. Serialized values come back as `Pending` bytes. */
  protected rawValue(off: number): unknown {
    const i32 = this.i32;
    const len = i32[off + kBlobValLen] as number;
    switch (i32[off + kBlobValTag]) {
      case kValInt:
        return len;
      case kValNull:
        return null;
      case kValTrue:
        return true;
      case kValFalse:
        return false;
      case kValFloat:
        return this.f64[this.valStart(off) >> 1];
      case kValString: {
        const p = this.valStart(off) * 2;
        if (len < 0 || p + len > this.u16.length) return kTorn;
        return len <= 64
          ? String.fromCharCode.apply(null, this.u16.subarray(p, p + len) as unknown as number[])
          : Buffer.from(this.u8.slice(p * 2, (p + len) * 2).buffer).toString('utf16le');
      }
      case kValSerialized: {
        const p = this.valStart(off) * 4;
        if (len < 0 || p + len > this.u8.length) return kTorn;
        return new Pending(this.u8.slice(p, p + len));
      }
      default:
        return undefined;
    }
  }

  protected blobWords(off: number): number {
    const i32 = this.i32;
    const tag = i32[off + kBlobValTag] as number;
    const len = i32[off + kBlobValLen] as number;
    const dataBytes = tag === kValFloat ? 8 : tag === kValString ? len * 2 : tag === kValSerialized ? len : 0;
    return this.valStart(off) - off + ((dataBytes + 7) >> 3) * 2;
  }

  #changeWord: { i32: Int32Array; index: number; waiters: number } | undefined;

  /** The change counter `lock()` waiters sleep on (a view of the header, which never moves). */
  get changeWord(): { i32: Int32Array; index: number; waiters: number } {
    this.#changeWord ??= { i32: new Int32Array(this.sab, 0, kHeaderWords), index: kHChange, waiters: kHChangeWaiters };
    return this.#changeWord;
  }
}

/** Builds a string from UTF-16 units in chunks (no argument-count limit). */
export function stringFrom(u16: Uint16Array, p: number, len: number): string {
  let out = '';
  for (let i = 0; i < len; i += 4096) {
    out += String.fromCharCode.apply(null, u16.subarray(p + i, p + Math.min(len, i + 4096)) as unknown as number[]);
  }
  return out;
}
