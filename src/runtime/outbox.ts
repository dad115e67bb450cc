/**
 * An outbox: the sending side of one sender → receiver pair (mailroom.ts owns one per receiver). Its
 * ring (ring.ts), the local FIFO that holds messages while the ring is full, large messages sent
 * indirectly, and the receiver's doorbell. **Threads:** the sending thread only (the doorbell words
 * it touches are the receiver's, in the domain buffer).
 *
 * **Order.** One FIFO per pair across inline, queued and indirect messages: while anything is queued,
 * new messages queue behind it; the pump writes the queue in order.
 *
 * **Ring full.** Messages are copied into the FIFO, flushed from the sender's event loop as the
 * receiver gives space back (`Ring.waitForSpace`: a `waitAsync` on the ring's head, re-checking the
 * receiver's liveness every kPumpMs). The FIFO is bounded (`maxQueued` messages, `maxQueuedBytes`
 * bytes); past either bound `send` refuses. A receiver that dies takes the FIFO with it (counted as
 * dropped).
 *
 * **Large messages** (more than `ring.maxRecord` bytes): copied into a fresh SharedArrayBuffer posted
 * on the receiver's channel with a sequence number; an 8-byte indirect record (`seq`, `len`) takes
 * their place in the ring. The record is written first (unpublished, so invisible), then the payload
 * posted, then the record published: a sender killed in between leaves at most an orphan payload.
 *
 * @module
 */
import type { BroadcastChannel } from 'node:worker_threads';
import type { Domain } from '../domain/domain.js';
import { incSlot } from '../domain/domain.js';
import { kTDoorbell, kTParked, threadBase } from '../layout.js';
import { kFull, kTooLarge, kWritten, type Ring } from './ring.js';

/** Record tags in a mail ring. */
export const kTagMail = 1;
export const kTagIndirect = 2;
/** `kTParked` holds `inc ^ kParkedFlip` while the receiver sleeps: never an incarnation of that slot, nor 0. */
export const kParkedFlip = 1 << 9;
/** Word indexes of the per-thread mail counters (mailroom.ts). */
export const kSReceived = 0;
export const kSSent = 1;
export const kSDropped = 2;
export const kSQueued = 3;
export const kSIndirect = 4;
export const kSRings = 5;
export const kStatsWords = 16;
/** How often a full ring's backlog re-checks its receiver's liveness (ms). */
const kPumpMs = 20;

/** Messages on a receiver's channel: a ring handed over, or a large payload. */
export type ChannelMessage = { t: 'ring'; from: number; sab: SharedArrayBuffer } | { t: 'big'; from: number; seq: number; sab: SharedArrayBuffer };

/** What an outbox needs from its mailroom. */
export interface OutboxHost {
  readonly dom: Domain;
  readonly inc: number;
  /** Adds `n` to counter `word`. */
  count(word: number, n: number): void;
  /** True while this outbox is still the mailroom's outbox for its receiver. */
  current(out: Outbox): boolean;
}

/** Bumps `to`'s doorbell and wakes it if it sleeps. Any thread; an atomic add and a load (+ CAS and notify). */
export function ringBell(i32: Int32Array, to: number): void {
  const base = threadBase(incSlot(to));
  // ORDER: the ring's tail was stored (seq-cst) before this add and the load below; the receiver
  // stores its parked state before re-checking the tails (Dekker): one of the two sees the other.
  Atomics.add(i32, base + kTDoorbell, 1);
  // Only the sender whose CAS turns "parked" back to "awake" notifies: one notify per park, however
  // many senders and messages follow before the receiver runs again (a notify costs 15–30 µs here).
  const parked = to ^ kParkedFlip;
  if (Atomics.load(i32, base + kTParked) === parked && Atomics.compareExchange(i32, base + kTParked, parked, to) === parked) {
    Atomics.notify(i32, base + kTDoorbell);
  }
}

export class Outbox {
  readonly to: number;
  readonly ring: Ring;
  readonly #channel: BroadcastChannel;
  readonly #host: OutboxHost;
  readonly #maxQueued: number;
  readonly #maxQueuedBytes: number;
  #queue: Uint8Array[] = [];
  #qhead = 0;
  #qbytes = 0;
  #seq = 0;
  #pumping = false;
  readonly #rec = new Uint8Array(8);
  readonly #recView = new DataView(this.#rec.buffer);

  /** Takes over `ring` (already created) and `channel` (the receiver's), and posts the ring to the receiver. */
  constructor(host: OutboxHost, to: number, ring: Ring, channel: BroadcastChannel, maxQueued: number, maxQueuedBytes: number) {
    this.#host = host;
    this.to = to;
    this.ring = ring;
    this.#channel = channel;
    this.#maxQueued = maxQueued;
    this.#maxQueuedBytes = maxQueuedBytes;
    channel.postMessage({ t: 'ring', from: host.inc, sab: ring.sab } satisfies ChannelMessage);
  }

  /** Messages waiting in the local FIFO. */
  get queued(): number {
    return this.#queue.length - this.#qhead;
  }

  /**
   * Sends the encoded envelope `bytes[0, len)`: into the ring and published, or (ring full, or a
   * backlog already waiting) copied into the FIFO. Returns false, having sent nothing, when the FIFO
   * is at its bound. Cost: a copy into the ring, two atomic stores, the doorbell.
   */
  send(bytes: Uint8Array, len: number): boolean {
    if (this.#queue.length === this.#qhead && this.#write(bytes, len) === kWritten) {
      this.ring.publish();
      ringBell(this.#host.dom.i32, this.to);
      return true;
    }
    if (this.queued >= this.#maxQueued || this.#qbytes + len > this.#maxQueuedBytes) return false;
    this.#queue.push(bytes.slice(0, len));
    this.#qbytes += len;
    this.#host.count(kSQueued, 1);
    if (!this.#pumping) void this.#pump();
    return true;
  }

  /** Discards the FIFO (counted as dropped) and closes the channel. */
  close(): void {
    const lost = this.queued;
    if (lost > 0) {
      this.#host.count(kSQueued, -lost);
      this.#host.count(kSDropped, lost);
    }
    this.#queue = [];
    this.#qhead = 0;
    this.#qbytes = 0;
    this.#channel.close();
  }

  /** Writes one encoded envelope inline, or (too large) indirectly. Unpublished. */
  #write(bytes: Uint8Array, len: number): number {
    const r = this.ring.write(bytes, 0, len, kTagMail);
    if (r !== kTooLarge) return r;
    this.#recView.setUint32(0, this.#seq, true);
    this.#recView.setUint32(4, len, true);
    if (this.ring.write(this.#rec, 0, 8, kTagIndirect) !== kWritten) return kFull;
    const sab = new SharedArrayBuffer(len);
    new Uint8Array(sab).set(bytes.subarray(0, len));
    this.#channel.postMessage({ t: 'big', from: this.#host.inc, seq: this.#seq, sab } satisfies ChannelMessage);
    this.#seq = (this.#seq + 1) >>> 0;
    this.#host.count(kSIndirect, 1);
    return kWritten;
  }

  /** Flushes the FIFO in order as the receiver frees space; discards it if the receiver dies. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.queued > 0) {
        if (!this.#host.current(this)) return;
        if (!this.#host.dom.isAlive(this.to)) return this.close();
        let wrote = 0;
        let next: Uint8Array | undefined;
        while ((next = this.#queue[this.#qhead]) !== undefined && this.#write(next, next.length) === kWritten) {
          this.#queue[this.#qhead++] = undefined as unknown as Uint8Array;
          this.#qbytes -= next.length;
          wrote++;
        }
        if (wrote > 0) {
          this.ring.publish();
          ringBell(this.#host.dom.i32, this.to);
          this.#host.count(kSQueued, -wrote);
        }
        if (this.#qhead > 1024 && this.#qhead * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#qhead);
          this.#qhead = 0;
        }
        if (next === undefined) break;
        await this.ring.waitForSpace(next.length > this.ring.maxRecord ? 8 : next.length, kPumpMs);
      }
    } finally {
      this.#pumping = false;
      if (this.#queue.length === this.#qhead) {
        this.#queue = [];
        this.#qhead = 0;
      }
    }
  }
}
