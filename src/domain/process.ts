/**
 * The calling process. Registry calls act for the *current process* of the calling thread: the thread's
 * own process (local index 0), unless code runs on behalf of an actor: the actor runtime runs every
 * handler inside `runAsActor`, whose identity survives `await`s (AsyncLocalStorage), and `runAs` sets
 * one synchronously.
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Domain, makePid, pidInc } from './domain.js';
import { RosterError } from '../errors.js';
import type { Pid } from '../types.js';

let acting: Pid | undefined;
const actor = new AsyncLocalStorage<Pid>();

/**
 * The current process: inside an actor's handler (also after an `await`), the actor; otherwise the
 * calling thread's own process. Any thread. Claims the thread's incarnation on first use.
 */
export function self(): Pid {
  return acting ?? actor.getStore() ?? Domain.current().self;
}

/** Runs `fn` as actor `pid` (of the calling thread), for `fn`'s whole async extent. The runtime's hook. */
export function runAsActor<T>(pid: Pid, fn: () => T): T {
  return actor.run(pid, fn);
}

/**
 * Runs `fn` as process `pid`, which must belong to the calling thread (the actor runtime's hook).
 * Synchronous: the identity does not survive an `await` inside `fn`.
 */
export function runAs<T>(pid: Pid, fn: () => T): T {
  const domain = Domain.current();
  if (pidInc(pid) !== domain.inc) throw new RosterError('ROSTER_ERR_NOT_OWNER', 'a thread may only act as its own processes');
  const prev = acting;
  acting = pid;
  try {
    return fn();
  } finally {
    acting = prev;
  }
}

/** A new process id owned by the calling thread (for the actor runtime). */
export function spawnPid(): Pid {
  const domain = Domain.current();
  return makePid(domain.inc, domain.nextLocal());
}
