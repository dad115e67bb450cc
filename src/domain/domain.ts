/**
 * Process ids, thread incarnations and the thread-slot state machine.
 *
 * Folder `src/domain/` (layer 1; imports nothing above it): who runs. Pids (pid.ts), the thread-slot
 * table and its state machine (here), the domain header's words and `sync` (domain-header.ts),
 * heartbeats and waits (heartbeat.ts), the automatic watch of every worker (watch.ts), the acting
 * process (process.ts), the channel between threads and the coordinator (control.ts).
 *
 * A domain is one shared buffer that every registry of a process tree points at (layout in
 * layout.ts). Each thread that writes claims a thread slot and gets an incarnation:
 * `inc = gen << 10 | slot`, where `gen` is the slot's own generation (12 bits, never 0), so an
 * incarnation is not reused until its slot has served 4095 further threads (about 4.2 million thread
 * starts in a domain, since threads spread over the 1024 slots). A pid is `inc × 2^31 + local` (53 bits):
 * local 0 is the thread's own process; the actor runtime hands out further ones, up to 2^31 − 1 per
 * thread incarnation, never reused.
 *
 * ## Thread-slot state machine
 *
 * The state word is `threadId << 3 | code`. Every transition is one CAS on it, so exactly one thread
 * makes each transition, and the word always names the thread the slot belongs to.
 *
 * ```
 *            claim (the thread itself)          publish (the thread itself)
 *   Free ───────────────────────────► Claiming ──────────────────────────► Alive ───┐
 *    ▲                                   │                                   │     │ fence (coordinator:
 *    │ free (reaper: exit seen)          │                                   │     │ stalled, supervisor
 *    ├───────────────────────────────────┘                                   │     ▼ did not stop it)
 *    │                                                   stopped (reaper:    │   Fenced
 *    │ swept (coordinator, after every registry          exit seen)          │     │
 *    │ was swept of it; or the reaper when no     ◄──────────────────────────┘     │ stopped (reaper)
 *    └──────────── coordinator runs) ─────────── Dead ◄──────────────────────────────┘
 * ```
 *
 * | state    | `live` | what it means                                     | lock of this inc        |
 * |----------|--------|---------------------------------------------------|-------------------------|
 * | Free     | 0      | no thread                                         | —                       |
 * | Claiming | 0      | a thread is setting the slot up; owns nothing yet | never held              |
 * | Alive    | inc    | running; its entries are visible                  | waited for              |
 * | Fenced   | 0      | declared stalled but maybe still running: entries | waited for (never taken |
 * |          |        | hidden, new writes refused, unique keys taken over | over: it may still write)|
 * | Dead     | 0      | known to have stopped; entries await the sweep     | recovered by any waiter |
 *
 * **The rule** (applied in one place, `PartitionLock.recover`): a lock, or a `lock()` entry, of an
 * incarnation is taken over only once the incarnation is *stopped* (`isStopped`): Dead, or its slot
 * has moved on. A thread is known to have stopped only when its `'exit'` was seen by the thread that
 * created it (`supervise`, or the automatic watch in watch.ts; Node stops a thread's own workers
 * before its `'exit'` fires, so their slots follow). A fenced thread that never stops keeps its locks:
 * writers to that partition time out with a clear error rather than corrupt it.
 *
 * **Kills between steps** (any thread may be terminated between two statements):
 * - claim: between the CAS and the `Alive` CAS, the slot is Claiming and names the thread, so its
 *   reaper frees it. Between `Alive` and `live`, the reaper finds Alive and declares it Dead.
 * - fence / stopped: the state CAS decides; `live` is cleared one step later. A declarer killed in
 *   between leaves `live` set on a Fenced or Dead slot: `repair` (run by the coordinator every round)
 *   clears it.
 * - swept: a kill after the CAS to Free only leaves the `swept` statistic one behind; `sync()` does
 *   not read counters, it waits for the slots it saw Dead to move on.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { getEnvironmentData, setEnvironmentData, threadId } from 'node:worker_threads';
import { CapacityError, RosterError } from '../errors.js';
import {
  kCoordStarting, kDDeclared, kDFenced, kDGen, kDId, kDMagic, kDSwept, kDVersion,
  kDomainMagic, kDomainWords, kLayoutVersion, kMaxThreadId, kMaxThreads, kStateAlive, kStateBits, kStateClaiming,
  kStateDead, kStateFenced, kStateFree, kStateMask, kTHeartbeat, kTLast, kTLive, kTNextLocal, kTParent, kTReason, kTState,
  kGenBits, kThreadSlotBits, threadBase,
} from '../layout.js';
import type { Pid } from '../types.js';
import { DomainHeader, kReasons, type DeadThread, type DeathReason } from './domain-header.js';
import { readHeartbeats, startHeartbeat } from './heartbeat.js';
import { incSlot, makePid, nextLocal } from './pid.js';
import { watchWorkers } from './watch.js';

export { incSlot, isPid, makePid, pidInc, pidLocal } from './pid.js';
export { kReasons, type DeadThread, type DeathReason } from './domain-header.js';
export { waitFor } from './heartbeat.js';
export { markSupervised } from './watch.js';

const kEnvKey = 'roster.domain';
const kEnvParent = 'roster.parent';

/**
 * The thread that created this one, if it had loaded Roster (read before this thread overwrites it
 * for its own children). Threads record it in their slot so that a parent's exit stops them too.
 */
const parentTid: number = (() => {
  const p = getEnvironmentData(kEnvParent);
  setEnvironmentData(kEnvParent, threadId);
  return typeof p === 'number' ? p : -1;
})();

const word = (tid: number, code: number): number => (tid << kStateBits) | code;

/**
 * One process tree's liveness table: the thread slots and their state machine. Instances are per
 * thread; the buffer is shared.
 */
export class Domain extends DomainHeader {
  #inc = 0;
  #base = -1;

  private constructor(sab: SharedArrayBuffer) {
    super(sab);
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

  /** This thread's domain if it has one (or inherited one), without creating a new one. */
  static existing(): Domain | undefined {
    if (current !== undefined) return current;
    const inherited = getEnvironmentData(kEnvKey);
    return inherited instanceof SharedArrayBuffer ? Domain.adopt(inherited) : undefined;
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
    if (i32.length < kDomainWords || Atomics.load(i32, kDMagic) !== kDomainMagic || Atomics.load(i32, kDVersion) !== kLayoutVersion) {
      throw new RosterError('ROSTER_ERR_DOMAIN', 'not a Roster domain buffer of this version');
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
    if (threadId > kMaxThreadId) throw new CapacityError(`threadId ${threadId} is past the ${kMaxThreadId} a thread slot can name`);
    const start = threadId % kMaxThreads;
    for (let k = 0; k < kMaxThreads; k++) {
      const slot = (start + k) % kMaxThreads;
      const b = threadBase(slot);
      // ORDER: the CAS claims the slot and names this thread in one step, so a reaper that sees this
      // thread exit can always find (and free) a half-made claim.
      if (Atomics.compareExchange(i32, b + kTState, kStateFree, word(threadId, kStateClaiming)) !== kStateFree) continue;
      Atomics.add(i32, kDGen, 1);
      // The slot's next generation (never 0): the previous incarnation's, plus one.
      let gen = ((Atomics.load(i32, b + kTLast) >>> kThreadSlotBits) + 1) & ((1 << kGenBits) - 1);
      if (gen === 0) gen = 1;
      const inc = (gen << kThreadSlotBits) | slot;
      Atomics.store(i32, b + kTLast, inc);
      Atomics.store(i32, b + kTNextLocal, 1);
      Atomics.store(i32, b + kTReason, 0);
      Atomics.store(i32, b + kTHeartbeat, 0);
      Atomics.store(i32, b + kTParent, parentTid);
      Atomics.compareExchange(i32, b + kTState, word(threadId, kStateClaiming), word(threadId, kStateAlive));
      // ORDER: `live` last: once it is visible, the incarnation is fully set up.
      Atomics.store(i32, b + kTLive, inc);
      this.#inc = inc;
      this.#base = b;
      startHeartbeat(i32, b, inc);
      return inc;
    }
    throw new CapacityError(`more than ${kMaxThreads} live threads in one domain`);
  }

  /**
   * Beats once from code that waits synchronously (a partition lock, an announcement): a thread that
   * waits is alive even though its event loop does not run. Calling thread only; one atomic add.
   */
  beat(): void {
    if (this.#base >= 0) Atomics.add(this.i32, this.#base + kTHeartbeat, 1);
  }

  /** True while incarnation `inc` is Alive (neither fenced nor dead). Any thread; one atomic load. */
  isAlive(inc: number): boolean {
    // ORDER: seq-cst load; a fence or death declared before this load is seen.
    return Atomics.load(this.i32, threadBase(incSlot(inc)) + kTLive) === inc;
  }

  /**
   * True once incarnation `inc` is known to have stopped running: its slot is Dead, or has moved on
   * (freed, or claimed again). Only then may its partition locks or `lock()` entries be taken over.
   * Any thread; two atomic loads.
   */
  isStopped(inc: number): boolean {
    const b = threadBase(incSlot(inc));
    const code = Atomics.load(this.i32, b + kTState) & kStateMask;
    if (code !== kStateAlive && code !== kStateFenced) return true;
    // ORDER: a slot moves on only through Dead → Free → Claiming, which rewrites `last`.
    return Atomics.load(this.i32, b + kTLast) !== inc;
  }

  /** A description of `inc`'s state for error messages: 'alive', 'fenced (may still be running)', 'dead'. */
  describe(inc: number): string {
    const b = threadBase(incSlot(inc));
    if (Atomics.load(this.i32, b + kTLast) !== inc) return 'gone';
    const code = Atomics.load(this.i32, b + kTState) & kStateMask;
    return code === kStateAlive ? 'alive' : code === kStateFenced ? 'fenced (it may still be running)' : code === kStateDead ? 'dead' : 'gone';
  }

  /**
   * Why `inc` died, while its slot still says so ('stalled' for a fenced thread); `'exited'` once the
   * slot moved on, `'alive'` while it lives. Any thread; three loads.
   */
  reasonOf(inc: number): DeathReason | 'exited' | 'alive' {
    const b = threadBase(incSlot(inc));
    if (Atomics.load(this.i32, b + kTLast) !== inc) return 'exited';
    const code = Atomics.load(this.i32, b + kTState) & kStateMask;
    if (code === kStateAlive && Atomics.load(this.i32, b + kTLive) === inc) return 'alive';
    return kReasons[Atomics.load(this.i32, b + kTReason)] ?? 'unknown';
  }

  /** Allocates a new local process index for this thread (actor runtime). */
  nextLocal(): number {
    return nextLocal(this.i32, this.inc);
  }

  /**
   * Fences incarnation `inc`: Alive → Fenced. Called by the coordinator when a stalled thread was not
   * stopped by its supervisor. Its entries vanish from lookups and its next write is refused, but its
   * locks stay held until it is known to have stopped. Returns false if it was not Alive.
   */
  fence(inc: number): boolean {
    const i32 = this.i32;
    const b = threadBase(incSlot(inc));
    const st = Atomics.load(i32, b + kTState);
    if ((st & kStateMask) !== kStateAlive || Atomics.load(i32, b + kTLast) !== inc) return false;
    // ORDER: the state CAS decides; `live` is cleared after it (repair() finishes a killed fencer's job).
    if (Atomics.compareExchange(i32, b + kTState, st, (st & ~kStateMask) | kStateFenced) !== st) return false;
    Atomics.store(i32, b + kTReason, kReasons.indexOf('stalled'));
    Atomics.compareExchange(i32, b + kTLive, inc, 0);
    Atomics.add(i32, kDFenced, 1);
    return true;
  }

  /**
   * Called when the thread `tid` has stopped (its Worker's `'exit'` was seen): a half-made claim is
   * freed, an Alive or Fenced incarnation becomes Dead, and so, transitively, do the threads it
   * created (Node stops them before the parent's `'exit'`). Without a coordinator the slot is freed
   * at once (nothing would sweep it; its entries stay hidden and are replaced or swept later).
   * Returns the incarnations declared dead.
   */
  reap(tid: number, reason: DeathReason): number[] {
    const declared: number[] = [];
    const queue = [tid];
    const seen = new Set<number>();
    while (queue.length > 0) {
      const t = queue.pop() as number;
      if (seen.has(t)) continue;
      seen.add(t);
      for (let slot = 0; slot < kMaxThreads; slot++) {
        const b = threadBase(slot);
        const st = Atomics.load(this.i32, b + kTState);
        if (st >>> kStateBits === t) {
          const inc = this.#stopped(b, st, t === tid ? reason : 'terminated');
          if (inc !== 0) declared.push(inc);
        }
        if (t !== -1 && Atomics.load(this.i32, b + kTParent) === t && (st & kStateMask) !== kStateFree) queue.push(st >>> kStateBits);
      }
    }
    return declared;
  }

  /** One slot of a stopped thread: Claiming → Free, Alive/Fenced → Dead. Returns the inc declared, or 0. */
  #stopped(b: number, st: number, reason: DeathReason): number {
    const i32 = this.i32;
    const code = st & kStateMask;
    if (code === kStateClaiming) {
      // It never finished claiming, so it owns nothing.
      Atomics.compareExchange(i32, b + kTState, st, kStateFree);
      return 0;
    }
    if (code !== kStateAlive && code !== kStateFenced) return 0;
    const inc = Atomics.load(i32, b + kTLast);
    if (Atomics.compareExchange(i32, b + kTState, st, (st & ~kStateMask) | kStateDead) !== st) return 0;
    // A fenced thread keeps 'stalled' as its reason.
    if (code === kStateAlive) Atomics.store(i32, b + kTReason, Math.max(0, kReasons.indexOf(reason)));
    Atomics.compareExchange(i32, b + kTLive, inc, 0);
    // ORDER: counted after the state store, so a sweeper woken by this count finds the slot dead.
    Atomics.add(i32, kDDeclared, 1);
    if (!this.#coordinated(inc)) this.#free(b, inc);
    Atomics.notify(i32, kDDeclared);
    return inc;
  }

  /** True while a coordinator other than `inc` runs (or starts), which will sweep and free dead slots. */
  #coordinated(inc: number): boolean {
    const c = this.coordinator();
    return c === kCoordStarting || (c !== 0 && c !== inc && !this.isStopped(c));
  }

  /** Frees every Dead slot without sweeping it (the coordinator stopped; a later one sweeps by liveness). */
  freeUnswept(): void {
    for (const d of this.deadUnswept()) this.#free(threadBase(incSlot(d.inc)), d.inc);
  }

  readonly #stuck = new Map<number, number>();

  /**
   * Clears `live` of Fenced and Dead slots whose declarer was killed before it did: a slot seen that
   * way for 100 ms (a declarer still running finishes in microseconds, and its reason must be stored
   * before `live` is cleared). Coordinator; one scan.
   */
  repair(now = Date.now()): void {
    for (let slot = 0; slot < kMaxThreads; slot++) {
      const b = threadBase(slot);
      const code = Atomics.load(this.i32, b + kTState) & kStateMask;
      const live = code === kStateFenced || code === kStateDead ? Atomics.load(this.i32, b + kTLive) : 0;
      if (live === 0) {
        this.#stuck.delete(slot);
        continue;
      }
      const since = this.#stuck.get(slot);
      if (since === undefined) this.#stuck.set(slot, now);
      else if (now - since >= 100) {
        Atomics.compareExchange(this.i32, b + kTLive, live, 0);
        this.#stuck.delete(slot);
      }
    }
  }

  /** Dead incarnations whose sweep has not completed (their `live` already cleared). */
  deadUnswept(): DeadThread[] {
    const out: DeadThread[] = [];
    for (let slot = 0; slot < kMaxThreads; slot++) {
      const b = threadBase(slot);
      if ((Atomics.load(this.i32, b + kTState) & kStateMask) !== kStateDead || Atomics.load(this.i32, b + kTLive) !== 0) continue;
      out.push({ inc: Atomics.load(this.i32, b + kTLast), reason: kReasons[Atomics.load(this.i32, b + kTReason)] ?? 'unknown' });
    }
    return out;
  }

  /** Fenced incarnations (declared stalled, not yet known to have stopped). */
  fenced(): number[] {
    const out: number[] = [];
    for (let slot = 0; slot < kMaxThreads; slot++) {
      const b = threadBase(slot);
      if ((Atomics.load(this.i32, b + kTState) & kStateMask) === kStateFenced) out.push(Atomics.load(this.i32, b + kTLast));
    }
    return out;
  }

  /** Marks the sweep of dead `inc` complete: Dead → Free, so the slot can serve a new thread. Coordinator. */
  swept(inc: number): void {
    this.#free(threadBase(incSlot(inc)), inc);
  }

  #free(b: number, inc: number): void {
    const i32 = this.i32;
    const st = Atomics.load(i32, b + kTState);
    if ((st & kStateMask) !== kStateDead || Atomics.load(i32, b + kTLast) !== inc) return;
    if (Atomics.compareExchange(i32, b + kTState, st, kStateFree) !== st) return;
    Atomics.add(i32, kDSwept, 1);
    Atomics.notify(i32, kDSwept);
  }

  /** Live incarnations with their thread and heartbeat, for the coordinator's stall check. */
  heartbeats(): Array<{ inc: number; threadId: number; beat: number }> {
    return readHeartbeats(this.i32);
  }
}

let current: Domain | undefined;

function sameBuffer(a: SharedArrayBuffer, b: SharedArrayBuffer): boolean {
  // Two SharedArrayBuffer objects for one memory carry the same random domain id.
  return Atomics.load(new Int32Array(a), kDId) === Atomics.load(new Int32Array(b), kDId);
}

// Every Worker created by a thread that loaded Roster is watched (watch.ts).
watchWorkers((tid, reason) => Domain.existing()?.reap(tid, reason));
