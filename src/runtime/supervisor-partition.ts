/**
 * One partition of the dynamic supervisors: the part that lives in each scheduler thread and
 * supervises the children placed there (Elixir's `PartitionSupervisor`, one partition per scheduler).
 * Starting and restarting a child happen on its own scheduler, so starting 100k children never
 * funnels through one thread. Each partition reports what it does (started, restarted, gone, given
 * up) to the runtime's ledger (supervisor-ledger.ts) in the runtime's thread, which keeps a copy of
 * every spec so that it can restart the children of a scheduler that dies.
 *
 * **A child's states** (per partition):
 * ```
 *  starting ──init ok──► running ──exit──► restart? ──yes, within intensity──► starting (same id, new pid)
 *                                             │ no (restart type, 'idle', terminateChild)  ──► gone
 *                                             └ intensity exceeded ──────────────────────────► given up
 * ```
 * **Intensity** is counted per child: at most `maxRestarts` restarts within `maxSeconds` (default 3 in
 * 5 s); one more and the partition gives up on that child and reports it. A restart waits for the
 * next turn of the event loop, so a crash loop never starves the scheduler.
 *
 * @module
 */
import { makePid, pidInc, pidLocal } from '../domain/domain.js';
import { AlreadyStartedError, NoProcError, SpawnError } from '../errors.js';
import type { Pid } from '../types.js';
import type { Actor } from './actor.js';
import { restarts, type ChildRequest } from './child-spec.js';
import { kAwaitStarted, kLedger, kStartChild, kStartChildren, kTerminateChild } from './kinds.js';
import type { Envelope } from './mailroom.js';
import type { Scheduler } from './scheduler.js';

/** What a partition tells the ledger. */
export type LedgerReport =
  | { readonly op: 'up'; readonly req: ChildRequest; readonly pid: Pid; readonly restartOf: Pid; readonly reason: string }
  | { readonly op: 'gone'; readonly sup: string; readonly id: Pid; readonly pid: Pid; readonly reason: string }
  | { readonly op: 'gaveUp'; readonly sup: string; readonly id: Pid; readonly pid: Pid; readonly reason: string };

interface Child {
  req: ChildRequest;
  pid: Pid;
  /** Times of recent restarts (ms), for the intensity check. */
  restarts: number[];
  terminating: boolean;
  /** Until its start has resolved: an exit before `init` succeeded is the start's failure, not a crash. */
  starting: boolean;
  /** Passivation: messages handled when last checked, and how long it has been idle. */
  seen: number;
  idleFor: number;
}

export class SupervisorPartition {
  readonly #s: Scheduler;
  readonly #ledger: Pid;
  readonly #children = new Map<number, Child>();
  readonly #idle = new Set<Child>();
  #idleTimer: NodeJS.Timeout | undefined;
  #idleTick = 1000;
  /** Reports not sent yet, and what waits for them to be sent (one message per burst of reports). */
  #batch: LedgerReport[] = [];
  #sent: Array<() => void> = [];

  /** Installs the partition in scheduler `s`; `ledgerInc` is the runtime thread's incarnation. */
  constructor(s: Scheduler, ledgerInc: number) {
    this.#s = s;
    this.#ledger = makePid(ledgerInc, 0);
    s.handleSystem(kStartChild, (env) => this.#onStart(env));
    s.handleSystem(kAwaitStarted, (env) => this.#onAwait(env));
    s.handleSystem(kStartChildren, (env) => this.#onStartMany(env));
    s.handleSystem(kTerminateChild, (env) => this.#onTerminate(env));
    s.onExit = (actor, reason, started) => this.#exited(actor, reason, started);
  }

  #self(): Pid {
    return makePid(this.#s.domain.inc, 0);
  }

  /**
   * Queues a report; the queue goes to the ledger as one message from a microtask, after the other
   * continuations already queued (the starts of one batch of mail finish together, so a burst of starts
   * costs the runtime's thread one wake-up, not one per child). Resolves once sent.
   */
  #report(r: LedgerReport): Promise<void> {
    if (pidInc(this.#ledger) === 0) return Promise.resolve();
    if (this.#batch.push(r) === 1) queueMicrotask(this.#flush);
    return new Promise((resolve) => this.#sent.push(resolve));
  }

  readonly #flush = (): void => {
    const batch = this.#batch;
    const sent = this.#sent;
    this.#batch = [];
    this.#sent = [];
    this.#s.caller.post(this.#ledger, kLedger, batch, this.#self());
    for (const f of sent) f();
  };

  #onStart(env: Envelope): void {
    const from = { pid: env.from, ref: env.ref };
    const { restartOf, reason, ...req } = env.body as ChildRequest;
    this.start(req, restartOf ?? 0, reason ?? '').then(
      (pid) => this.#s.caller.reply(from, pid, this.#self()),
      (err: unknown) => this.#s.caller.replyError(from, err, this.#self()),
    );
  }

  /** Restarts from the ledger, many per message: answers each one's pid, or its error's code and message. */
  #onStartMany(env: Envelope): void {
    const from = { pid: env.from, ref: env.ref };
    const reqs = env.body as ChildRequest[];
    void Promise.all(reqs.map(({ restartOf, reason, ...req }) => this.start(req, restartOf ?? 0, reason ?? '').then(
      (pid) => pid,
      (err: unknown) => ({ code: (err as { code?: string }).code ?? 'ROSTER_ERR', message: (err as Error).message }),
    ))).then((out) => this.#s.caller.reply(from, out, this.#self()));
  }

  /**
   * Starts a child here (registration before `init`). With `getOrStart`, a name already held by an
   * actor of this scheduler answers with that actor's pid once its `init` succeeded, or rejects with
   * its `SpawnError`; a holder on another scheduler rejects with `AlreadyStartedError` (the caller then
   * waits for it there).
   */
  async start(req: ChildRequest, restartOf: Pid = 0, reason = ''): Promise<Pid> {
    let pid: Pid;
    let child: Child | undefined;
    try {
      pid = await this.#s.spawn({
        behaviour: req.behaviour, args: req.args, markStarting: true, shutdownMs: req.shutdown,
        ...(req.name !== undefined ? { name: req.name } : {}),
        ...(req.mailboxLimit !== undefined ? { mailboxLimit: req.mailboxLimit } : {}),
      }, (p) => {
        // Recorded as soon as the actor exists: a message that waited for init and crashes it right
        // after (before this start resolves) is a crash of a child, restarted as any other.
        child = { req: req.id === 0 ? { ...req, id: p } : req, pid: p, restarts: [...(req.restarts ?? [])], terminating: false, starting: true, seen: 0, idleFor: 0 };
        this.#children.set(pidLocal(p), child);
      });
    } catch (err) {
      if (req.getOrStart === true && err instanceof AlreadyStartedError) return this.awaitStarted(err.holder, err);
      throw err;
    }
    const c = child as Child;
    c.starting = false;
    if (req.idleMs !== undefined && this.#children.get(pidLocal(pid)) === c) this.#watchIdle(c);
    // ORDER: reported before the caller hears of the pid: once anyone knows the child, so does the
    // ledger (the report is in shared memory, and survives this thread's death).
    await this.#report({ op: 'up', req: c.req, pid, restartOf, reason });
    return pid;
  }

  /** Resolves with `holder` once its `init` succeeded; rejects with `SpawnError` if it failed. `otherwise` if not here. */
  async awaitStarted(holder: Pid, otherwise: Error): Promise<Pid> {
    if (pidInc(holder) !== this.#s.domain.inc) throw otherwise;
    const a = this.#s.actors.get(pidLocal(holder));
    if (a === undefined || a.pid !== holder) throw new NoProcError(`no process ${holder}`);
    const failed = await a.whenStarted();
    if (failed === null) return holder;
    throw new SpawnError(`init of ${a.name} failed: ${failed}`, failed);
  }

  #onAwait(env: Envelope): void {
    const from = { pid: env.from, ref: env.ref };
    const { pid } = env.body as { pid: Pid };
    this.awaitStarted(pid, new NoProcError(`no process ${pid}`)).then(
      (p) => this.#s.caller.reply(from, p, this.#self()),
      (err: unknown) => this.#s.caller.replyError(from, err, this.#self()),
    );
  }

  #onTerminate(env: Envelope): void {
    const from = { pid: env.from, ref: env.ref };
    const { pid } = env.body as { pid: Pid };
    const child = this.#children.get(pidLocal(pid));
    const actor = this.#s.actors.get(pidLocal(pid));
    if (child === undefined || child.pid !== pid || actor === undefined) {
      this.#s.caller.replyError(from, new NoProcError(`no child ${pid} under a supervisor here`), this.#self());
      return;
    }
    child.terminating = true;
    void actor.exit('shutdown').then(() => this.#s.caller.reply(from, true, this.#self()));
  }

  /** An actor exited: if it was a child here, restart it, or report it gone or given up. */
  #exited(actor: Actor, reason: string, started: boolean): void {
    const child = this.#children.get(actor.local);
    if (child === undefined || child.pid !== actor.pid) return;
    this.#children.delete(actor.local);
    this.#idle.delete(child);
    // Its init failed (or its name was taken): the start rejects, and whoever started it decides.
    if (child.starting && !started) return;
    this.#decide(child, reason);
  }

  #decide(child: Child, reason: string): void {
    const { req } = child;
    if (child.terminating || this.#s.stopping || !restarts(req.restart, reason)) {
      void this.#report({ op: 'gone', sup: req.sup, id: req.id, pid: child.pid, reason });
      return;
    }
    const now = Date.now();
    const recent = child.restarts.filter((t) => now - t < req.maxSeconds * 1000);
    if (recent.length >= req.maxRestarts) {
      void this.#report({ op: 'gaveUp', sup: req.sup, id: req.id, pid: child.pid, reason });
      return;
    }
    recent.push(now);
    const again: ChildRequest = { ...req, restarts: recent, getOrStart: false };
    // A restart waits for the next turn of the event loop: a crash loop cannot starve the scheduler.
    setImmediate(() => {
      if (this.#s.stopping) {
        void this.#report({ op: 'gone', sup: req.sup, id: req.id, pid: child.pid, reason });
        return;
      }
      this.start(again, child.pid, reason).catch((err: unknown) => {
        if (err instanceof AlreadyStartedError) {
          // Someone else started the name meanwhile (a get-or-start): that actor is the one now.
          void this.#report({ op: 'gone', sup: req.sup, id: req.id, pid: child.pid, reason: 'already_started' });
        } else {
          // A failing init is one more crash, counted against the intensity.
          const r = err instanceof SpawnError ? err.reason : String(err);
          this.#decide({ ...child, restarts: recent }, r);
        }
      });
    });
  }

  #watchIdle(child: Child): void {
    const idleMs = child.req.idleMs as number;
    this.#idle.add(child);
    const tick = Math.max(10, Math.min(1000, Math.floor(idleMs / 4)));
    if (this.#idleTimer !== undefined && tick >= this.#idleTick) return;
    clearInterval(this.#idleTimer);
    this.#idleTick = tick;
    this.#idleTimer = setInterval(() => this.#checkIdle(), tick);
    this.#idleTimer.unref();
  }

  /** Passivation: a child with no message handled and none waiting for `idleMs` stops with `'idle'`. */
  #checkIdle(): void {
    for (const child of this.#idle) {
      const a = this.#s.actors.get(pidLocal(child.pid));
      if (a === undefined || a.pid !== child.pid) {
        this.#idle.delete(child);
        continue;
      }
      if (a.handled !== child.seen || a.busy || !a.started) {
        child.seen = a.handled;
        child.idleFor = 0;
        continue;
      }
      child.idleFor += this.#idleTick;
      if (child.idleFor >= (child.req.idleMs as number)) {
        this.#idle.delete(child);
        void a.exit('idle');
      }
    }
    if (this.#idle.size === 0) {
      clearInterval(this.#idleTimer);
      this.#idleTimer = undefined;
      this.#idleTick = 1000;
    }
  }
}
