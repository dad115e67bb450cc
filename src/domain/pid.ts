/**
 * Pids and incarnations: the arithmetic, and handing out local process indexes. An incarnation is
 * `gen << 10 | slot` (see domain.ts); a pid is `inc × 2^31 + local` (53 bits), where local 0 is the
 * thread's own process.
 *
 * Threads: any. Everything but `nextLocal` is pure.
 *
 * @module
 */
import { CapacityError } from '../errors.js';
import { kLocalLimit, kMaxThreads, kTNextLocal, threadBase } from '../layout.js';
import type { Pid } from '../types.js';

/** Builds a pid from an incarnation and a local process index. */
export function makePid(inc: number, local: number): Pid {
  return inc * kLocalLimit + local;
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

/** Allocates a new local process index for incarnation `inc`, the calling thread's own (actor runtime). */
export function nextLocal(i32: Int32Array, inc: number): number {
  const b = threadBase(incSlot(inc));
  const local = Atomics.add(i32, b + kTNextLocal, 1);
  if (local >= kLocalLimit) {
    throw new CapacityError(`this thread has handed out all ${kLocalLimit - 1} process ids of its incarnation; replace the thread`);
  }
  return local;
}
