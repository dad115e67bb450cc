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
import { AsyncLocalStorage } from 'node:async_hooks';
import { encodeValue } from '../memory/codec.js';
import { pidInc, pidLocal, waitFor } from '../domain/domain.js';
import { self } from '../domain/process.js';
import { InvalidOptionError, RosterError, describe } from '../errors.js';
import type { KeyQuery, Table } from '../memory/table.js';
import type { RegistryCore } from './core.js';
import type { Key, Pid } from '../types.js';

const kRetryMs = 50;
const kNone = encodeValue(undefined, 16);

/**
 * `lock()` holds of the current async context: a nested `lock()` of a key still held throws. A hold
 * is marked released when its `fn` settles, so continuations that outlive it are not refused.
 */
const heldLocks = new AsyncLocalStorage<ReadonlyArray<{ readonly id: string; held: boolean }>>();

/** `registry.lock(lockKey, fn)` (documented there): refuses a nested `lock()` of a key still held, then `withLock`. */
export async function runLocked<T>(r: RegistryCore, lockKey: Key, fn: () => T | Promise<T>): Promise<T> {
  r.check();
  if (typeof fn !== 'function') throw new InvalidOptionError(`expected lock's fn to be a function, got: ${describe(fn)}`);
  const q = r.ownQuery(lockKey);
  const id = `${r.handle.id}\u0000${q.isString ? `s${q.str}` : `b${Buffer.from(q.bytes.subarray(0, q.len)).toString('base64')}`}`;
  const held = (heldLocks.getStore() ?? []).filter((h) => h.held);
  if (held.some((h) => h.id === id)) {
    throw new RosterError('ROSTER_ERR_REENTRANT', `${r.name}: lock(${describe(lockKey)}) called again inside its own fn; lock() is not reentrant`);
  }
  const hold = { id, held: true };
  const inner = [...held, hold];
  return withLock(r.locks, q, self(), async () => {
    try {
      return await heldLocks.run(inner, fn);
    } finally {
      hold.held = false;
    }
  }, () => r.check());
}

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
