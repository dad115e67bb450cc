/**
 * A single-producer single-consumer byte ring in one SharedArrayBuffer: one sender thread → one
 * receiver thread. Records are variable-length, length-prefixed and 8-byte aligned.
 *
 * ## Layout (defined here once; offsets in 32-bit words of an Int32Array over the buffer)
 *
 * ```
 *  word 0              16                  32                  48 (byte 192)
 *  ┌──────────────────┬───────────────────┬───────────────────┬──────────────────────────────────┐
 *  │ line 0: fixed    │ line 1: producer  │ line 2: consumer  │ data: capacity bytes (2^k)       │
 *  │ magic version    │ tail (published)  │ head (consumed)   │ records, back to back, wrapping  │
 *  │ capacity         │ records published │ records consumed  │                                  │
 *  │ producer inc     │ producer waiting  │                   │                                  │
 *  │ consumer inc     │                   │                   │                                  │
 *  └──────────────────┴───────────────────┴───────────────────┴──────────────────────────────────┘
 *
 *  record (at an 8-byte-aligned position):       wrap marker (where a record would not fit):
 *  ┌──────────┬──────────┬───────────────────┐    ┌──────────┬───────┐
 *  │ len (i32)│ tag (i32)│ len bytes, padded │    │ -1 (i32) │ ...   │  the rest of the data area
 *  └──────────┴──────────┴───────── to 8 ────┘    └──────────┴───────┘  is skipped; next at 0
 * ```
 *
 * `head` and `tail` are free-running 32-bit byte positions (a record at position `p` starts at data
 * byte `p & (capacity − 1)`); `tail − head` (mod 2^32) bytes are in use, at most `capacity`.
 *
 * **Protocol.** The producer writes a record's bytes into free space (which the consumer never reads),
 * then publishes it with one `Atomics.store` of `tail`; several records may share one publish. The
 * consumer reads records in `[head, tail)` and gives their space back with one `Atomics.store` of
 * `head`. Each side writes only its own line.
 *
 * **Crash safety.** A producer killed between any two statements has published only whole records:
 * the bytes past `tail` are invisible, so the consumer never decodes a partial record and never waits
 * for one. A consumer killed stops moving `head`; the producer finds the ring full, never waits on it,
 * and learns of the death from the domain (the mailroom checks the receiver's liveness). A record that
 * fails validation (possible only if shared memory was damaged) throws `ROSTER_ERR_CORRUPT`.
 *
 * Records longer than `maxRecord` (a quarter of the capacity) are refused (`write` returns
 * `kTooLarge`): the mailroom sends them by another way.
 *
 * @module
 */
import { waitFor } from '../domain/domain.js';
import { RosterError } from '../errors.js';

const kRingMagic = 0x52494e47; // 'RING'
const kRingVersion = 1;
/** Line 0: written once, by the creator. */
export const kRMagic = 0;
export const kRVersion = 1;
export const kRCapacity = 2;
export const kRProducer = 3;
export const kRConsumer = 4;
/** Line 1: written by the producer. */
export const kRTail = 16;
export const kRPublished = 17;
/** 1 while the producer waits for space (the consumer then notifies on kRHead). */
export const kRWaiting = 18;
/** Line 2: written by the consumer. */
export const kRHead = 32;
export const kRConsumed = 33;
export const kRHeaderWords = 48;
export const kRHeaderBytes = kRHeaderWords * 4;
/** A record's header: length and tag, one i32 each. */
export const kRecordHeaderBytes = 8;
const kWrap = -1;

/** Default data capacity: 256 KiB. */
export const kDefaultRingBytes = 256 * 1024;
const kMinRingBytes = 1024;
const kMaxRingBytes = 1 << 30;

/** `write` results. */
export const kWritten = 0;
export const kFull = 1;
export const kTooLarge = 2;
export type WriteResult = typeof kWritten | typeof kFull | typeof kTooLarge;

/**
 * Test-only: called at each step of a write, in the writing thread, so a test can stop a writer there.
 * Points: 'reserved' (space found, wrap marker written if any, no record byte yet), 'written' (record
 * bytes written, not published), 'published' (tail stored).
 */
export let crashHook: ((point: string) => void) | null = null;

/** Installs (or with null removes) the ring crash hook. Test-only. */
export function setCrashHook(fn: ((point: string) => void) | null): void {
  crashHook = fn;
}

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * One SPSC ring. Each side makes its own `Ring` over the shared buffer; a `Ring` instance is used by
 * one thread only, as the producer (`write`, `publish`) or as the consumer (`next`, `commit`).
 */
export class Ring {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  readonly view: DataView;
  /** Data capacity in bytes (a power of two). */
  readonly capacity: number;
  /** The largest record payload written inline: a quarter of the capacity, less the record header. */
  readonly maxRecord: number;
  /** Producer: the tail including written, unpublished records. Consumer: the head including records read, not committed. */
  #pos: number;
  /** Producer: a head seen earlier (space known free). Consumer: a tail seen earlier (records known published). */
  #seen: number;
  #count = 0;
  /** Consumer: the record found by `next`. */
  recordStart = 0;
  recordLen = 0;
  recordTag = 0;
  #recordEnd = 0;

  private constructor(sab: SharedArrayBuffer, producerSide: boolean) {
    this.sab = sab;
    this.i32 = new Int32Array(sab);
    this.u8 = new Uint8Array(sab);
    this.view = new DataView(sab);
    this.capacity = Atomics.load(this.i32, kRCapacity);
    this.maxRecord = this.capacity / 4 - kRecordHeaderBytes;
    // ORDER: seq-cst loads; a ring handed over through a message is fully initialized before.
    this.#pos = Atomics.load(this.i32, producerSide ? kRTail : kRHead);
    this.#seen = Atomics.load(this.i32, producerSide ? kRHead : kRTail);
    this.#count = Atomics.load(this.i32, producerSide ? kRPublished : kRConsumed);
  }

  /**
   * Creates a ring for `producer` → `consumer` (incarnations) with `bytes` of data (rounded up to a
   * power of two, 1 KiB to 1 GiB) and returns its producer side. Any thread (the producer).
   */
  static create(producer: number, consumer: number, bytes = kDefaultRingBytes): Ring {
    let cap = kMinRingBytes;
    while (cap < bytes && cap < kMaxRingBytes) cap *= 2;
    const sab = new SharedArrayBuffer(kRHeaderBytes + cap);
    const i32 = new Int32Array(sab);
    i32[kRMagic] = kRingMagic;
    i32[kRVersion] = kRingVersion;
    i32[kRCapacity] = cap;
    i32[kRProducer] = producer;
    i32[kRConsumer] = consumer;
    return new Ring(sab, true);
  }

  /** The consumer side of a ring received from its producer. Throws `ROSTER_ERR_CORRUPT` if `sab` is not one. */
  static consumer(sab: SharedArrayBuffer): Ring {
    return new Ring(checked(sab), false);
  }

  /**
   * The producer side of an existing ring, for the (single) thread that takes over producing into it:
   * it continues from the published tail; records written and not published before are discarded.
   */
  static producer(sab: SharedArrayBuffer): Ring {
    return new Ring(checked(sab), true);
  }

  /** The producer's incarnation. */
  get producer(): number {
    return Atomics.load(this.i32, kRProducer);
  }

  /** The consumer's incarnation. */
  get consumer(): number {
    return Atomics.load(this.i32, kRConsumer);
  }

  // ── Producer ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Producer only. Writes one record (`len` bytes of `src` from `off`, with `tag`, a positive
   * integer) after the records already written, without publishing it. Returns `kWritten`, `kFull`
   * (not enough free space now; nothing written) or `kTooLarge` (`len > maxRecord`; nothing written).
   * Cost: one atomic load when space is short, a copy of `len` bytes.
   */
  write(src: Uint8Array, off: number, len: number, tag: number): WriteResult {
    if (len > this.maxRecord) return kTooLarge;
    const cap = this.capacity;
    const size = kRecordHeaderBytes + align8(len);
    let pos = this.#pos;
    const idx = pos & (cap - 1);
    const skip = cap - idx < size ? cap - idx : 0;
    if (((pos - this.#seen) >>> 0) + skip + size > cap) {
      // ORDER: acquire load of head: the consumer has finished reading the space it gave back.
      this.#seen = Atomics.load(this.i32, kRHead);
      if (((pos - this.#seen) >>> 0) + skip + size > cap) return kFull;
    }
    const i32 = this.i32;
    const base = kRHeaderWords;
    if (skip !== 0) {
      // Plain store: invisible until the tail passes it, like the record itself.
      i32[base + (idx >> 2)] = kWrap;
      pos = (pos + skip) | 0;
    }
    if (crashHook !== null) crashHook('reserved');
    const at = pos & (cap - 1);
    i32[base + (at >> 2)] = len;
    i32[base + (at >> 2) + 1] = tag;
    this.u8.set(len === src.length && off === 0 ? src : src.subarray(off, off + len), kRHeaderBytes + at + kRecordHeaderBytes);
    this.#pos = (pos + size) | 0;
    this.#count = (this.#count + 1) | 0;
    if (crashHook !== null) crashHook('written');
    return kWritten;
  }

  /** Producer only: a record of `len` bytes fits in the space known free (wrap included). */
  #fits(len: number): boolean {
    const cap = this.capacity;
    const size = kRecordHeaderBytes + align8(len);
    const idx = this.#pos & (cap - 1);
    const skip = cap - idx < size ? cap - idx : 0;
    return ((this.#pos - this.#seen) >>> 0) + skip + size <= cap;
  }

  /** Producer only. True if records were written and not yet published. */
  get unpublished(): boolean {
    return this.#pos !== Atomics.load(this.i32, kRTail);
  }

  /**
   * Producer only. Publishes every record written so far: one store of `tail` (and one of the
   * published count). Cost: two atomic stores.
   */
  publish(): void {
    // ORDER: the count first, then the tail with a seq-cst (release) store: a consumer that loads this
    // tail sees every record byte written before it. The count is statistics only.
    Atomics.store(this.i32, kRPublished, this.#count);
    Atomics.store(this.i32, kRTail, this.#pos);
    if (crashHook !== null) crashHook('published');
  }

  /** Producer only. Free bytes as last seen (re-reads head). */
  free(): number {
    this.#seen = Atomics.load(this.i32, kRHead);
    return this.capacity - ((this.#pos - this.#seen) >>> 0);
  }

  /**
   * Producer only. Resolves once the consumer has given back space (it notifies when it sees the
   * waiting flag), or after `ms`. Never blocks the event loop; a ref'd timer keeps the thread alive
   * meanwhile. Resolves at once if a record of `len` bytes fits now.
   */
  async waitForSpace(len: number, ms: number): Promise<void> {
    const i32 = this.i32;
    // ORDER: the waiting flag before the re-read of head (Dekker with commit()'s store of head, then
    // its load of the flag): either this re-read sees the new head, or commit() sees the flag.
    Atomics.store(i32, kRWaiting, 1);
    try {
      const head = Atomics.load(i32, kRHead);
      this.#seen = head;
      if (this.#fits(len)) return;
      await waitFor(i32, kRHead, head, ms);
    } finally {
      Atomics.store(i32, kRWaiting, 0);
    }
  }

  // ── Consumer ──────────────────────────────────────────────────────────────────────────────────

  /** Consumer only. True if a published record has not been read (one atomic load when none is known). */
  hasRecord(): boolean {
    if (this.#pos !== this.#seen) return true;
    // ORDER: acquire load of tail; pairs with publish()'s store.
    this.#seen = Atomics.load(this.i32, kRTail);
    return this.#pos !== this.#seen;
  }

  /**
   * Consumer only. Finds the next published record, without consuming it: sets `recordStart` (byte
   * offset of its payload in `u8`), `recordLen` and `recordTag`, and returns the tag, or 0 if no
   * record is published. Throws `ROSTER_ERR_CORRUPT` on a record that cannot be one.
   */
  next(): number {
    if (!this.hasRecord()) return 0;
    const cap = this.capacity;
    let pos = this.#pos;
    let idx = pos & (cap - 1);
    // ORDER: the record's words were written before the tail that hasRecord() loaded (acquire), so
    // plain reads would do; atomic loads keep them whole should memory be damaged.
    let len = Atomics.load(this.i32, kRHeaderWords + (idx >> 2));
    if (len === kWrap) {
      pos = (pos + cap - idx) | 0;
      idx = 0;
      if (pos === this.#seen) throw this.#corrupt('a wrap marker ends the published records');
      len = Atomics.load(this.i32, kRHeaderWords);
    }
    const size = kRecordHeaderBytes + align8(len);
    if (len < 0 || len > this.maxRecord || ((this.#seen - pos) >>> 0) < size || idx + size > cap) {
      throw this.#corrupt(`record length ${len} at ${idx}`);
    }
    const tag = Atomics.load(this.i32, kRHeaderWords + (idx >> 2) + 1);
    if (tag <= 0) throw this.#corrupt(`record tag ${tag} at ${idx}`);
    this.#pos = pos;
    this.recordStart = kRHeaderBytes + idx + kRecordHeaderBytes;
    this.recordLen = len;
    this.recordTag = tag;
    this.#recordEnd = (pos + size) | 0;
    return tag;
  }

  /** Consumer only. Consumes the record found by `next` (its space is given back at `commit`). */
  consume(): void {
    this.#pos = this.#recordEnd;
    this.#count = (this.#count + 1) | 0;
  }

  /** Consumer only. Gives back the space of every consumed record; returns true if the producer waits for it. */
  commit(): boolean {
    if (Atomics.load(this.i32, kRHead) === this.#pos) return false;
    Atomics.store(this.i32, kRConsumed, this.#count);
    // ORDER: release store of head after every read of the consumed records; then (Dekker with the
    // producer's store of kRWaiting before its re-read of head) a waiting producer is seen and woken.
    Atomics.store(this.i32, kRHead, this.#pos);
    if (Atomics.load(this.i32, kRWaiting) !== 0) {
      Atomics.notify(this.i32, kRHead);
      return true;
    }
    return false;
  }

  /** Records published and not yet consumed (committed), as counted in shared memory. Any thread. */
  depth(): number {
    return (Atomics.load(this.i32, kRPublished) - Atomics.load(this.i32, kRConsumed)) | 0;
  }

  #corrupt(what: string): RosterError {
    return new RosterError('ROSTER_ERR_CORRUPT', `mail ring from incarnation ${this.producer} is damaged: ${what}`);
  }
}

/** `sab` if it is a ring of this version; else throws `ROSTER_ERR_CORRUPT`. */
function checked(sab: SharedArrayBuffer): SharedArrayBuffer {
  const i32 = new Int32Array(sab);
  const cap = i32.length >= kRHeaderWords ? Atomics.load(i32, kRCapacity) : 0;
  if (
    cap === 0 || Atomics.load(i32, kRMagic) !== kRingMagic || Atomics.load(i32, kRVersion) !== kRingVersion ||
    cap < kMinRingBytes || (cap & (cap - 1)) !== 0 || sab.byteLength !== kRHeaderBytes + cap
  ) {
    throw new RosterError('ROSTER_ERR_CORRUPT', 'not a mail ring of this version');
  }
  return sab;
}
