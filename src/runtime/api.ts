/**
 * Messaging and processes, from any thread of the domain: `spawn`, `call`, `cast`, `send`, `reply`,
 * `monitor`, `demonitor`, `stopProcess`, and `via` names. Inside an actor's handler they act as that
 * actor (also after an `await`); elsewhere as the calling thread's own process.
 *
 * A target is a pid or `via(registry, key)`. A via name resolves through the registry's lookup path
 * (its per-thread cache re-validates every hit against shared memory), so a stale pid is never used.
 *
 * **Delivery:** at most once; FIFO per sender→receiver pair; no order across senders. A call carries
 * its deadline, and a request whose deadline passed before its handler ran is dropped, not run.
 *
 * @module
 */
import { Domain, isPid, makePid, pidInc, pidLocal } from '../domain/domain.js';
import { InvalidOptionError, NoProcError, describe } from '../errors.js';
import { self } from '../domain/process.js';
import type { Registry } from '../registry/registry.js';
import type { Key, Pid } from '../types.js';
import type { BehaviourRef, Down, From } from './behaviour.js';
import { Caller } from './caller.js';
import { kCast, kInfo, kSpawn, kStop } from './kinds.js';
import { pickScheduler, type Placement } from './placement.js';
import { currentScheduler, type SpawnRequest } from './scheduler.js';

const kVia = Symbol.for('roster.via');

/** A name in a unique registry, used as a target: `via(rooms, 'room:42')`. */
export interface Via {
  readonly [kVia]: true;
  readonly registry: Registry<unknown>;
  readonly key: Key;
  /** Set by `DynamicSupervisor.via`: starts the name's actor when nobody holds it (`call` only). */
  readonly activate?: () => Promise<Pid>;
}

/** A pid, or a via name. */
export type Target = Pid | Via;

/** Names `key` in unique registry `registry` as a target (Elixir's `{:via, Registry, {reg, key}}`). */
export function via<V>(registry: Registry<V>, key: Key): Via {
  if (typeof registry !== 'object' || registry === null || typeof (registry as { whereis?: unknown }).whereis !== 'function') {
    throw new InvalidOptionError(`via() expects a Registry, got: ${describe(registry)}`);
  }
  return { [kVia]: true, registry: registry as Registry<unknown>, key };
}

/** True for a via name. */
export function isVia(t: unknown): t is Via {
  return typeof t === 'object' && t !== null && (t as { [kVia]?: unknown })[kVia] === true;
}

/** The pid a target names now. Throws `NoProcError` for a name nobody holds, `InvalidOptionError` for a bad target. */
export function resolve(target: Target): Pid {
  if (isVia(target)) {
    const pid = target.registry.whereis(target.key);
    if (pid === undefined) throw new NoProcError(`no process is registered as ${describe(target.key)} in ${target.registry.name}`);
    return pid;
  }
  if (!isPid(target)) throw new InvalidOptionError(`expected a pid or via(registry, key), got: ${describe(target)}`);
  return target;
}

function timeoutOf(opts: { timeout?: unknown } | undefined, dflt: number): number {
  if (opts === undefined) return dflt;
  if (typeof opts !== 'object' || opts === null) throw new InvalidOptionError(`expected options to be an object, got: ${describe(opts)}`);
  const t = opts.timeout;
  if (t === undefined) return dflt;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > 2 ** 31) {
    throw new InvalidOptionError(`expected timeout to be a number of ms > 0, got: ${describe(t)}`);
  }
  return t;
}

/**
 * Sends `msg` to `target`'s `handleCall` and resolves with its reply. Rejects with `NoProcError` (no
 * such name, or the target's thread is gone: at once), `CallTimeoutError` (default 5000 ms),
 * `ExitError` (the callee exited first, with its reason), `MailboxFullError`, or `InvalidMessageError`
 * (at the sender, nothing sent). Any thread.
 */
export function call<R = unknown>(target: Target, msg: unknown, opts?: { timeout?: number }): Promise<R> {
  try {
    const timeout = timeoutOf(opts, 5000);
    if (isVia(target) && target.activate !== undefined && target.registry.whereis(target.key) === undefined) {
      const me = self();
      return target.activate().then((pid) => Caller.current().call(pid, msg, timeout, me) as Promise<R>);
    }
    const pid = resolve(target);
    return Caller.current().call(pid, msg, timeout, self()) as Promise<R>;
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Sends `msg` to `target`'s `handleCast`, fire and forget. Returns false when nothing was sent: no such
 * name, or the target's thread is gone (a message to an actor that no longer exists on a live thread is
 * dropped and counted there). Throws only for a bad target or a message that cannot be cloned.
 */
export function cast(target: Target, msg: unknown): boolean {
  return post(target, kCast, msg);
}

/** As `cast`, to `handleInfo` (Erlang's `send`). */
export function send(target: Target, msg: unknown): boolean {
  return post(target, kInfo, msg);
}

function post(target: Target, kind: typeof kCast | typeof kInfo, msg: unknown): boolean {
  let pid: Pid;
  try {
    pid = resolve(target);
  } catch (err) {
    if (err instanceof NoProcError) return false;
    throw err;
  }
  return Caller.current().post(pid, kind, msg, self());
}

/** Answers a call that a handler deferred with `noReply()`. Any thread holding `from`. */
export function reply(from: From, value: unknown): void {
  const f = from as { pid?: unknown; ref?: unknown } | null;
  if (typeof f !== 'object' || f === null || !isPid(f.pid) || typeof f.ref !== 'number' || !Number.isSafeInteger(f.ref)) {
    throw new InvalidOptionError(`expected the From of a call (handleCall's second argument), got: ${describe(from)}`);
  }
  const me = self();
  Caller.current().reply(from, value, me);
  const s = currentScheduler();
  if (s !== undefined && pidInc(me) === s.domain.inc) s.actors.get(pidLocal(me))?.replied(from);
}

/**
 * Monitors `target`: `down` resolves with `{ type: 'down', ref, pid, reason }` when it exits (reason
 * `'noproc'` if it did not exist; its thread's death reason if its thread died). Inside an actor, the
 * same `Down` also arrives at its `handleInfo`. `demonitor(ref)` cancels it.
 */
export function monitor(target: Target): { ref: number; down: Promise<Down> } {
  let pid: Pid;
  try {
    pid = resolve(target);
  } catch (err) {
    if (!(err instanceof NoProcError)) throw err;
    return Caller.current().monitorNoProc(self());
  }
  return Caller.current().monitor(pid, self());
}

/** Cancels a monitor. */
export function demonitor(ref: number): void {
  Caller.current().demonitor(ref);
}

/** Options of `spawn`. */
export interface SpawnOptions {
  /** Register under this name before `init`; a taken name rejects with `AlreadyStartedError`. */
  readonly name?: Via;
  /** Where: a scheduler index, `'local'` (the calling scheduler), or `'hash'` (of the name; default). */
  readonly scheduler?: Placement;
  /** Mailbox bound (default 100,000): past it, casts are dropped and counted, calls get `MailboxFullError`. */
  readonly mailboxLimit?: number;
  /** How long to wait for the scheduler to answer (default 5000 ms). */
  readonly timeout?: number;
}

function checkRef(b: unknown): BehaviourRef {
  const r = b as BehaviourRef;
  if (typeof r !== 'object' || r === null || typeof r.module !== 'string' || typeof r.export !== 'string') {
    throw new InvalidOptionError(`expected a behaviour reference ref(module, exportName), got: ${describe(b)}`);
  }
  return { module: r.module, export: r.export };
}

/**
 * Starts an actor of `behaviour` with `args` on a scheduler and resolves with its pid once its `init`
 * has run. Rejects with `AlreadyStartedError` (name taken; `init` never ran), `SpawnError` (`init`
 * failed; nothing of it remains), `NoProcError` (no runtime or scheduler), or `InvalidOptionError`.
 */
export async function spawn(behaviour: BehaviourRef, args?: unknown, opts: SpawnOptions = {}): Promise<Pid> {
  if (typeof opts !== 'object' || opts === null) throw new InvalidOptionError(`expected spawn options to be an object, got: ${describe(opts)}`);
  const ref = checkRef(behaviour);
  if (opts.name !== undefined && !isVia(opts.name)) throw new InvalidOptionError(`expected name to be via(registry, key), got: ${describe(opts.name)}`);
  if (opts.name !== undefined && opts.name.registry.kind !== 'unique') {
    throw new InvalidOptionError(`a process name must be in a unique registry; ${opts.name.registry.name} is ${opts.name.registry.kind}`);
  }
  const limit = opts.mailboxLimit;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) throw new InvalidOptionError(`expected mailboxLimit to be a positive integer, got: ${describe(limit)}`);
  const timeout = timeoutOf(opts, 5000);
  const req: SpawnRequest = {
    behaviour: ref,
    args,
    ...(opts.name !== undefined ? { name: { registry: opts.name.registry.handle.id, key: opts.name.key } } : {}),
    ...(limit !== undefined ? { mailboxLimit: limit } : {}),
  };
  const inc = pickScheduler(opts.scheduler === undefined ? 'hash' : opts.scheduler, opts.name?.key);
  const here = currentScheduler();
  if (here !== undefined && inc === Domain.current().inc) {
    // Skips the mail: paced like it, so a handler spawning in a loop lets its scheduler's timers run.
    const turn = Caller.current().pace();
    if (turn !== undefined) await turn;
    return here.spawn(req);
  }
  return (await Caller.current().call(schedulerPid(inc), req, timeout, self(), kSpawn)) as Pid;
}

/** Stops process `pid` with `reason` (default `'shutdown'`): resolves once it has exited. */
export async function stopProcess(target: Target, reason = 'shutdown', opts?: { timeout?: number }): Promise<void> {
  if (typeof reason !== 'string') throw new InvalidOptionError(`expected the reason to be a string, got: ${describe(reason)}`);
  const timeout = timeoutOf(opts, 5000);
  const pid = resolve(target);
  const here = currentScheduler();
  if (here !== undefined && pidInc(pid) === here.domain.inc) {
    // An actor of this scheduler: stopped here, without a message.
    const actor = here.actors.get(pidLocal(pid));
    if (actor === undefined || actor.pid !== pid) throw new NoProcError(`no process ${pid}`);
    const turn = Caller.current().pace();
    if (turn !== undefined) await turn;
    await actor.exit(reason);
    return;
  }
  await Caller.current().call(schedulerPid(pidInc(pid)), { pid, reason }, timeout, self(), kStop);
}

function schedulerPid(inc: number): Pid {
  return makePid(inc, 0);
}
