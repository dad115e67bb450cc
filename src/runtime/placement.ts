/**
 * The runtime's directory of schedulers, and placement: which scheduler a new actor goes to.
 *
 * The directory is one small shared buffer, `[count, inc₀, inc₁, …]`: each scheduler stores its
 * incarnation at its index when it starts (0 while it starts, or after it died and before a
 * replacement stored its own). Every thread of the runtime holds the same buffer (`Runtime.attach`).
 *
 * **Placement** (documented policy): an explicit index; `'local'`, the calling scheduler (or `'hash'`
 * off a scheduler); `'hash'`, the scheduler at `hash(name key) mod count` for a named spawn, round
 * robin for an unnamed one. A chosen scheduler that is not alive is skipped for the next live one.
 *
 * @module
 */
import { encodeKeyBytes } from '../memory/codec.js';
import { Domain } from '../domain/domain.js';
import { InvalidOptionError, NoProcError, describe } from '../errors.js';
import { hashBytes, hashString } from '../memory/hash.js';
import type { Key } from '../types.js';

/** Where a spawn goes: a scheduler index, `'local'` or `'hash'`. */
export type Placement = number | 'local' | 'hash';

let directory: Int32Array | undefined;
let roundRobin = 0;

/** Sets this thread's scheduler directory (Runtime.start / Runtime.attach / a scheduler's start). */
export function setDirectory(sab: SharedArrayBuffer): void {
  directory = new Int32Array(sab);
}

/** This thread's directory, if it joined a runtime. */
export function getDirectory(): Int32Array | undefined {
  return directory;
}

/** Allocates a directory for `count` schedulers. */
export function newDirectory(count: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer((1 + count) * 4);
  new Int32Array(sab)[0] = count;
  return sab;
}

function hashKey(key: Key): number {
  if (typeof key === 'string') return hashString(key);
  const { bytes, len } = encodeKeyBytes(key, 1 << 16);
  return hashBytes(bytes, len);
}

/** The incarnation of the scheduler a spawn goes to. Throws `NoProcError` when no scheduler is alive. */
export function pickScheduler(placement: Placement, key: Key | undefined): number {
  const dir = directory;
  if (dir === undefined) throw new NoProcError('no runtime in this thread: call Runtime.start() (main) or Runtime.attach(handle)');
  const n = Atomics.load(dir, 0);
  const domain = Domain.current();
  let i: number;
  if (typeof placement === 'number') {
    if (!Number.isSafeInteger(placement) || placement < 0 || placement >= n) {
      throw new InvalidOptionError(`expected scheduler to be an index from 0 to ${n - 1}, 'local' or 'hash', got: ${describe(placement)}`);
    }
    i = placement;
  } else if (placement === 'local' || placement === 'hash') {
    if (placement === 'local') {
      for (let j = 0; j < n; j++) if (Atomics.load(dir, 1 + j) === domain.inc) return domain.inc;
    }
    i = key !== undefined ? (hashKey(key) >>> 0) % n : roundRobin++ % n;
  } else {
    throw new InvalidOptionError(`expected scheduler to be an index, 'local' or 'hash', got: ${describe(placement)}`);
  }
  for (let k = 0; k < n; k++) {
    const inc = Atomics.load(dir, 1 + ((i + k) % n));
    if (inc !== 0 && domain.isAlive(inc)) return inc;
  }
  throw new NoProcError('no scheduler of this runtime is alive');
}
