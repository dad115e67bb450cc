/**
 * One actor: its behaviour, state, bounded mailbox and the bookkeeping its exit needs (names, monitors,
 * deferred calls). Lives in its scheduler's thread; every method runs there.
 *
 * ## States
 * ```
 *  starting ──init ok──► running ──stop / error / normal──► exiting ──cleanup──► gone
 *     │ (messages queue)                                       ▲
 *     └──────────────── init failed ───────────────────────────┘
 * ```
 * One message at a time: the next waits until the previous handler settled (async handlers too).
 * **Exit order:** `terminate(reason, state)` runs (errors ignored); the actor's registrations are
 * removed from every registry; it leaves its scheduler's table (new messages to it are `noproc`); then
 * every call it holds (the current one, queued ones, deferred ones) fails with `ExitError(reason)` and
 * every monitor gets its `Down`. So nobody can observe the exit while a name still points at it.
 * While exiting (`terminate` may take up to its shutdown time), a call that arrives waits and fails
 * with the others, and a monitor waits for the same end; a cast or info is dropped and counted.
 *
 * @module
 */
import { runAs, runAsActor } from '../domain/process.js';
import { ExitError, MailboxFullError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import type { Key, Pid } from '../types.js';
import { isDirective, type Behaviour, type Directive, type Down, type ExitReason, type From } from './behaviour.js';
import type { Caller } from './caller.js';
import { kCall, kCast, kDown } from './kinds.js';
import type { Envelope } from './mailroom.js';

/** What an actor needs from its scheduler. */
export interface ActorHost {
  readonly caller: Caller;
  /** Removes the actor from the scheduler's table (after its names are gone). */
  remove(actor: Actor): void;
  /** Counts: a message handled, dropped (mailbox full) or expired (deadline passed before it ran). */
  count(what: 'handled' | 'dropped' | 'expired'): void;
  /** The actor has exited with `reason` (last step of its exit: names gone, calls failed, monitors fired). */
  exited(actor: Actor, reason: ExitReason, started: boolean): void;
  /** Counts a call served in `ms`, from its handler's start to its reply (or the handler's end). */
  served?(ms: number): void;
}

const kCompactAt = 1024;
/** A deferred call's key: its caller's pid and ref (a ref alone is unique only within its thread). */
function openKey(from: From): string {
  return `${from.pid}:${from.ref}`;
}

/** Exits in progress, removed as each ends (module state of this thread, not a field: idle actors stay small). */
const exiting = new Map<Actor, Promise<void>>();

/** The mailbox of a gone actor (the exit's cleanup ran): shared, never pushed to. */
const kGone: Array<Envelope | undefined> = [];

export class Actor {
  readonly pid: Pid;
  readonly local: number;
  readonly behaviour: Behaviour<unknown, unknown>;
  readonly name: string;
  readonly startedAt = Date.now();
  state: unknown = undefined;
  // Created on first use: most actors never register, get monitored or defer a reply, and an idle
  // actor's size is what bounds how many fit in memory.
  #names: Array<[Registry<unknown>, Key]> | null = null;
  #monitors: Map<number, Pid> | null = null;
  /** Deferred calls (`noReply`), by `openKey`: refs are unique per calling thread only. */
  #open: Map<string, From> | null = null;
  handled = 0;
  dropped = 0;
  readonly #host: ActorHost;
  readonly #limit: number;
  #queue: Array<Envelope | undefined> = [];
  #head = 0;
  #running = false;
  #started = false;
  #exited = false;
  #exitReason: ExitReason = '';
  /** The call being handled, failed with the exit reason if the handler crashes. */
  #current: From | null = null;
  /** Callers waiting for `init` to settle (`whenStarted`); created on first use. */
  #waiters: Array<(exitReason: ExitReason | null) => void> | null = null;
  /** How long `terminate` may run before the exit goes on without it (ms; 0: no bound). */
  shutdownMs = 0;
  /** When the handler of the current call started (`performance.now()`), for the service-time histogram. */
  #callAt = 0;

  constructor(pid: Pid, local: number, behaviour: Behaviour<unknown, unknown>, name: string, limit: number, host: ActorHost) {
    this.pid = pid;
    this.local = local;
    this.behaviour = behaviour;
    this.name = name;
    this.#limit = limit;
    this.#host = host;
  }

  /** Registrations made by this actor, removed when it exits. */
  get names(): ReadonlyArray<[Registry<unknown>, Key]> {
    return this.#names ?? [];
  }

  /** Records a registration made by this actor (the registry's owner hook). */
  registered(reg: Registry<unknown>, key: Key): void {
    (this.#names ??= []).push([reg, key]);
  }

  /** Monitors of this actor: `ref` → watcher pid. Once the actor is gone, the `Down` goes out at once. */
  monitoredBy(ref: number, watcher: Pid): void {
    if (this.#queue === kGone) this.#host.caller.sendDown(watcher, ref, this.pid, this.#exitReason);
    else (this.#monitors ??= new Map()).set(ref, watcher);
  }

  /** Cancels monitor `ref` of this actor. */
  unmonitor(ref: number): void {
    this.#monitors?.delete(ref);
  }

  /** Messages waiting in the mailbox. */
  get depth(): number {
    return this.#queue.length - this.#head;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** True once `init` succeeded (and until the exit). */
  get started(): boolean {
    return this.#started && !this.#exited;
  }

  /** True while a handler runs or messages wait: not idle. */
  get busy(): boolean {
    return this.#running || this.#head < this.#queue.length;
  }

  /**
   * Resolves with null once `init` succeeded, or with the exit reason if the actor exited before that
   * (a failing `init`). Its scheduler's thread only.
   */
  whenStarted(): Promise<ExitReason | null> {
    if (this.#started && !this.#exited) return Promise.resolve(null);
    if (this.#exited) return Promise.resolve(this.#exitReason);
    return new Promise((resolve) => (this.#waiters ??= []).push(resolve));
  }

  /**
   * Queues a message. A full mailbox refuses it: a CALL is answered with `MailboxFullError`, a CAST or
   * INFO is dropped and counted (the sender is never thrown at). Returns false if refused or exited.
   * While the actor exits, a CALL waits to fail with the calls it holds (its names are still there: it
   * must not be answered before they are gone); once it is gone, a CALL fails with its exit at once.
   */
  enqueue(env: Envelope): boolean {
    const call = env.kind === kCall;
    if (this.#queue === kGone) {
      if (call) this.#host.caller.replyError({ pid: env.from, ref: env.ref }, this.#exitError(), this.pid);
      return false;
    }
    if (this.depth >= this.#limit || (this.#exited && !call)) {
      this.dropped++;
      this.#host.count('dropped');
      if (call) this.#host.caller.replyError({ pid: env.from, ref: env.ref }, new MailboxFullError(`mailbox of ${this.pid} is full (${this.#limit})`), this.pid);
      return false;
    }
    this.#queue.push(env);
    if (this.#exited) return false; // exiting: the call fails with the others at the end of the exit
    this.#kick();
    return true;
  }


  /** Delivers a monitor's `Down` to `handleInfo` (never refused for a full mailbox). */
  down(down: Down): void {
    if (this.#exited) return;
    this.#queue.push({ kind: kDown, to: this.local, from: down.pid, ref: down.ref, deadline: 0, body: down });
    this.#kick();
  }

  /** `init` succeeded: start handling the messages that queued meanwhile. */
  start(state: unknown): void {
    this.state = state;
    this.#started = true;
    const w = this.#waiters;
    this.#waiters = null;
    for (const x of w ?? []) x(null);
    this.#kick();
  }

  #kick(): void {
    if (this.#running || !this.#started || this.#exited) return;
    this.#running = true;
    this.#drain();
  }

  /**
   * Handles queued messages in order until the mailbox is empty or a handler returns a promise; then
   * goes on once it settles. Synchronous handlers in a row allocate no promise.
   */
  #drain(): void {
    try {
      while (this.#head < this.#queue.length && !this.#exited) {
        const env = this.#queue[this.#head] as Envelope;
        this.#queue[this.#head++] = undefined;
        if (this.#head >= kCompactAt && this.#head * 2 >= this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
        const r = this.#handle(env);
        if (r !== undefined) {
          // A closure per async message, not a field per actor: idle actors stay small.
          const resume = (): void => this.#drain();
          r.then(resume, resume);
          return; // still running: resume goes on
        }
      }
    } catch (err) {
      this.#running = false;
      throw err;
    }
    this.#running = false;
  }

  /** Runs one message's handler as this actor. Returns a promise only when the handler was async. */
  #handle(env: Envelope): Promise<void> | undefined {
    const b = this.behaviour;
    let from: From | null = null;
    let fn: () => unknown;
    switch (env.kind) {
      case kCall: {
        if (env.deadline !== 0 && Date.now() > env.deadline) {
          this.#host.count('expired'); // its caller gave up: never run it
          return undefined;
        }
        const f: From = { pid: env.from, ref: env.ref };
        from = f;
        this.#callAt = performance.now();
        const h = b.handleCall;
        if (h === undefined) return this.#crash(new Error(`${this.name} has no handleCall`), f);
        fn = () => h.call(b, env.body, f, this.state);
        break;
      }
      case kCast: {
        const h = b.handleCast;
        if (h === undefined) return this.#crash(new Error(`${this.name} has no handleCast`), null);
        fn = () => h.call(b, env.body, this.state);
        break;
      }
      default: {
        const h = b.handleInfo;
        if (h === undefined) return undefined; // unhandled info is dropped, as GenServer logs and drops it
        fn = () => h.call(b, env.body, this.state);
      }
    }
    this.handled++;
    this.#host.count('handled');
    this.#current = from;
    let r: unknown;
    try {
      r = runAsActor(this.pid, fn);
    } catch (err) {
      return this.#crash(err, from);
    }
    if (typeof r === 'object' && r !== null && typeof (r as { then?: unknown }).then === 'function') {
      return (r as Promise<unknown>).then(
        (v) => this.#settled(v, from),
        (err: unknown) => this.#crash(err, from),
      );
    }
    return this.#settled(r, from);
  }

  /** Applies a handler's result: the reply and state, or a directive. */
  #settled(r: unknown, from: From | null): Promise<void> | undefined {
    this.#current = null;
    if (from !== null) this.#host.served?.(performance.now() - this.#callAt);
    if (!isDirective(r)) {
      if (from !== null) this.#host.caller.reply(from, r, this.pid);
      else if (r !== undefined) this.state = r;
      return undefined;
    }
    const d: Directive = r;
    if (d.hasState) this.state = d.state;
    if (from !== null) {
      if (d.kind === 'noreply') (this.#open ??= new Map()).set(openKey(from), from);
      else if (d.hasReply || d.kind === 'state') this.#host.caller.reply(from, d.reply, this.pid);
    }
    if (d.kind === 'stop') return this.exit(d.reason, from !== null && !d.hasReply ? from : null);
    return undefined;
  }

  #exitError(): ExitError {
    return new ExitError(`${this.pid} (${this.name}) exited: ${this.#exitReason}`, this.#exitReason);
  }

  #crash(err: unknown, from: From | null): Promise<void> {
    this.#current = null;
    if (from !== null) this.#host.served?.(performance.now() - this.#callAt);
    const message = err instanceof Error ? err.message : String(err);
    return this.exit(`error: ${message}`, from);
  }

  /** A reply was sent for a deferred call. */
  replied(from: From): void {
    this.#open?.delete(openKey(from));
  }

  /**
   * Exits with `reason` (idempotent): terminate, names, table, then calls and monitors (see the module
   * comment). `current` is a call being handled that must fail too.
   */
  exit(reason: ExitReason, current: From | null = this.#current, runTerminate = true): Promise<void> {
    // A second stop while the first runs resolves with it, once the actor is gone.
    if (this.#exited) return exiting.get(this) ?? Promise.resolve();
    this.#exited = true;
    this.#exitReason = reason;
    const done = this.#exit(reason, current, runTerminate).finally(() => exiting.delete(this));
    exiting.set(this, done);
    return done;
  }

  async #exit(reason: ExitReason, current: From | null, runTerminate: boolean): Promise<void> {
    const t = this.behaviour.terminate;
    if (runTerminate && t !== undefined && this.#started) {
      try {
        const done = runAsActor(this.pid, () => t.call(this.behaviour, reason, this.state));
        // A terminate that outlives shutdownMs is abandoned (its later registrations are undone by the
        // scheduler's owner hook: the actor is gone from the table by then).
        if (this.shutdownMs > 0 && typeof (done as { then?: unknown } | null)?.then === 'function') {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, this.shutdownMs)))]).finally(() => clearTimeout(timer));
        } else await done;
      } catch {
        // A failing terminate does not change the exit.
      }
    }
    for (const [reg, key] of this.#names ?? []) {
      try {
        runAs(this.pid, () => reg.unregister(key));
      } catch {
        // A closed registry has nothing left to remove.
      }
    }
    this.#names = null;
    this.#host.remove(this);
    const caller = this.#host.caller;
    if (current !== null) caller.replyError(current, this.#exitError(), this.pid);
    for (let i = this.#head; i < this.#queue.length; i++) {
      const env = this.#queue[i];
      if (env?.kind === kCall) caller.replyError({ pid: env.from, ref: env.ref }, this.#exitError(), this.pid);
    }
    this.#queue = kGone;
    this.#head = 0;
    for (const from of this.#open?.values() ?? []) caller.replyError(from, this.#exitError(), this.pid);
    this.#open = null;
    for (const [ref, watcher] of this.#monitors ?? []) caller.sendDown(watcher, ref, this.pid, reason);
    this.#monitors = null;
    const w = this.#waiters;
    this.#waiters = null;
    for (const x of w ?? []) x(reason);
    this.#host.exited(this, reason, this.#started);
  }
}

