/**
 * The mailroom: one per thread, its inbox and its outboxes (the sending side of each pair is in
 * outbox.ts). Mail is addressed by thread incarnation (domain.ts) and travels through one SPSC ring
 * (ring.ts) per sender → receiver pair; envelopes are encoded by envelope.ts.
 *
 * **Handover.** A sender creates the ring on its first message to a receiver and posts it on the
 * receiver's `BroadcastChannel` (`roster:mail:<domain id>:<inc>`); records written before the receiver
 * adopts it are read later. A thread receives mail only once its mailroom is open (`Mailroom.current()`):
 * its slot's kTParked word then holds its incarnation, and mail to an incarnation without one is refused.
 *
 * **Delivery.** At most once; FIFO per sender → receiver pair, across inline, queued and indirect
 * messages; no order across senders. `send` returns false (and counts a drop) when the receiver is not
 * alive or has no mailroom, or when its backlog is past the bound below; it never throws for that and
 * never waits. Messages queued for a receiver that dies are dropped and counted.
 *
 * **Ring full** (a slow receiver): the encoded message is kept in a per-receiver FIFO in the sender,
 * flushed in order from the sender's event loop as the receiver frees space (a `waitAsync` on the ring's
 * head, re-checking the receiver's liveness every 20 ms). Bound per receiver: `maxQueued` messages
 * (default 65,536) and `maxQueuedBytes` (default 64 MiB); past either, `send` returns false.
 *
 * **Large messages** (more than a quarter of the ring): the encoding is copied into a fresh
 * SharedArrayBuffer posted on the receiver's channel with a sequence number, and a small indirect record
 * takes its place in the ring. The receiver stops reading that ring until the payload has arrived.
 *
 * **Doorbell.** After publishing, a sender bumps the receiver's kTDoorbell word, and notifies it only
 * when kTParked says the receiver sleeps (and only the sender whose CAS wakes it: one notify per park).
 * The receiver spins briefly (adaptive, at most `spinUs`), then parks on the doorbell.
 *
 * **Loopback.** Mail to the own thread is encoded (so it is a copy, and refused like any other) into a
 * local queue; `drain` serves it in turn with the rings.
 *
 * **Counters** live in a per-thread SharedArrayBuffer (`statsBuffer`), readable by any thread it is
 * handed to (`Mailroom.readStats`): u32 counters that wrap.
 *
 * @module
 */
import { BroadcastChannel } from 'node:worker_threads';
import { Domain, incSlot } from '../domain/domain.js';
import { kTDoorbell, kTParked, threadBase } from '../layout.js';
import { decodeEnvelope, encodeEnvelope, type Envelope } from './envelope.js';
import { ScratchWriter } from './message-codec.js';
export type { Envelope } from './envelope.js';
import {
  kParkedFlip, kSDropped, kSIndirect, kSQueued, kSReceived, kSRings, kSSent, kStatsWords, kTagIndirect, kTagMail, Outbox, ringBell,
  type ChannelMessage, type OutboxHost,
} from './outbox.js';
import { kDefaultRingBytes, Ring } from './ring.js';

/** Options of a thread's mailroom, applied when it is first created. */
export interface MailroomOptions {
  /** Data bytes of each outgoing ring (a power of two, 1 KiB to 1 GiB). Default 256 KiB. */
  readonly ringBytes?: number;
  /** Messages kept per receiver while its ring is full. Default 65,536. */
  readonly maxQueued?: number;
  /** Bytes kept per receiver while its ring is full. Default 64 MiB. */
  readonly maxQueuedBytes?: number;
  /** How long `waitForMail` spins on the doorbell before parking, in µs (0: park at once). Default 100. */
  readonly spinUs?: number;
}

/** Counters of one thread's mail (u32, wrapping). */
export interface MailStats {
  /** Envelopes handed to `drain`'s handler. */
  readonly received: number;
  /** Envelopes accepted by `send` (written, queued or looped back). */
  readonly sent: number;
  /** Envelopes refused by `send`, and queued ones discarded because their receiver died. */
  readonly dropped: number;
  /** Envelopes now queued in this thread for full rings. */
  readonly queued: number;
  /** Envelopes sent indirectly (large). */
  readonly indirect: number;
  /** Incoming rings now adopted. */
  readonly rings: number;
}

/** The spin on the doorbell before parking (µs), and the longest single park (ms). */
const kSpinUs = 100;
const kParkMs = 1000;
/** How often idle drains look for rings of stopped senders and outboxes of dead receivers. */
const kSweepMs = 50;
/** Records taken from one ring before moving to the next. */
const kQuantum = 32;

interface Inbox {
  readonly from: number;
  readonly ring: Ring;
  readonly payloads: Map<number, SharedArrayBuffer>;
  /** When an indirect record first waited for its payload (0 = not waiting). */
  blockedSince: number;
}

let current: Mailroom | undefined;

/**
 * A thread's mailroom. **Threads:** each thread has its own (`Mailroom.current()`); its methods are
 * called from that thread only. Nothing in it blocks for more than microseconds.
 */
export class Mailroom {
  readonly inc: number;
  /** This thread's counters (see `MailStats`); hand it to an observer, which reads it with `readStats`. */
  readonly statsBuffer = new SharedArrayBuffer(kStatsWords * 4);
  readonly #stats = new Int32Array(this.statsBuffer);
  readonly #dom: Domain;
  readonly #i32: Int32Array;
  readonly #bell: number;
  readonly #parked: number;
  readonly #channel: BroadcastChannel;
  readonly #ringBytes: number;
  readonly #maxQueued: number;
  readonly #maxQueuedBytes: number;
  readonly #host: OutboxHost;
  readonly #spinUs: number;
  /** The current spin budget (µs) and a count of waits, for the adaptive spin of `waitForMail`. */
  #spin: number;
  #probe = 0;
  readonly #w = new ScratchWriter();
  readonly #outboxes = new Map<number, Outbox>();
  readonly #inboxes: Inbox[] = [];
  readonly #byInc = new Map<number, Inbox>();
  /** Loopback queue: encoded envelopes to this thread, each `[u32 length][bytes]`, read from #loopRead. */
  readonly #loop = new ScratchWriter(1024);
  #loopRead = 0;
  #rr = 0;
  #lastSweep = 0;
  /** The bell value a park-ending timer rang from (so that wake-up is not taken for mail). */
  #timedOut = NaN;

  private constructor(options: MailroomOptions) {
    this.#dom = Domain.current();
    this.inc = this.#dom.inc;
    this.#i32 = this.#dom.i32;
    const base = threadBase(incSlot(this.inc));
    this.#bell = base + kTDoorbell;
    this.#parked = base + kTParked;
    this.#ringBytes = options.ringBytes ?? kDefaultRingBytes;
    this.#maxQueued = options.maxQueued ?? 65_536;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? 64 * 1024 * 1024;
    this.#spinUs = options.spinUs ?? kSpinUs;
    this.#spin = this.#spinUs;
    const dom = this.#dom;
    this.#host = {
      dom,
      inc: this.inc,
      count: (word, n) => this.#count(word, n),
      current: (out) => this.#outboxes.get(out.to) === out,
    };
    this.#channel = new BroadcastChannel(channelName(this.#dom, this.inc));
    this.#channel.onmessage = (ev: unknown) => this.#onChannel((ev as { data: ChannelMessage }).data);
    this.#channel.unref();
    // ORDER: open (kTParked = inc) only after the channel listens: a sender that sees the mailroom open
    // posts its ring handover to a listener that exists.
    Atomics.store(this.#i32, this.#parked, this.inc);
  }

  /** This thread's mailroom, created (claiming the thread's incarnation) on first call with `options`. */
  static current(options: MailroomOptions = {}): Mailroom {
    current ??= new Mailroom(options);
    return current;
  }

  /** Reads a thread's counters from its `statsBuffer`. Any thread; six atomic loads. */
  static readStats(sab: SharedArrayBuffer): MailStats {
    const s = new Int32Array(sab);
    const u = (i: number): number => Atomics.load(s, i) >>> 0;
    return { received: u(kSReceived), sent: u(kSSent), dropped: u(kSDropped), queued: u(kSQueued), indirect: u(kSIndirect), rings: u(kSRings) };
  }

  /** This thread's counters. */
  stats(): MailStats {
    return Mailroom.readStats(this.statsBuffer);
  }

  /** Messages queued in this thread for `toInc` while its ring is full. */
  queued(toInc: number): number {
    const out = this.#outboxes.get(toInc);
    return out === undefined ? 0 : out.queued;
  }

  /**
   * Sends `env` to the thread with incarnation `toInc`. Returns true once the message is in the ring,
   * queued behind a full ring, or looped back (`toInc` is this thread); false, counting a drop, when
   * the receiver is not alive, has no mailroom, or its backlog is at its bound. Throws
   * `InvalidMessageError` (nothing sent) for a body that cannot cross threads. **Cost:** the encoding,
   * a copy into the ring, two atomic stores, an atomic add and a load (plus a notify if the receiver
   * sleeps); the first message to a receiver also creates its ring and posts it.
   */
  send(toInc: number, env: Envelope): boolean {
    const w = this.#w;
    w.len = 0;
    encodeEnvelope(env, w);
    const ok = this.#send(toInc, w.buf, w.len);
    w.len = 0;
    if (w.buf.length > 1 << 20) w.trim();
    return ok;
  }

  #send(toInc: number, bytes: Uint8Array, len: number): boolean {
    if (toInc === this.inc) {
      const q = this.#loop;
      q.ensure(4 + len);
      q.view.setUint32(q.len, len, true);
      q.buf.set(bytes.subarray(0, len), q.len + 4);
      q.len += 4 + len;
      this.#count(kSSent, 1);
      ringBell(this.#i32, toInc);
      return true;
    }
    let out = this.#outboxes.get(toInc);
    if (out === undefined || !this.#dom.isAlive(toInc)) {
      if (out !== undefined) this.#closeOutbox(out);
      out = this.#openOutbox(toInc);
      if (out === undefined) return this.#drop();
    }
    if (!out.send(bytes, len)) return this.#drop();
    this.#count(kSSent, 1);
    return true;
  }

  #openOutbox(to: number): Outbox | undefined {
    const p = Atomics.load(this.#i32, threadBase(incSlot(to)) + kTParked);
    // ORDER: liveness after the mailroom check; both seq-cst loads of the receiver's slot.
    if ((p !== to && p !== (to ^ kParkedFlip)) || !this.#dom.isAlive(to)) return undefined;
    const channel = new BroadcastChannel(channelName(this.#dom, to));
    channel.unref();
    const out = new Outbox(this.#host, to, Ring.create(this.inc, to, this.#ringBytes), channel, this.#maxQueued, this.#maxQueuedBytes);
    this.#outboxes.set(to, out);
    return out;
  }

  #closeOutbox(out: Outbox): void {
    out.close();
    if (this.#outboxes.get(out.to) === out) this.#outboxes.delete(out.to);
  }

  #drop(): false {
    this.#count(kSDropped, 1);
    return false;
  }

  #count(word: number, n: number): void {
    // ORDER: statistics only; atomic so that observers on other threads read whole words.
    Atomics.add(this.#stats, word, n);
  }

  // ── Receiving ─────────────────────────────────────────────────────────────────────────────────

  #onChannel(m: ChannelMessage): void {
    if (m.t === 'ring') {
      if (this.#byInc.has(m.from)) return;
      let ring: Ring;
      try {
        ring = Ring.consumer(m.sab);
      } catch {
        return;
      }
      if (ring.consumer !== this.inc || ring.producer !== m.from) return;
      const inbox: Inbox = { from: m.from, ring, payloads: new Map(), blockedSince: 0 };
      this.#inboxes.push(inbox);
      this.#byInc.set(m.from, inbox);
      this.#count(kSRings, 1);
    } else if (m.t === 'big') {
      this.#byInc.get(m.from)?.payloads.set(m.seq, m.sab);
    }
    this.wake();
  }

  /** Ends a park that lasted kParkMs: rings the own bell, remembering which park it ended. */
  readonly #wakeSelf = (): void => {
    this.#timedOut = Atomics.add(this.#i32, this.#bell, 1);
    Atomics.notify(this.#i32, this.#bell);
  };

  /** Wakes this thread's `waitForMail` (from this thread: a timer, a channel message, a stop request). */
  wake(): void {
    // ORDER: bump, then notify: a park that read the old value either sees the new one (its wait
    // returns at once) or is woken by the notify.
    Atomics.add(this.#i32, this.#bell, 1);
    Atomics.notify(this.#i32, this.#bell);
  }

  /** True if a message can be drained now. Cost: one atomic load per incoming ring. */
  hasMail(): boolean {
    if (this.#loopRead < this.#loop.len) return true;
    for (const inbox of this.#inboxes) if (ready(inbox)) return true;
    return false;
  }

  /**
   * Hands up to `max` envelopes to `handler`, round-robin across this thread's rings (and its loopback
   * queue), FIFO within each; returns how many. A message is consumed before its handler runs (at
   * most once): if the handler throws, the error propagates and the rest stay for the next drain.
   * Rings of stopped senders are dropped once empty. A damaged ring (shared memory overwritten) is
   * dropped with a process warning (`ROSTER_MAIL_CORRUPT`).
   */
  drain(max: number, handler: (env: Envelope) => void): number {
    let n = 0;
    const k = this.#inboxes.length + 1;
    for (let progress = true; progress && n < max; ) {
      progress = false;
      for (let j = 0; j < k && n < max; j++) {
        const s = (this.#rr + j) % k;
        const take = Math.min(kQuantum, max - n);
        const inbox = s < k - 1 ? this.#inboxes[s] : undefined;
        const got = inbox === undefined ? this.#drainLoop(take, handler) : this.#drainRing(inbox, take, handler);
        if (got > 0) progress = true;
        n += got;
      }
    }
    this.#rr = (this.#rr + 1) % (this.#inboxes.length + 1);
    if (n < max) this.#sweep();
    return n;
  }

  #drainLoop(take: number, handler: (env: Envelope) => void): number {
    let got = 0;
    const q = this.#loop;
    while (got < take && this.#loopRead < q.len) {
      const len = q.view.getUint32(this.#loopRead, true);
      const start = this.#loopRead + 4;
      this.#loopRead = start + len;
      const env = decodeEnvelope(q.buf, q.view, start, len);
      // Emptied: start over (before the handler, which may send to this thread again).
      if (this.#loopRead === q.len) {
        this.#loopRead = 0;
        q.len = 0;
        q.trim();
      }
      got++;
      this.#count(kSReceived, 1);
      handler(env);
    }
    return got;
  }

  #drainRing(inbox: Inbox, take: number, handler: (env: Envelope) => void): number {
    const ring = inbox.ring;
    let got = 0;
    try {
      while (got < take) {
        let env: Envelope;
        try {
          const tag = ring.next();
          if (tag === 0) break;
          if (tag === kTagMail) env = decodeEnvelope(ring.u8, ring.view, ring.recordStart, ring.recordLen);
          else if (tag === kTagIndirect && ring.recordLen === 8) {
            const seq = ring.view.getUint32(ring.recordStart, true);
            const sab = inbox.payloads.get(seq);
            if (sab === undefined) {
              if (inbox.blockedSince === 0) inbox.blockedSince = Date.now();
              break;
            }
            inbox.payloads.delete(seq);
            inbox.blockedSince = 0;
            env = decodeEnvelope(new Uint8Array(sab), new DataView(sab), 0, sab.byteLength);
          } else throw new RangeError(`unknown record tag ${tag}`);
        } catch (e) {
          this.#dropInbox(inbox, e);
          break;
        }
        ring.consume();
        got++;
        handler(env);
      }
    } finally {
      ring.commit();
      if (got > 0) this.#count(kSReceived, got);
    }
    return got;
  }

  #dropInbox(inbox: Inbox, why?: unknown): void {
    const i = this.#inboxes.indexOf(inbox);
    if (i < 0) return;
    this.#inboxes.splice(i, 1);
    this.#byInc.delete(inbox.from);
    this.#count(kSRings, -1);
    if (why !== undefined) {
      process.emitWarning(`dropped the mail ring from incarnation ${inbox.from}: ${why instanceof Error ? why.message : String(why)}`, {
        code: 'ROSTER_MAIL_CORRUPT',
      });
    }
  }

  /** Drops rings of stopped senders once drained, and outboxes of receivers no longer alive. At most every kSweepMs. */
  #sweep(): void {
    const now = Date.now();
    if (now - this.#lastSweep < kSweepMs) return;
    this.#lastSweep = now;
    for (const inbox of [...this.#inboxes]) {
      // ORDER: stopped first, then the tail: a stopped sender publishes nothing more, so a ring found
      // empty after that check stays empty.
      if (!this.#dom.isStopped(inbox.from)) continue;
      if (inbox.ring.hasRecord() && (inbox.blockedSince === 0 || now - inbox.blockedSince < 1000)) continue;
      this.#dropInbox(inbox);
    }
    for (const out of [...this.#outboxes.values()]) if (!this.#dom.isAlive(out.to)) this.#closeOutbox(out);
  }

  /**
   * Resolves when mail may be there (or `wake()` was called): at once if some is; else after a spin of
   * at most `spinUs` (100 µs) on the doorbell (adaptive, below); else parks with `Atomics.waitAsync` on it, with a ref'd timer
   * alongside so a thread waiting for mail is not allowed to exit. Never blocks the event loop.
   */
  async waitForMail(): Promise<void> {
    const i32 = this.#i32;
    if (this.hasMail()) return;
    const rung = Atomics.load(i32, this.#bell);
    // Adaptive: a spin that found mail keeps (or regains) the full budget; one that did not halves
    // it, down to none, with a short probe every 16th wait. Where threads outnumber cores (a spinner
    // takes the core its sender needs), spinning thus stops; where they do not, it stays.
    const budget = this.#spin > 0 ? this.#spin : (++this.#probe & 15) === 0 ? Math.min(10, this.#spinUs) : 0;
    if (budget > 0) {
      const t0 = performance.now();
      do {
        for (let i = 0; i < 64; i++) {
          if (Atomics.load(i32, this.#bell) !== rung) {
            this.#spin = this.#spinUs;
            return;
          }
        }
      } while ((performance.now() - t0) * 1000 < budget);
      this.#spin = this.#spin < 10 ? 0 : this.#spin / 2;
    }
    for (;;) {
      const bell = Atomics.load(i32, this.#bell);
      // ORDER: parked before the re-check of the rings (Dekker with #ringBell on the sender side).
      Atomics.store(i32, this.#parked, this.inc ^ kParkedFlip);
      try {
        if (bell !== rung || this.hasMail()) return;
        // No timeout on the wait itself (one with a timeout costs a V8 delayed task per park, ~40 µs of
        // round trip here): the ref'd timer alongside keeps the thread alive and ends the park by
        // ringing this thread's own bell.
        const keep = setTimeout(this.#wakeSelf, kParkMs);
        const r = Atomics.waitAsync(i32, this.#bell, bell);
        try {
          if (r.async) await r.value;
        } finally {
          clearTimeout(keep);
        }
      } finally {
        // ORDER: a sender may have set it back already (it then notified); either way awake now.
        Atomics.store(i32, this.#parked, this.inc);
      }
      if (this.#timedOut !== bell) return;
      this.#sweep();
    }
  }
}

/** A receiver's channel name. */
function channelName(dom: Domain, inc: number): string {
  return `roster:mail:${dom.id >>> 0}:${inc >>> 0}`;
}

/** An inbox has a record to hand out now (not one waiting for its payload). */
function ready(inbox: Inbox): boolean {
  if (!inbox.ring.hasRecord()) return false;
  if (inbox.blockedSince === 0) return true;
  try {
    return inbox.ring.next() === kTagIndirect ? inbox.payloads.has(inbox.ring.view.getUint32(inbox.ring.recordStart, true)) : true;
  } catch {
    return true; // damaged: drain drops it
  }
}

