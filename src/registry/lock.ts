/**
 * `registry.lock(key, fn)`: an out-of-band mutex across threads, built on the registry's lock table (a
 * unique partition of its own, keyed by lock key).
 *
 * Taking the lock is an insert (mode `lock`) owned by the caller's pid; releasing it is removing that
 * entry. A waiter sleeps on the lock table's change counter with `Atomics.waitAsync` (never blocking its
 * event loop; a ref'd timer keeps the process up meanwhile) and retries when a removal bumps it, or
 * every 50 ms. A holder's entry is taken over only once its thread is known to have *stopped* (its exit
 * was seen): a thread that was only fenced may still be inside `fn`, so mutual exclusion holds until
 * its stop is proven. The sweep then removes the stale entry and wakes everyone. Waiters are not
 * served in FIFO order.
 *
 * @module
 */
import { encodeValue } from '../memory/codec.js';
import { pidInc, pidLocal, waitFor } from '../domain/domain.js';
import type { KeyQuery, Table } from '../memory/table.js';
import type { Pid } from '../types.js';

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
    if (locks.insert(q, kNone, inc, local, 'lock') === null) break;
    // ORDER: registers as a waiter, then sleeps only while the change counter is still `seen`; a
    // release bumps the counter, then notifies if any waiter is registered.
    Atomics.add(word.i32, word.waiters, 1);
    try {
      await waitFor(word.i32, word.index, seen, kRetryMs);
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
