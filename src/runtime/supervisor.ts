/**
 * `DynamicSupervisor`: starts children on demand, restarts them by their restart type, and gives
 * `getOrStart(name, spec)`, the one live actor for a name. A supervisor is a name, not a thread: each
 * scheduler hosts a partition of every supervisor (supervisor-partition.ts), a child runs and is
 * restarted on its own scheduler, and the runtime's thread keeps the ledger (supervisor-ledger.ts)
 * that restarts the children of a scheduler that dies. Any thread of the runtime may start children.
 *
 * **get-or-start.** The unique registry is the arbiter. A name whose holder finished `init` is a
 * lookup (lock-free, no message). Otherwise the start goes to the scheduler the name hashes to; a
 * racer that loses the registration never runs `init`, waits for the winner's `init`, and gets its
 * pid, or the winner's `SpawnError` (and the name is free again). A supervised child's name holds
 * `null` while its `init` runs, then the behaviour's export name.
 *
 * @module
 */
import { makePid, pidInc } from '../domain/domain.js';
import { AlreadyStartedError, InvalidOptionError, NoProcError, UnsupportedError, describe } from '../errors.js';
import { self } from '../domain/process.js';
import type { Pid } from '../types.js';
import { isVia, resolve, type Via } from './api.js';
import { Caller } from './caller.js';
import { checkSpec, checkSupervisorOptions, type ChildRequest, type ChildSpec, type SupervisorOptions } from './child-spec.js';
import { kAwaitStarted, kStartChild, kTerminateChild } from './kinds.js';
import { pickScheduler } from './placement.js';
import { activeLedger, type SupervisorEvent, type SupervisorStats } from './supervisor-ledger.js';

const kStartTimeoutMs = 30_000;
const kAttempts = 16;

/** A dynamic supervisor, by name; usable from any thread of the runtime. */
export class DynamicSupervisor {
  readonly name: string;
  readonly #opts: Required<SupervisorOptions>;
  /** Spec objects already checked by getOrStart (a spec is plain data the caller keeps). */
  readonly #checked = new WeakSet<object>();

  /**
   * A supervisor named `name`. Its options travel with each child, so every thread that starts
   * children of one supervisor should pass the same ones. Throws `InvalidOptionError`.
   */
  constructor(name: string, options?: SupervisorOptions) {
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new InvalidOptionError(`expected a supervisor name (a non-empty string), got: ${describe(name)}`);
    this.name = name;
    this.#opts = checkSupervisorOptions(options);
  }

  #request(spec: ChildSpec, name: Via | undefined, getOrStart: boolean): ChildRequest {
    const base = checkSpec(spec);
    if (name !== undefined && !isVia(name)) throw new InvalidOptionError(`expected name to be via(registry, key), got: ${describe(name)}`);
    if (name !== undefined && name.registry.kind !== 'unique') throw new InvalidOptionError(`a child's name must be in a unique registry; ${name.registry.name} is ${name.registry.kind}`);
    // Built field by field (no spreads): one object shape for every request, cheap to build and encode.
    const req: { -readonly [K in keyof ChildRequest]: ChildRequest[K] } = {
      sup: this.name, id: 0, behaviour: base.behaviour, args: base.args, restart: base.restart, shutdown: base.shutdown,
      maxRestarts: this.#opts.maxRestarts, maxSeconds: this.#opts.maxSeconds, getOrStart,
    };
    if (name !== undefined) req.name = { registry: name.registry.handle.id, key: name.key };
    if (base.mailboxLimit !== undefined) req.mailboxLimit = base.mailboxLimit;
    if (base.idleMs !== undefined) req.idleMs = base.idleMs;
    return req;
  }

  #send(req: ChildRequest, spec: ChildSpec): Promise<Pid> {
    const inc = pickScheduler(spec.scheduler ?? 'hash', req.name?.key);
    return Caller.current().call(makePid(inc, 0), req, kStartTimeoutMs, self(), kStartChild) as Promise<Pid>;
  }

  /**
   * Starts a child by `spec` (registered under `spec.name` before `init`) and resolves with its pid.
   * Rejects with `AlreadyStartedError` (name taken; `init` never ran), `SpawnError` (`init` failed;
   * nothing of it remains), `NoProcError` (no runtime), or `InvalidOptionError` (nothing sent).
   */
  async startChild<A>(spec: ChildSpec<A>): Promise<Pid> {
    return this.#send(this.#request(spec, spec?.name, false), spec);
  }

  /**
   * The one live actor registered as `name`, started by `spec` if there is none (`spec.name` is
   * ignored). Every racer for one name gets the same pid; a losing racer never runs `init`; a failing
   * `init` rejects every racer waiting on it with its `SpawnError` and leaves the name free.
   * Cost: a lookup when the actor runs; a start (a call to its scheduler) otherwise.
   */
  async getOrStart<A>(name: Via, spec: ChildSpec<A>): Promise<Pid> {
    if (!isVia(name)) throw new InvalidOptionError(`expected name to be via(registry, key), got: ${describe(name)}`);
    // The fast path, a running name: one lookup. The spec is checked first all the same (once per spec
    // object: the check is remembered), so a bad spec fails whether or not the name runs.
    if (name.registry.kind !== 'unique') throw new InvalidOptionError(`a child's name must be in a unique registry; ${name.registry.name} is ${name.registry.kind}`);
    if (!this.#checked.has(spec)) {
      this.#request(spec, name, true);
      this.#checked.add(spec);
    }
    const running = name.registry.lookup(name.key)[0];
    if (running !== undefined && running[1] !== null) return running[0];
    const req = this.#request(spec, name, true);
    let last: unknown;
    for (let attempt = 0; attempt < kAttempts; attempt++) {
      const found = name.registry.lookup(name.key)[0];
      try {
        if (found !== undefined) {
          if (found[1] !== null) return found[0];
          return await this.#awaitStarted(found[0]);
        }
        return await this.#send(req, spec);
      } catch (err) {
        last = err;
        // The holder is on another scheduler and still in init: wait for it there.
        if (err instanceof AlreadyStartedError) {
          try {
            return await this.#awaitStarted(err.holder);
          } catch (e) {
            last = e;
            if (!(e instanceof NoProcError)) throw e;
          }
          continue;
        }
        // The holder or the chosen scheduler is gone (it died meanwhile): look again.
        if (err instanceof NoProcError || (err as { code?: unknown }).code === 'ROSTER_ERR_EXIT') continue;
        throw err;
      }
    }
    throw last;
  }

  #awaitStarted(holder: Pid): Promise<Pid> {
    return Caller.current().call(makePid(pidInc(holder), 0), { pid: holder }, kStartTimeoutMs, self(), kAwaitStarted) as Promise<Pid>;
  }

  /**
   * A via name that starts its actor on demand: `call(sup.via(name, spec), msg)` runs
   * `getOrStart(name, spec)` first when nobody holds the name (a passivated actor comes back).
   * Only `call` activates; `cast` and `send` to it behave as to the plain name.
   */
  via<A>(name: Via, spec: ChildSpec<A>): Via {
    if (!isVia(name)) throw new InvalidOptionError(`expected name to be via(registry, key), got: ${describe(name)}`);
    this.#request(spec, name, true); // checks now, not at the first call
    return { ...name, activate: () => this.getOrStart(name, spec) };
  }

  /** Stops child `target` with reason `'shutdown'`, not restarted. Rejects with `NoProcError` if it is not a child. */
  async terminateChild(target: Pid | Via): Promise<void> {
    const pid = resolve(target);
    await Caller.current().call(makePid(pidInc(pid), 0), { pid }, kStartTimeoutMs, self(), kTerminateChild);
  }

  /** Counters of this supervisor across all schedulers. The runtime's thread only (`UnsupportedError` elsewhere). */
  stats(): SupervisorStats {
    return ledger().stats(this.name);
  }

  /**
   * Calls `listener` with each start, restart, exit and give-up of this supervisor's children; returns
   * a function that removes it. The runtime's thread only.
   */
  on(listener: (e: SupervisorEvent) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidOptionError(`expected a listener function, got: ${describe(listener)}`);
    const l = ledger();
    const f = (e: SupervisorEvent): void => {
      if (e.supervisor === this.name) listener(e);
    };
    l.on('event', f);
    return () => l.off('event', f);
  }
}

function ledger(): NonNullable<ReturnType<typeof activeLedger>> {
  const l = activeLedger();
  if (l === undefined) throw new UnsupportedError('supervisor stats and events are read in the thread that started the runtime');
  return l;
}
