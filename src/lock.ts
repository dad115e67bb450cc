/**
 * `registry.lock(key, fn)`: an out-of-band mutex across threads, built on the registry's lock table (a
 * unique partition of its own, keyed by lock key).
 *
 * Taking the lock is a unique insert owned by the caller's pid; releasing it is removing that entry.
 * A waiter sleeps on the lock table's change counter with `Atomics.waitAsync` (never blocking its event
 * loop) and retries when a removal bumps it, or every 50 ms. A holder that dies stops being alive the
 * moment its death is declared, and a unique insert replaces an entry of a dead owner, so the next
 * waiter takes the lock over at its next retry; the sweep then removes the stale entry and wakes
 * everyone. Waiters are not served in FIFO order.
 *
 * @module
 */
import { encodeValue } from './codec.js';
import { pidInc, pidLocal } from './domain.js';
import type { KeyQuery, Table } from './table.js';
import type { Pid } from './types.js';

const kRetryMs = 50;
const kNone = encodeValue(undefined, 16);

/**
 * Runs `fn` holding lock `q` (a query the caller owns: it is kept across awaits) as process `pid`.
 * `check` runs after every wait (it throws once the registry is closed).
 */
export async function withLock<T>(locks: Table, q: KeyQuery, pid: Pid, fn: () => T | Promise<T>, check: () => void): Promise<T> {
  const inc = pidInc(pid);
  const local = pidLocal(pid);
  const word = locks.changeWord;
  for (;;) {
    const seen = Atomics.load(word.i32, word.index);
    if (locks.insert(q, kNone, inc, local, 'unique') === null) break;
    // ORDER: registers as a waiter, then sleeps only while the change counter is still `seen`; a
    // release bumps the counter, then notifies if any waiter is registered.
    Atomics.add(word.i32, word.waiters, 1);
    try {
      const r = Atomics.waitAsync(word.i32, word.index, seen, kRetryMs);
      if (r.async) await r.value;
    } finally {
      Atomics.sub(word.i32, word.waiters, 1);
    }
    check();
  }
  try {
    return await fn();
  } finally {
    locks.remove(q, inc, local);
  }
}
