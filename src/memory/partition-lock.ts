/**
 * The partition lock, between the read side (partition-read.ts) and the write side (table.ts).
 *
 * The lock word holds the writer's incarnation, never 0. `begin` takes it (spinning briefly, then
 * waiting on the word in 20 ms steps, beating this thread's heartbeat meanwhile) and refuses a thread
 * that was fenced or declared dead. `end` closes the modification seqlock if the write changed slots
 * and releases.
 *
 * **Recovery rule** (domain.ts): a lock is taken from its holder only once the holder is known to
 * have *stopped* — never because it was merely fenced — and only in `recover`. A stopped writer left
 * every slot at its before- or after-image (a slot store is one word), so recovery recomputes the
 * counters from the slots, closes the modification counter, and releases. A holder that is alive or
 * fenced is waited for at most kLockWaitMs; then the write fails with `TimeoutError` before changing
 * anything. Since nobody takes a lock from a running thread, a writer's stores need no fencing.
 *
 * @module
 */
import { RosterError, StaleIncarnationError, TimeoutError } from '../errors.js';
import {
  kBlobOwnerInc, kEmpty, kHArenaTop, kHChange, kHChangeWaiters, kHEpoch, kHIntentNew, kHIntentOld, kHIntentOp,
  kHIntentSlot, kHLive, kHRecoveries, kHRecovering, kHLiveWords, kHLock, kHLockWaiters, kHModHi, kHModLo, kHOwners, kHUsed, kMaxThreads,
  kOpCompact, kOpNone, kOpPublish, kOpRemove, kSlotWords, kTomb,
} from '../layout.js';
import { PartitionReader } from './partition-read.js';

/** The thread-slot bits of an incarnation: how slot tags and per-owner counts index owners. */
export const kOwnerMask = kMaxThreads - 1;

/**
 * Test-only: called at each step of a write, so a test can stop a writer there (see src/testing.ts).
 * Points: 'locked', 'intent', 'slot-hash', 'published', 'unpublished', 'rebuild-copy', 'rebuild-switch',
 * 'release'.
 */
export let crashHook: ((point: string) => void) | null = null;

/** Installs (or with null removes) the crash hook. Test-only. */
export function setCrashHook(fn: ((point: string) => void) | null): void {
  crashHook = fn;
}

const kSpins = 64;
const kWaitMs = 20;
/**
 * The longest a write waits for a partition lock held by a thread that is alive or fenced but not
 * known to have stopped. Healthy writers hold it for microseconds; a longer hold means the holder is
 * stalled, or died in a way its creating thread has not yet reported (it reports from its event loop,
 * which may be the very loop this wait blocks).
 */
export const kLockWaitMs = 2000;

/** A partition's lock and its recovery. Extended by `Table` (table.ts). */
export class PartitionLock extends PartitionReader {
  /**
   * Takes the partition lock for incarnation `me`. Spins briefly, then waits on the lock word in
   * 20 ms steps, re-checking the owner: a lock whose owner is known to have stopped is recovered here.
   * Throws `TimeoutError` after kLockWaitMs.
   */
  private acquire(me: number): void {
    const i32 = this.i32;
    // ORDER: a successful CAS is an acquire; the previous holder's writes are visible.
    if (Atomics.compareExchange(i32, kHLock, 0, me) === 0) return;
    for (let n = 0; n < kSpins; n++) {
      if (Atomics.load(i32, kHLock) === 0 && Atomics.compareExchange(i32, kHLock, 0, me) === 0) return;
    }
    Atomics.add(i32, kHLockWaiters, 1);
    try {
      const start = Date.now();
      for (;;) {
        const owner = Atomics.load(i32, kHLock);
        if (owner === 0) {
          if (Atomics.compareExchange(i32, kHLock, 0, me) === 0) return;
          continue;
        }
        if (owner === me) throw new RosterError('ROSTER_ERR_REENTRANT', 'partition lock is not reentrant');
        if (this.recover(owner) !== null) continue;
        // A thread that waits is alive: keep its heartbeat moving while its event loop cannot.
        this.domain.beat();
        // ORDER: waits only while the word still holds `owner`; release stores 0 and notifies.
        Atomics.wait(i32, kHLock, owner, kWaitMs);
        if (Date.now() - start > kLockWaitMs && Atomics.load(i32, kHLock) === owner) {
          throw new TimeoutError(
            `partition lock held for over ${kLockWaitMs} ms by a thread that is ${this.domain.describe(owner)} and not known to ` +
              'have stopped; nothing was written (retry once its exit is seen)',
          );
        }
      }
    } finally {
      Atomics.sub(i32, kHLockWaiters, 1);
    }
  }

  /**
   * Takes the lock only if that needs no waiting (recovering it from a stopped owner counts as no
   * waiting). Returns the incarnation to pass to `end`, or 0 if the lock is busy. The coordinator's
   * way in: it must never block on a lock, since it is the one who frees them.
   */
  protected tryBegin(): number {
    const me = this.domain.inc;
    const owner = Atomics.load(this.i32, kHLock);
    if (owner !== 0) this.recover(owner);
    if (Atomics.compareExchange(this.i32, kHLock, 0, me) !== 0) return 0;
    return this.#entered(me);
  }

  protected release(me: number): void {
    const i32 = this.i32;
    if (crashHook !== null) crashHook('release');
    i32[kHIntentOp] = kOpNone;
    // ORDER: the release store publishes every write made under the lock.
    Atomics.compareExchange(i32, kHLock, me, 0);
    if (Atomics.load(i32, kHLockWaiters) > 0) Atomics.notify(i32, kHLock, 1);
  }

  /**
   * Takes the lock (waiting at most kLockWaitMs) and refuses a thread that was fenced or declared dead.
   * Returns the incarnation to pass to `end`. Every write is
   * `const me = this.begin(); try { … } finally { this.end(me) }`.
   */
  protected begin(): number {
    const me = this.domain.inc;
    this.acquire(me);
    return this.#entered(me);
  }

  /** Just after taking the lock: refuses a fenced or dead thread, and syncs views with the epoch. */
  #entered(me: number): number {
    if (crashHook !== null) crashHook('locked');
    if (!this.domain.isAlive(me)) {
      this.release(me);
      throw new StaleIncarnationError('this thread was fenced or declared dead; its writes are refused');
    }
    const e = Atomics.load(this.i32, kHEpoch);
    if (e !== this.epoch) this.sync(e);
    return me;
  }

  protected end(me: number): void {
    if (this.dirty) this.modEnd();
    this.release(me);
  }

  private dirty = false;

  /** Marks the start of slot changes: the modification counter goes odd (once per write). */
  protected modBegin(): void {
    if (this.dirty) return;
    this.dirty = true;
    // ORDER: odd before the first slot or epoch store, so a reader that sees the old even value
    // afterwards knows no slot changed since it read that value.
    Atomics.store(this.i32, kHModLo, ((this.i32[kHModLo] as number) | 1));
  }

  /** Marks the end of slot changes: the counter goes to the next even value (and `hi` on a wrap). */
  private modEnd(): void {
    const i32 = this.i32;
    const next = ((i32[kHModLo] as number) + 1) | 0;
    // ORDER: on a wrap, `hi` moves before `lo` returns to even, so a reader never pairs an old `hi` with it.
    if (next === 0) Atomics.add(i32, kHModHi, 1);
    Atomics.store(i32, kHModLo, next);
    this.dirty = false;
  }

  /**
   * Recovers the lock held by `owner` if, and only if, `owner` is known to have stopped (the rule in
   * domain.ts). Exactly one caller wins the CAS from the stopped incarnation to its own, reads the dead
   * writer's intent, and settles it. A slot store is a single word, so the slot is already its
   * before-image ('back': the write never happened) or its after-image ('forward': it did); a rebuild
   * that did not reach its epoch switch is discarded ('back'). What may be half-done is the counters:
   * they are recomputed from the active bank's slots. Then the lock is released and the waiters woken.
   * Returns the outcome, or null if `owner` may still run, or another caller recovered first.
   */
  recover(owner: number): 'none' | 'back' | 'forward' | null {
    if (!this.domain.isStopped(owner)) return null;
    const me = this.domain.inc;
    // ORDER: counted in flight before the CAS, so whoever sees this thread's lock sees the count too.
    Atomics.add(this.i32, kHRecovering, 1);
    // ORDER: the CAS makes exactly one recoverer.
    if (Atomics.compareExchange(this.i32, kHLock, owner, me) !== owner) {
      Atomics.sub(this.i32, kHRecovering, 1);
      return null;
    }
    // ORDER: statistics only (observer).
    Atomics.add(this.i32, kHRecoveries, 1);
    try {
      this.sync(Atomics.load(this.i32, kHEpoch));
      // After sync: the dead writer may have grown the buffer, and sync refreshed the views.
      const i32 = this.i32;
      const e = this.epoch;
      const op = i32[kHIntentOp] as number;
      let outcome: 'none' | 'back' | 'forward' = 'none';
      if (op === kOpPublish || op === kOpRemove) {
        outcome = Atomics.load(i32, i32[kHIntentSlot] as number) === (i32[kHIntentNew] as number) ? 'forward' : 'back';
      } else if (op === kOpCompact) {
        outcome = e === (i32[kHIntentOld] as number) ? 'back' : 'forward';
      }
      this.recount();
      // A writer that died between its slot stores left the modification counter odd: close it.
      if (((i32[kHModLo] as number) & 1) === 1) this.modEnd();
      this.changed();
      return outcome;
    } finally {
      Atomics.sub(this.i32, kHRecovering, 1);
      this.release(me);
    }
  }

  /**
   * Without the lock: true if none of the thread `slots` (of stopped threads) has entries here, judged
   * from the per-owner counts while no recovery is in flight (they are exact then: only a recovery of a
   * writer that died between its slot store and its count update finds them low). The coordinator's
   * way past a partition whose lock a live or fenced thread holds. Any thread.
   */
  quietFor(slots: readonly number[]): boolean {
    if (Atomics.load(this.i32, kHRecovering) !== 0) return false;
    const owner = Atomics.load(this.i32, kHLock);
    if (owner !== 0 && this.domain.isStopped(owner)) return false; // its write may be half-counted
    return slots.every((slot) => this.ownerCount(slot) === 0);
  }

  /** The incarnation holding the lock, or 0. */
  lockOwner(): number {
    return Atomics.load(this.i32, kHLock);
  }

  /** Recomputes live/used/liveWords from the active bank (under the lock). */
  private recount(): void {
    const i32 = this.i32;
    let live = 0;
    let used = 0;
    let words = 0;
    let top = 0;
    // Counted aside and stored once each, so no count passes through zero on the way.
    const owners = new Int32Array(kMaxThreads);
    for (let i = 0; i <= this.mask; i++) {
      const off = i32[this.base + i * kSlotWords] as number;
      if (off === kEmpty) continue;
      used++;
      if (off === kTomb) continue;
      live++;
      const owner = (i32[off + kBlobOwnerInc] as number) & kOwnerMask;
      owners[owner] = (owners[owner] as number) + 1;
      const size = this.blobWords(off);
      words += size;
      top = Math.max(top, off + size - this.arenaBase);
    }
    i32.set(owners, kHOwners);
    i32[kHLive] = live;
    i32[kHUsed] = used;
    i32[kHLiveWords] = words;
    // Blobs bumped but never published sit above the highest live blob only if nothing followed them.
    i32[kHArenaTop] = Math.max(top, Atomics.load(i32, kHArenaTop));
  }

  /** Bumps the change counter and wakes `lock()` waiters, if any are parked on it. */
  protected changed(): void {
    const i32 = this.i32;
    // ORDER: bump, then check for waiters; a waiter registers before it re-reads the counter.
    Atomics.add(i32, kHChange, 1);
    if (Atomics.load(i32, kHChangeWaiters) > 0) Atomics.notify(i32, kHChange);
  }
}
