/**
 * The demo's shared memory, defined once for `scripts/demo.ts` (main thread) and
 * `workers/demo-worker.ts` (one per thread).
 *
 * @module
 */
import type { RegistryHandle } from '../../src/index.js';

/** Control words in `ctl`. */
export const kArrived = 0;
export const kGen = 1;
export const kStop = 2;
export const kRelease = 3;

/** Float64 counters per thread in `counters`, `kCounters` apiece. */
export const kCounters = 5;
export const kLookups = 0;
export const kRegisters = 1;
export const kUnregisters = 2;
export const kViolations = 3;
/** Entries the thread holds, updated after every write (so it is exact when the thread is killed, ± the write in flight). */
export const kHeld = 4;

export interface DemoWorkerData {
  handle: RegistryHandle;
  index: number;
  threads: number;
  keysPerThread: number;
  /** [0] arrived, [1] generation, [2] stop, [3] release (after the main thread's check). */
  ctl: Int32Array;
  /** Per thread: kCounters float64 words (lookups, registers, unregisters, violations, held). */
  counters: Float64Array;
  /** Per thread: its pid, published before the barrier. */
  pids: Float64Array;
  seed: number;
}
