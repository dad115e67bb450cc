/**
 * The header line of a domain buffer (layout.ts): the coordinator role, the counters of deaths
 * declared, swept and fenced, the registries open and the heartbeat period, and `sync`, which waits on
 * them. `Domain` (domain.ts) extends it with the thread-slot table and its state machine.
 *
 * @module
 */
import { InvalidOptionError, RosterError, TimeoutError, describe } from '../errors.js';
import {
  kCoordStarting, kDCoordinator, kDDeclared, kDFenced, kDHeartbeatMs, kDId, kDRegistries, kDSettled, kDSwept, kMaxThreads,
  kStateDead, kStateMask, kTLast, kTLive, kTState, threadBase,
} from '../layout.js';
import { waitFor } from './heartbeat.js';
import { incSlot } from './pid.js';

/** Reason codes stored when a thread is declared dead. */
export const kReasons = ['unknown', 'exit', 'error', 'terminated', 'out_of_memory', 'stalled'] as const;
export type DeathReason = (typeof kReasons)[number];

/** A dead incarnation awaiting its sweep. */
export interface DeadThread {
  readonly inc: number;
  readonly reason: DeathReason;
}

/** The header words of one process tree's domain. Instances are per thread; the buffer is shared. */
export abstract class DomainHeader {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;

  protected constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.i32 = new Int32Array(sab);
  }

  /** True once incarnation `inc` is known to have stopped running (see domain.ts). */
  abstract isStopped(inc: number): boolean;

  /** Dead incarnations whose sweep has not completed (see domain.ts). */
  abstract deadUnswept(): DeadThread[];

  /** Statistics: deaths declared and swept, and threads fenced, so far. */
  deaths(): { declared: number; swept: number; fenced: number } {
    return {
      declared: Atomics.load(this.i32, kDDeclared),
      swept: Atomics.load(this.i32, kDSwept),
      fenced: Atomics.load(this.i32, kDFenced),
    };
  }

  /**
   * Resolves once every thread that was Dead at the call has been swept (its slot moved on), and the
   * running coordinator has swept every open registry at least once: Elixir's `:sync`. Any thread;
   * waits with `Atomics.waitAsync` (and a ref'd timer, so the process stays up), never blocking the
   * event loop. Rejects with `TimeoutError` after `timeoutMs`, and at once with
   * `ROSTER_ERR_NO_COORDINATOR` when no coordinator runs.
   */
  async sync(timeoutMs = 10_000): Promise<void> {
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > 2 ** 31) {
      throw new InvalidOptionError(`expected timeoutMs to be a number of ms > 0, got: ${describe(timeoutMs)}`);
    }
    const i32 = this.i32;
    const pending = this.deadUnswept().map((d) => d.inc);
    for (let slot = 0; slot < kMaxThreads; slot++) {
      // Deaths still clearing `live` count too: they were declared before the call.
      const b = threadBase(slot);
      if ((Atomics.load(i32, b + kTState) & kStateMask) === kStateDead && Atomics.load(i32, b + kTLive) !== 0) pending.push(Atomics.load(i32, b + kTLast));
    }
    if (this.coordinator() === 0) {
      throw new RosterError('ROSTER_ERR_NO_COORDINATOR', 'no coordinator runs in this domain: nothing would sweep; start one with Coordinator.start()');
    }
    const deadline = Date.now() + timeoutMs;
    const waiting = (inc: number): boolean => {
      const b = threadBase(incSlot(inc));
      return (Atomics.load(i32, b + kTState) & kStateMask) === kStateDead && Atomics.load(i32, b + kTLast) === inc;
    };
    for (;;) {
      const swept = Atomics.load(i32, kDSwept);
      // ORDER: also until the coordinator has swept every open registry once (kDSettled), so deaths
      // freed while no coordinator ran are swept too.
      if (!pending.some(waiting) && Atomics.load(i32, kDSettled) === 1) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`sweep not complete after ${timeoutMs} ms (is a coordinator running?)`);
      // ORDER: sleeps only while kDSwept is unchanged; every Dead → Free bumps it, then notifies.
      await waitFor(i32, kDSwept, swept, Math.min(left, 50));
    }
  }

  /** Records whether the coordinator knows and has swept every open registry (the coordinator calls this). */
  settle(settled: boolean): void {
    if (Atomics.load(this.i32, kDSettled) !== (settled ? 1 : 0)) {
      Atomics.store(this.i32, kDSettled, settled ? 1 : 0);
      Atomics.add(this.i32, kDSwept, 0);
      Atomics.notify(this.i32, kDSwept);
    }
  }

  /** Sets the heartbeat period and the coordinator's incarnation (the coordinator calls this). */
  configure(heartbeatMs: number, coordinator: number): void {
    Atomics.store(this.i32, kDHeartbeatMs, heartbeatMs);
    Atomics.store(this.i32, kDCoordinator, coordinator);
  }

  /** Incarnation of the running coordinator, kCoordStarting while one starts, or 0. */
  coordinator(): number {
    return Atomics.load(this.i32, kDCoordinator);
  }

  /**
   * Claims the coordinator role for a start: 0 (or a stopped coordinator) → kCoordStarting. Returns
   * false if a coordinator runs or is starting. Any thread; one CAS.
   */
  claimCoordinator(): boolean {
    for (;;) {
      const c = this.coordinator();
      if (c !== 0 && (c === kCoordStarting || !this.isStopped(c))) return false;
      if (Atomics.compareExchange(this.i32, kDCoordinator, c, kCoordStarting) === c) return true;
    }
  }

  /** Gives up the coordinator role held by `inc` (or a failed start): back to 0. */
  releaseCoordinator(inc: number): void {
    if (Atomics.compareExchange(this.i32, kDCoordinator, inc, 0) === inc) Atomics.store(this.i32, kDSettled, 0);
  }

  /** Counts a registry opened (+1) or closed (−1) in this domain; the coordinator waits until it knows each. */
  registryOpened(delta: 1 | -1): void {
    Atomics.add(this.i32, kDRegistries, delta);
  }

  /** Registries open in this domain. */
  registriesOpen(): number {
    return Atomics.load(this.i32, kDRegistries);
  }

  /** The domain's id (random, shared by every thread's view of it). */
  get id(): number {
    return Atomics.load(this.i32, kDId);
  }
}
