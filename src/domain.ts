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
import { CapacityError, RosterError, TimeoutError } from './errors.js';
import {
  kDCoordinator, kDDeclared, kDGen, kDHeartbeatMs, kDId, kDMagic, kDSwept, kTThreadId, kDVersion, kDomainMagic, kDomainWords, kLayoutVersion, kLocalLimit, kMaxThreads, kStateAlive,
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
      // ORDER: threadId first, so a parent reaping this thread can free a half-made claim.
      Atomics.store(i32, b + kTLive, 0);
      Atomics.store(i32, b + kTThreadId, threadId);
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
      this.#startHeartbeat(b);
      return inc;
    }
    throw new CapacityError(`more than ${kMaxThreads} live threads in one domain`);
  }

  /**
   * Beats from this thread's event loop, so the coordinator can tell a blocked loop from a busy one.
   * The timer is unref'd: it never keeps a thread alive.
   */
  #startHeartbeat(b: number): void {
    const i32 = this.i32;
    const period = Atomics.load(i32, kDHeartbeatMs) || kDefaultHeartbeatMs;
    const timer = setInterval(() => Atomics.add(i32, b + kTHeartbeat, 1), period);
    timer.unref();
  }

  /** True while incarnation `inc` has not been declared dead. Any thread; one atomic load. */
  isAlive(inc: number): boolean {
    // ORDER: seq-cst load; a death declared before this load is seen.
    return Atomics.load(this.i32, threadBase(incSlot(inc)) + kTLive) === inc;
  }

  /** Allocates a new local process index for this thread (actor runtime). */
  nextLocal(): number {
    const b = threadBase(incSlot(this.inc));
    const local = Atomics.add(this.i32, b + kTNextLocal, 1);
    if (local >= kLocalLimit) throw new CapacityError('local process ids exhausted');
    return local;
  }

  /**
   * Declares incarnation `inc` dead. Called by the thread that saw the owner stop (its Worker's
   * `'exit'`), or by the coordinator as a last resort. Returns false if it was not alive. Every thread
   * sees it at its next load; `sync()` then waits for its sweep.
   */
  declareDead(inc: number, reason: DeathReason): boolean {
    const i32 = this.i32;
    const b = threadBase(incSlot(inc));
    // ORDER: the CAS makes exactly one declarer win; from here on every liveness check fails.
    if (Atomics.compareExchange(i32, b + kTLive, inc, 0) !== inc) return false;
    Atomics.store(i32, b + kTReason, Math.max(0, kReasons.indexOf(reason)));
    Atomics.store(i32, b + kTState, kStateDead);
    // ORDER: counted after the state store, so a sweeper woken by this count finds the slot dead.
    Atomics.add(i32, kDDeclared, 1);
    Atomics.notify(i32, kDDeclared);
    return true;
  }

  /**
   * Called when the thread `tid` has stopped: declares its incarnation dead, or frees a slot whose claim
   * it never finished (it can own nothing then). Returns the incarnation declared, or 0.
   */
  reap(tid: number, reason: DeathReason): number {
    const i32 = this.i32;
    let declared = 0;
    for (let slot = 0; slot < kMaxThreads; slot++) {
      const b = threadBase(slot);
      if (Atomics.load(i32, b + kTThreadId) !== tid || Atomics.load(i32, b + kTState) !== kStateAlive) continue;
      const inc = Atomics.load(i32, b + kTLive);
      if (inc !== 0 && this.declareDead(inc, reason)) declared = inc;
      else if (inc === 0) Atomics.compareExchange(i32, b + kTState, kStateAlive, kStateFree);
    }
    return declared;
  }

  /** The live incarnation claimed by the thread with `threadId`, or 0. */
  incOfThread(tid: number): number {
    for (let slot = 0; slot < kMaxThreads; slot++) {
      const b = threadBase(slot);
      const inc = Atomics.load(this.i32, b + kTLive);
      if (inc !== 0 && Atomics.load(this.i32, b + kTThreadId) === tid) return inc;
    }
    return 0;
  }

  /** Dead incarnations whose sweep has not completed. */
  deadUnswept(): Array<{ inc: number; reason: DeathReason }> {
    const out: Array<{ inc: number; reason: DeathReason }> = [];
    for (let slot = 0; slot < kMaxThreads; slot++) {
      const b = threadBase(slot);
      if (Atomics.load(this.i32, b + kTState) !== kStateDead) continue;
      out.push({ inc: Atomics.load(this.i32, b + kTLast), reason: kReasons[Atomics.load(this.i32, b + kTReason)] ?? 'unknown' });
    }
    return out;
  }

  /** Marks the sweep of dead `inc` complete: frees its slot for a new incarnation and wakes `sync()`. */
  swept(inc: number): void {
    const i32 = this.i32;
    const b = threadBase(incSlot(inc));
    if (Atomics.load(i32, b + kTLast) !== inc) return;
    if (Atomics.compareExchange(i32, b + kTState, kStateDead, kStateFree) !== kStateDead) return;
    Atomics.add(i32, kDSwept, 1);
    Atomics.notify(i32, kDSwept);
  }

  /** Counters: deaths declared and swept so far. */
  deaths(): { declared: number; swept: number } {
    return { declared: Atomics.load(this.i32, kDDeclared), swept: Atomics.load(this.i32, kDSwept) };
  }

  /**
   * Resolves once every death declared before the call has been swept (Elixir's `:sync`). Any thread;
   * waits with `Atomics.waitAsync`, never blocking the event loop. Rejects after `timeoutMs`.
   */
  async sync(timeoutMs = 10_000): Promise<void> {
    const i32 = this.i32;
    const target = Atomics.load(i32, kDDeclared);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const swept = Atomics.load(i32, kDSwept);
      if (swept - target >= 0) return;
      if (Date.now() > deadline) throw new TimeoutError(`sweep not complete after ${timeoutMs} ms (is a coordinator running?)`);
      // ORDER: sleeps only while kDSwept is unchanged; swept() bumps it, then notifies.
      const r = Atomics.waitAsync(i32, kDSwept, swept, 50);
      if (r.async) await r.value;
    }
  }

  /** Sets the heartbeat period and the coordinator's incarnation (the coordinator calls this). */
  configure(heartbeatMs: number, coordinator: number): void {
    Atomics.store(this.i32, kDHeartbeatMs, heartbeatMs);
    Atomics.store(this.i32, kDCoordinator, coordinator);
  }

  /** This thread's slot heartbeat and the inc-by-slot table, for the coordinator's stall check. */
  heartbeats(): Array<{ inc: number; threadId: number; beat: number }> {
    const out: Array<{ inc: number; threadId: number; beat: number }> = [];
    for (let slot = 0; slot < kMaxThreads; slot++) {
      const b = threadBase(slot);
      const inc = Atomics.load(this.i32, b + kTLive);
      if (inc === 0) continue;
      out.push({ inc, threadId: Atomics.load(this.i32, b + kTThreadId), beat: Atomics.load(this.i32, b + kTHeartbeat) });
    }
    return out;
  }

  /** Incarnation of the running coordinator, or 0. */
  coordinator(): number {
    return Atomics.load(this.i32, kDCoordinator);
  }

  /** The domain's id (random, shared by every thread's view of it). */
  get id(): number {
    return Atomics.load(this.i32, kDId);
  }
}

const kDefaultHeartbeatMs = 100;

let current: Domain | undefined;

function sameBuffer(a: SharedArrayBuffer, b: SharedArrayBuffer): boolean {
  // Two SharedArrayBuffer objects for one memory carry the same random domain id.
  return Atomics.load(new Int32Array(a), kDId) === Atomics.load(new Int32Array(b), kDId);
}
