/**
 * The calling side of messaging, one per thread: calls waiting for replies, monitors, and the routing
 * of what arrives in the thread's mailroom. Every thread that sends gets one (the main thread, a
 * scheduler, a piscina task worker); a scheduler also hosts actors (scheduler.ts) and receives the
 * envelopes addressed to them through `host`.
 *
 * A call is an envelope `CALL(to, from, ref, deadline, body)` to the target's thread; the reply comes
 * back as `REPLY` or `REPLY_ERROR` with the same `ref`, which is unique within the calling thread.
 *
 * **Call states:** pending → replied | failed (error reply) | timed out (deadline passed) | exited (the
 * target's thread was seen not alive). Exactly one of them settles the promise; late replies are ignored.
 * A thread that hosts no actors runs a reply pump while anything is pending: it waits for mail with a
 * ref'd handle, so a process waiting for a reply does not exit. Every 20 ms while calls or monitors are
 * pending, a watch settles calls whose deadline passed and fails calls and fires monitors whose target
 * thread is no longer alive (its death is declared by the thread that saw it exit).
 *
 * @module
 */
import { Domain, makePid, pidInc, pidLocal } from '../domain/domain.js';
import { CallTimeoutError, ExitError, NoProcError, RosterError } from '../errors.js';
import type { Pid } from '../types.js';
import type { Down, ExitReason, From } from './behaviour.js';
import { kCall, kDemonitor, kDown, kMonitor, kReply, kReplyError } from './kinds.js';
import { Mailroom, type Envelope } from './mailroom.js';
import { decodeMessage, encodeMessage, ScratchWriter } from './message-codec.js';

const kWatchMs = 20;
const kPumpBatch = 512;
/**
 * Same-thread messages handled per microtask turn, and turns in a row before yielding to the event
 * loop; a run of turns also yields once it has taken kLocalBudgetMs (messages that start actors or
 * run long handlers make turns heavy: the budget keeps timers, heartbeats and ring mail on time).
 * A run is what happens between two visits of the event loop: it opens at the first same-thread
 * message after one, and an immediate queued then closes it.
 */
const kLocalBatch = 256;
const kLocalTurns = 4096;
const kLocalBudgetMs = 4;
const kSettled = Promise.resolve();

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  readonly target: Pid;
  readonly deadline: number;
}

interface Watch {
  readonly target: Pid;
  /** The monitoring actor's local id, or 0 for a thread-level monitor (promise only). */
  readonly watcher: number;
  readonly resolve: (d: Down) => void;
}

/** What a scheduler supplies to receive envelopes for its actors. */
export interface Host {
  /** An envelope for an actor or the scheduler's system process (`to` 0). */
  deliver(env: Envelope): void;
  /** A monitor of watcher `watcher` fired: deliver `down` to that actor's `handleInfo`. */
  down(watcher: number, down: Down): void;
}

/** A serialized error for REPLY_ERROR bodies. */
export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly reason?: string;
  readonly holder?: number;
}

/** Rebuilds a typed error from a REPLY_ERROR body. */
export function errorFrom(body: unknown): RosterError {
  const b = (body ?? {}) as Partial<ErrorBody>;
  const err = RosterError.from({ code: b.code, message: b.message });
  if (b.reason !== undefined) (err as { reason?: string }).reason = b.reason;
  if (b.holder !== undefined) (err as { holder?: number }).holder = b.holder;
  return err;
}

/** The body of a REPLY_ERROR for `err`. */
export function errorBody(err: unknown): ErrorBody {
  const e = err as { code?: unknown; message?: unknown; reason?: unknown; holder?: unknown };
  return {
    code: typeof e?.code === 'string' ? e.code : 'ROSTER_ERR',
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.reason === 'string' ? { reason: e.reason } : {}),
    ...(typeof e?.holder === 'number' ? { holder: e.holder } : {}),
  };
}

let current: Caller | undefined;

/** One thread's calls and monitors. Methods: the owning thread only. */
export class Caller {
  readonly mailroom: Mailroom;
  readonly domain: Domain;
  #nextRef = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #monitors = new Map<number, Watch>();
  #host: Host | null = null;
  /** System handlers of a thread that hosts no actors (the runtime's thread: the supervisor ledger). */
  readonly #system = new Map<number, (env: Envelope) => void>();
  #pumping = false;
  #watchTimer: NodeJS.Timeout | undefined;

  private constructor() {
    this.domain = Domain.current();
    this.mailroom = Mailroom.current();
  }

  readonly #local: Array<Envelope | undefined> = [];
  #localHead = 0;
  #localScheduled = false;
  #localTurns = 0;
  readonly #copy = new ScratchWriter(256);

  /**
   * Sends `env` to thread `inc`. Mail between two processes of this scheduler thread skips the ring:
   * its body is copied (encoded and decoded, as between threads, so the sender cannot change what the
   * receiver got) and it is routed from a microtask, in order, yielding to the event loop once a run
   * reaches kLocalTurns turns or kLocalBudgetMs, so heartbeats, timers and ring mail keep running.
   */
  #send(inc: number, env: Envelope): boolean {
    if (inc !== this.domain.inc || this.#host === null) return this.mailroom.send(inc, env);
    const body = env.body;
    if ((typeof body === 'object' && body !== null) || typeof body === 'function' || typeof body === 'symbol') {
      const w = this.#copy;
      w.len = 0;
      encodeMessage(body, w);
      env.body = decodeMessage(w.buf, 0, w.len);
      w.len = 0;
    }
    this.#local.push(env);
    if (!this.#localScheduled) this.#scheduleLocal();
    return true;
  }

  #localSince = 0;
  /** A run of same-thread turns is open: its closing immediate (#closeRun) is queued. */
  #localRun = false;

  /** The time now, having opened a run of turns (and queued its closing immediate) if none is open. */
  #inRun(): number {
    const now = performance.now();
    if (!this.#localRun) {
      this.#localRun = true;
      this.#localTurns = 0;
      this.#localSince = now;
      setImmediate(this.#closeRun);
    }
    return now;
  }

  #scheduleLocal(): void {
    this.#localScheduled = true;
    const now = this.#inRun();
    // ORDER: a yielding flush is queued after the run's closing immediate, so it runs in a new run.
    // A reaction on a settled promise, not queueMicrotask: with async hooks on (AsyncLocalStorage keeps
    // self() across awaits), queueMicrotask also builds an async resource per call.
    if (this.#localTurns < kLocalTurns && now - this.#localSince < kLocalBudgetMs) void kSettled.then(this.#flushLocal);
    else setImmediate(this.#flushLocal);
  }

  /**
   * For work of this thread that skips the mail (a spawn or stop of an actor of this scheduler): joins
   * the current run of turns, and once the run has lasted kLocalBudgetMs returns a promise of the next
   * turn of the event loop, so a handler that spawns or stops in a loop still lets timers and
   * heartbeats run. Undefined while the budget lasts. This thread only.
   */
  pace(): Promise<void> | undefined {
    if (this.#inRun() - this.#localSince < kLocalBudgetMs) return undefined;
    return new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** The event loop came round: the next same-thread message opens a new run, with a fresh budget. */
  readonly #closeRun = (): void => {
    this.#localRun = false;
  };

  readonly #flushLocal = (): void => {
    this.#localScheduled = false;
    this.#localTurns++;
    const q = this.#local;
    // What was queued when the turn began, at most kLocalBatch: mail sent meanwhile waits for the next
    // turn, so a cast volley cannot take a whole turn while calls (and awaits) wait between turns.
    const end = Math.min(q.length, this.#localHead + kLocalBatch);
    while (this.#localHead < end) {
      const env = q[this.#localHead] as Envelope;
      q[this.#localHead++] = undefined;
      this.route(env);
    }
    if (this.#localHead === q.length) {
      q.length = 0;
      this.#localHead = 0;
    } else if (!this.#localScheduled) this.#scheduleLocal();
  };

  /** This thread's caller (and mailroom), created on first use. */
  static current(): Caller {
    current ??= new Caller();
    return current;
  }

  /** Makes this thread a scheduler: envelopes for actors go to `host`, and the host drains the mailroom. */
  setHost(host: Host): void {
    this.#host = host;
  }

  /**
   * Off a scheduler: handles system envelopes (`to` 0) of `kind` with `handler`, and keeps this
   * thread's mailroom drained while any handler is set (`null` removes it). Owning thread only.
   */
  onSystem(kind: number, handler: ((env: Envelope) => void) | null): void {
    if (handler === null) {
      this.#system.delete(kind);
      this.mailroom.wake();
      return;
    }
    this.#system.set(kind, handler);
    if (this.#host === null && !this.#pumping) void this.#pump();
  }

  /** Routes everything already in this thread's mailroom now (the ledger reads a dead thread's last reports). */
  drainNow(): void {
    while (this.mailroom.drain(kPumpBatch, (env) => this.route(env)) > 0);
  }

  /** A fresh call reference, unique within this thread. */
  nextRef(): number {
    return this.#nextRef++;
  }

  /** Calls in flight from this thread. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Sends a CALL and resolves with the reply. Rejects with `NoProcError` at once when the target's
   * thread is not alive, `CallTimeoutError` after `timeoutMs`, `ExitError` when the callee exits first,
   * or the error the callee's side reports. `from` is the calling process.
   */
  call(target: Pid, body: unknown, timeoutMs: number, from: Pid, kind = kCall): Promise<unknown> {
    const ref = this.nextRef();
    const deadline = Date.now() + timeoutMs;
    const env: Envelope = { kind, to: pidLocal(target), from, ref, deadline, body };
    if (!this.#send(pidInc(target), env)) return Promise.reject(noproc(target));
    return new Promise((resolve, reject) => {
      this.#pending.set(ref, { resolve, reject, target, deadline });
      this.#activate();
    });
  }

  /** Sends a CAST or INFO (`kind`; fire and forget). False when the target's thread is not alive (dropped). */
  post(target: Pid, kind: number, body: unknown, from: Pid): boolean {
    return this.#send(pidInc(target), { kind, to: pidLocal(target), from, ref: 0, deadline: 0, body });
  }

  /** Answers a call (from any thread that has `from`). A reply that cannot cross threads answers with its error. */
  reply(from: From, value: unknown, self: Pid): void {
    const env: Envelope = { kind: kReply, to: pidLocal(from.pid), from: self, ref: from.ref, deadline: 0, body: value };
    try {
      this.#send(pidInc(from.pid), env);
    } catch (err) {
      this.replyError(from, err, self);
    }
  }

  /** Answers a call with an error. */
  replyError(from: From, err: unknown, self: Pid): void {
    this.#send(pidInc(from.pid), { kind: kReplyError, to: pidLocal(from.pid), from: self, ref: from.ref, deadline: 0, body: errorBody(err) });
  }

  /** Tells `watcher` (monitor `ref`) that `pid` exited with `reason`. */
  sendDown(watcher: Pid, ref: number, pid: Pid, reason: ExitReason): void {
    this.#send(pidInc(watcher), { kind: kDown, to: pidLocal(watcher), from: pid, ref, deadline: 0, body: { reason } });
  }

  /**
   * Monitors `target` for `watcher` (an actor of this thread, or 0): resolves `down` when it exits,
   * with its reason (`'noproc'` if it does not exist). Returns the monitor's reference.
   */
  monitor(target: Pid, watcher: Pid): { ref: number; down: Promise<Down> } {
    const ref = this.nextRef();
    let resolve!: (d: Down) => void;
    const down = new Promise<Down>((r) => (resolve = r));
    this.#monitors.set(ref, { target, watcher: pidInc(watcher) === this.domain.inc ? pidLocal(watcher) : 0, resolve });
    if (!this.#send(pidInc(target), { kind: kMonitor, to: pidLocal(target), from: watcher, ref, deadline: 0, body: null })) {
      this.#fire(ref, this.#reasonOf(target));
    } else this.#activate();
    return { ref, down };
  }

  /** Cancels monitor `ref`; its `down` then never resolves. */
  demonitor(ref: number): void {
    const w = this.#monitors.get(ref);
    if (w === undefined) return;
    this.#monitors.delete(ref);
    this.#send(pidInc(w.target), { kind: kDemonitor, to: pidLocal(w.target), from: 0, ref, deadline: 0, body: null });
  }

  /** Routes one envelope that arrived in this thread. Replies and downs settle here; the rest go to the host. */
  route(env: Envelope): void {
    switch (env.kind) {
      case kReply:
      case kReplyError: {
        const p = this.#pending.get(env.ref);
        if (p === undefined) return; // timed out or exited already
        this.#pending.delete(env.ref);
        if (env.kind === kReply) p.resolve(env.body);
        else p.reject(errorFrom(env.body));
        return;
      }
      case kDown:
        this.#fire(env.ref, (env.body as { reason?: string } | null)?.reason ?? 'unknown');
        return;
      default: {
        if (this.#host !== null) return this.#host.deliver(env);
        const h = env.to === 0 ? this.#system.get(env.kind) : undefined;
        if (h !== undefined) h(env);
        else this.notAnActor(env);
      }
    }
  }

  /**
   * Answers an envelope for a process of this thread that is not an actor (this thread's own process,
   * or a local id nothing runs under): a call (it carries a deadline) fails with `NoProcError`, a
   * monitor fires `'noproc'` at once; anything else is dropped.
   */
  notAnActor(env: Envelope): void {
    const pid = makePid(this.domain.inc, env.to);
    if (env.kind === kMonitor) this.sendDown(env.from, env.ref, pid, 'noproc');
    else if (env.deadline !== 0) {
      this.replyError({ pid: env.from, ref: env.ref }, new NoProcError(`${pid} is not an actor: nothing answers calls to it`), pid);
    }
  }

  /**
   * A monitor of a name that nobody holds: `down` resolves with `'noproc'` (pid 0) at once, and a
   * monitoring actor of this thread also gets it in its `handleInfo`.
   */
  monitorNoProc(watcher: Pid): { ref: number; down: Promise<Down> } {
    const ref = this.nextRef();
    const down: Down = { type: 'down', ref, pid: 0, reason: 'noproc' };
    if (this.#host !== null && pidInc(watcher) === this.domain.inc && pidLocal(watcher) !== 0) this.#host.down(pidLocal(watcher), down);
    return { ref, down: Promise.resolve(down) };
  }

  #fire(ref: number, reason: ExitReason): void {
    const w = this.#monitors.get(ref);
    if (w === undefined) return;
    this.#monitors.delete(ref);
    const down: Down = { type: 'down', ref, pid: w.target, reason };
    w.resolve(down);
    if (w.watcher !== 0 && this.#host !== null) this.#host.down(w.watcher, down);
  }

  /** Starts the watch (and, off a scheduler, the reply pump) while anything is pending. */
  #activate(): void {
    if (this.#watchTimer === undefined) {
      this.#watchTimer = setInterval(() => this.#watch(), kWatchMs);
    }
    if (this.#host === null && !this.#pumping) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#pending.size > 0 || this.#monitors.size > 0 || this.#system.size > 0) {
        if (this.mailroom.drain(kPumpBatch, (env) => this.route(env)) === 0) await this.mailroom.waitForMail();
        else await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Settles expired calls, and calls and monitors whose target thread is no longer alive. */
  #watch(): void {
    const now = Date.now();
    for (const [ref, p] of this.#pending) {
      if (now > p.deadline) {
        this.#pending.delete(ref);
        p.reject(new CallTimeoutError(`call to ${p.target} got no reply within its timeout`));
      } else if (!this.domain.isAlive(pidInc(p.target))) {
        this.#pending.delete(ref);
        const reason = this.#reasonOf(p.target);
        p.reject(new ExitError(`${p.target} exited (its thread: ${reason}) before it replied`, reason));
      }
    }
    for (const [ref, w] of this.#monitors) if (!this.domain.isAlive(pidInc(w.target))) this.#fire(ref, this.#reasonOf(w.target));
    if (this.#pending.size === 0 && this.#monitors.size === 0) {
      clearInterval(this.#watchTimer);
      this.#watchTimer = undefined;
    }
  }

  #reasonOf(target: Pid): ExitReason {
    return this.domain.isAlive(pidInc(target)) ? 'noproc' : this.domain.reasonOf(pidInc(target));
  }
}

/** The error for a target whose thread is not alive or has no mailroom. */
export function noproc(target: Pid): NoProcError {
  return new NoProcError(`no process ${target}: its thread is not alive`);
}
