/**
 * Process ids and thread incarnations.
 *
 * A domain is one shared buffer that every registry of a process tree points at. Each thread that
 * writes claims a thread slot and gets an incarnation: `inc = gen << 10 | slot`, where `gen` comes from
 * a domain-wide counter, so an incarnation is never reused (no ABA) until 2^22 thread starts. A pid is
 * `inc * 2^21 + local`: local 0 is the thread's own process; the actor runtime hands out further ones.
 *
 * Liveness is one word per slot: `live` holds the incarnation while the thread is alive and 0 once it
 * is declared dead. A thread is declared dead only after it has stopped (its `'exit'` was seen, or it
 * was terminated), so whoever observes a dead owner may repair what it left behind.
 *
 * The main thread's domain is published with `setEnvironmentData`, so workers started afterwards share
 * it without being told; a worker started earlier adopts the domain of the first handle it attaches.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { getEnvironmentData, setEnvironmentData, threadId } from 'node:worker_threads';
import { RosterError } from './errors.js';
import {
  kDGen, kDId, kDMagic, kDVersion, kDomainMagic, kDomainWords, kLayoutVersion, kLocalLimit, kMaxThreads, kStateAlive,
  kStateDead, kStateFree, kTHeartbeat, kTLast, kTLive, kTNextLocal, kTReason, kTState, kThreadSlotBits, threadBase,
} from './layout.js';
import type { Pid } from './types.js';

const kEnvKey = 'roster.domain';

/** Builds a pid from an incarnation and a local process index. */
export function makePid(inc: number, local: number): Pid {
  return (inc >>> 0) * kLocalLimit + local;
}

/** The incarnation part of a pid, as the signed 32-bit word stored in shared memory. */
export function pidInc(pid: Pid): number {
  return Math.floor(pid / kLocalLimit) | 0;
}

/** The local process index of a pid. */
export function pidLocal(pid: Pid): number {
  return pid % kLocalLimit;
}

/** True if `x` has the shape of a pid. */
export function isPid(x: unknown): x is Pid {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= kLocalLimit;
}

/** The thread slot of an incarnation. */
export function incSlot(inc: number): number {
  return inc & (kMaxThreads - 1);
}

/** Reason codes stored when a thread is declared dead. */
export const kReasons = ['unknown', 'exit', 'error', 'terminated', 'out_of_memory', 'stalled'] as const;
export type DeathReason = (typeof kReasons)[number];

/**
 * One process tree's liveness table. Instances are per thread; the buffer is shared.
 */
export class Domain {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  #inc = 0;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.i32 = new Int32Array(sab);
  }

  /** This thread's domain: the one set by `adopt`, inherited from the parent thread, or a new one. */
  static current(): Domain {
    if (current !== undefined) return current;
    const inherited = getEnvironmentData(kEnvKey);
    if (inherited instanceof SharedArrayBuffer) return Domain.adopt(inherited);
    const sab = new SharedArrayBuffer(kDomainWords * 4);
    const i32 = new Int32Array(sab);
    i32[kDMagic] = kDomainMagic;
    i32[kDVersion] = kLayoutVersion;
    i32[kDId] = randomBytes(4).readInt32LE(0) | 1;
    return Domain.adopt(sab);
  }

  /**
   * Makes `sab` this thread's domain (the first handle attached by a thread decides). Throws if the
   * thread already belongs to another domain: pids of two domains cannot be told apart.
   */
  static adopt(sab: SharedArrayBuffer): Domain {
    if (current !== undefined) {
      if (current.sab === sab || sameBuffer(current.sab, sab)) return current;
      throw new RosterError(
        'ROSTER_ERR_DOMAIN',
        'this thread already uses registries of another process tree; create registries in one thread and share handles',
      );
    }
    const i32 = new Int32Array(sab);
    if (i32.length < kDomainWords || Atomics.load(i32, kDMagic) !== kDomainMagic) {
      throw new RosterError('ROSTER_ERR_DOMAIN', 'not a Roster domain buffer');
    }
    current = new Domain(sab);
    // Children started from now on inherit the domain.
    setEnvironmentData(kEnvKey, sab);
    return current;
  }

  /**
   * This thread's incarnation, claiming a thread slot on first use. Cost: one scan of the slot table
   * the first time, then a field read.
   */
  get inc(): number {
    return this.#inc !== 0 ? this.#inc : this.#claim();
  }

  /** This thread's own pid (local 0). */
  get self(): Pid {
    return makePid(this.inc, 0);
  }

  #claim(): number {
    const i32 = this.i32;
    const start = threadId % kMaxThreads;
    for (let k = 0; k < kMaxThreads; k++) {
      const slot = (start + k) % kMaxThreads;
      const b = threadBase(slot);
      // ORDER: the CAS on state claims the slot; only the claimer writes the other words until `live` is stored.
      if (Atomics.compareExchange(i32, b + kTState, kStateFree, kStateAlive) !== kStateFree) continue;
      let gen = (Atomics.add(i32, kDGen, 1) + 1) & ((1 << (32 - kThreadSlotBits)) - 1);
      if (gen === 0) gen = 1;
      const inc = (gen << kThreadSlotBits) | slot;
      Atomics.store(i32, b + kTLast, inc);
      Atomics.store(i32, b + kTNextLocal, 1);
      Atomics.store(i32, b + kTReason, 0);
      Atomics.store(i32, b + kTHeartbeat, 0);
      // ORDER: `live` last: once it is visible, the incarnation is fully set up.
      Atomics.store(i32, b + kTLive, inc);
      this.#inc = inc;
      return inc;
    }
    throw new RosterError('ROSTER_ERR_CAPACITY', `more than ${kMaxThreads} live threads in one domain`);
  }

  /** True while incarnation `inc` has not been declared dead. Any thread; one atomic load. */
  isAlive(inc: number): boolean {
    // ORDER: seq-cst load; a death declared before this load is seen.
    return Atomics.load(this.i32, threadBase(incSlot(inc)) + kTLive) === inc;
  }

  /** True while this thread's own incarnation is alive (fencing check before a write). */
  selfAlive(): boolean {
    return this.#inc === 0 || this.isAlive(this.#inc);
  }

  /** Allocates a new local process index for this thread (actor runtime). */
  nextLocal(): number {
    const b = threadBase(incSlot(this.inc));
    const local = Atomics.add(this.i32, b + kTNextLocal, 1);
    if (local >= kLocalLimit) throw new RosterError('ROSTER_ERR_CAPACITY', 'local process ids exhausted');
    return local;
  }

  /** Bumps this thread's heartbeat word. */
  beat(): void {
    Atomics.add(this.i32, threadBase(incSlot(this.inc)) + kTHeartbeat, 1);
  }

  /**
   * Declares incarnation `inc` dead. Only the coordinator calls this, and only after the thread has
   * stopped. Returns false if it was not alive. Every thread sees it at its next load.
   */
  declareDead(inc: number, reason: DeathReason): boolean {
    const b = threadBase(incSlot(inc));
    // ORDER: the CAS makes exactly one declarer win.
    if (Atomics.compareExchange(this.i32, b + kTLive, inc, 0) !== inc) return false;
    Atomics.store(this.i32, b + kTReason, Math.max(0, kReasons.indexOf(reason)));
    Atomics.store(this.i32, b + kTState, kStateDead);
    return true;
  }

  /** Frees the slot of a dead incarnation once every registry has been swept. */
  release(inc: number): void {
    const b = threadBase(incSlot(inc));
    if (Atomics.load(this.i32, b + kTLast) === inc) Atomics.compareExchange(this.i32, b + kTState, kStateDead, kStateFree);
  }
}

let current: Domain | undefined;

function sameBuffer(a: SharedArrayBuffer, b: SharedArrayBuffer): boolean {
  // Two SharedArrayBuffer objects for one memory carry the same random domain id.
  return Atomics.load(new Int32Array(a), kDId) === Atomics.load(new Int32Array(b), kDId);
}
