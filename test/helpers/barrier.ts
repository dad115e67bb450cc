/**
 * Shared-memory rendezvous for tests: a reusable barrier, a phase word the main thread advances,
 * and an abort flag. All waits are `Atomics.wait` on a shared word with a deadline (never sleeps);
 * they wake in slices only to notice an abort, and throw on timeout so a deadlock fails the test
 * instead of hanging it.
 *
 * Control block (Int32Array over a SharedArrayBuffer):
 * ```
 *  [0] kArrived  threads arrived at the current barrier generation
 *  [1] kGen      barrier generation; bumped by the last arriver
 *  [2] kPhase    main-thread phase word (workers wait until it reaches a target)
 *  [3] kStop     stop flag (1 = stop running)
 *  [4] kAbort    abort flag (1 = some thread failed; everyone bails out)
 * ```
 *
 * @module
 */

export const kArrived = 0;
export const kGen = 1;
export const kPhase = 2;
export const kStop = 3;
export const kAbort = 4;
const kWords = 16;
const kSliceMs = 50;

/** A fresh control block. */
export function makeControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(kWords * Int32Array.BYTES_PER_ELEMENT));
}

/** Thrown by a wait when another thread set the abort flag or the deadline passed. */
export class RendezvousError extends Error {}

function checkAbort(ctl: Int32Array, what: string): void {
  if (Atomics.load(ctl, kAbort) !== 0) throw new RendezvousError(`${what}: aborted by another thread`);
}

/**
 * Blocks until `parties` threads have called `barrier` for this generation. Reusable.
 * ORDER: every write made before the barrier happens-before every read made after it by any party
 * (Atomics.add / Atomics.load are sequentially consistent).
 */
export function barrier(ctl: Int32Array, parties: number, timeoutMs = 30_000): void {
  const gen = Atomics.load(ctl, kGen);
  if (Atomics.add(ctl, kArrived, 1) === parties - 1) {
    // INVARIANT: reset the count before publishing the new generation, so a fast thread entering
    // the next barrier counts from 0.
    Atomics.store(ctl, kArrived, 0);
    Atomics.add(ctl, kGen, 1);
    Atomics.notify(ctl, kGen);
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Atomics.load(ctl, kGen) === gen) {
    checkAbort(ctl, 'barrier');
    const left = deadline - Date.now();
    if (left <= 0) throw new RendezvousError(`barrier: timed out after ${timeoutMs} ms (gen ${gen})`);
    Atomics.wait(ctl, kGen, gen, Math.min(left, kSliceMs));
  }
}

/** Blocks until the phase word is at least `target` (set by the main thread with `setPhase`). */
export function waitPhase(ctl: Int32Array, target: number, timeoutMs = 30_000): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cur = Atomics.load(ctl, kPhase);
    if (cur >= target) return;
    checkAbort(ctl, 'waitPhase');
    const left = deadline - Date.now();
    if (left <= 0) throw new RendezvousError(`waitPhase(${target}): timed out at phase ${cur}`);
    Atomics.wait(ctl, kPhase, cur, Math.min(left, kSliceMs));
  }
}

/** Main thread: advances the phase word and wakes every waiter. */
export function setPhase(ctl: Int32Array, phase: number): void {
  Atomics.store(ctl, kPhase, phase);
  Atomics.notify(ctl, kPhase);
}

/** Sets the abort flag and wakes every waiter (any thread). */
export function abort(ctl: Int32Array): void {
  Atomics.store(ctl, kAbort, 1);
  Atomics.notify(ctl, kGen);
  Atomics.notify(ctl, kPhase);
}
