/**
 * A scheduler: a worker thread that hosts many actors. It drains its mailroom in bounded batches,
 * hands each envelope to its actor (or to its own system process, local id 0: spawn, stop, ping), and
 * yields to its event loop between batches, so timers, heartbeats and I/O keep running under load.
 * When no mail is waiting it spins briefly, then parks (mailroom.ts) with a ref'd handle.
 *
 * Shared counters (`statsBuffer`, read by any thread without messaging): actors hosted, messages
 * handled, dropped (full mailboxes), expired (calls whose deadline passed before they ran), spawns and
 * exits, and the total mailbox depth (published at most every 100 ms); also (for the observer) the five
 * deepest mailboxes and a histogram of call service times (`readSchedulerDetail`).
 *
 * @module
 */
import { pathToFileURL } from 'node:url';
import { Domain, makePid, pidLocal } from '../domain/domain.js';
import { AlreadyStartedError, InvalidOptionError, NoProcError, SpawnError, describe } from '../errors.js';
import { runAs, runAsActor } from '../domain/process.js';
import { Registry, setOwnerHook } from '../registry/registry.js';
import type { RegistryHandle } from '../registry/options.js';
import type { Key, Pid } from '../types.js';
import { Actor, type ActorHost } from './actor.js';
import type { Behaviour, BehaviourRef, Down } from './behaviour.js';
import { Caller, type Host } from './caller.js';
import { kCall, kCast, kDemonitor, kInfo, kMonitor, kPing, kReply, kSpawn, kStop } from './kinds.js';
import type { Envelope } from './mailroom.js';
import {
  kSActors, kSDepth, kSDropped, kSExited, kSExpired, kSHandled, kSLatency, kSSpawned, kSTop, kSTopSeq, kStatsWords, kTopN, kLatencyBuckets,
  readSchedulerStats, type SchedulerStats,
} from './scheduler-stats.js';

/** A spawn, as the system process receives it. */
export interface SpawnRequest {
  readonly behaviour: BehaviourRef;
  readonly args: unknown;
  /** Register under this name (registry id and key) before `init`. */
  readonly name?: { readonly registry: string; readonly key: Key };
  readonly mailboxLimit?: number;
  /**
   * The name's value while `init` runs is `null`, then the behaviour's export name (one more registry
   * write): a lookup tells a started actor from one still in `init`. Supervised children use it.
   */
  readonly markStarting?: boolean;
  /** How long `terminate` may run at the exit (ms; default: no bound). */
  readonly shutdownMs?: number;
}

/** A handler of system messages of one kind (`to` 0) that the scheduler itself does not know. */
export type SystemHandler = (env: Envelope) => void;

const kBatch = 256;
const kChunk = 32;
/** How often the total mailbox depth is recomputed (ms). */
const kDepthMs = 100;
/** Longest synchronous slice of a batch, or of `stop()` (ms). */
const kSliceMs = 4;
/** Default mailbox bound per actor. */
export const kDefaultMailboxLimit = 100_000;

let current: Scheduler | undefined;

/** The scheduler of this thread, if it is one. */
export function currentScheduler(): Scheduler | undefined {
  return current;
}

function register(s: Scheduler): void {
  current = s;
}

export class Scheduler implements Host, ActorHost {
  readonly caller: Caller;
  readonly domain: Domain;
  readonly statsBuffer = new SharedArrayBuffer(kStatsWords * 4);
  readonly #stats = new Int32Array(this.statsBuffer);
  readonly actors = new Map<number, Actor>();
  readonly #registries = new Map<string, Registry<unknown>>();
  readonly #behaviours = new Map<string, Promise<Behaviour<unknown, unknown>>>();
  readonly #systemHandlers = new Map<number, SystemHandler>();
  /**
   * While it returns true, the loop routes no mail (it yields instead): the bus sets it while a fan-out
   * is delivered in slices, so nothing a sender sent after a publish overtakes that publish.
   */
  holdMail: (() => boolean) | null = null;
  /** Mail that arrived while held, routed in order by `releaseHeld`. */
  #held: Envelope[] = [];
  #heldHead = 0;
  /** Called at the end of every actor's exit (the supervisor partition restarts children here). */
  onExit: ((actor: Actor, reason: string, started: boolean) => void) | null = null;
  #stopped = false;

  constructor(registries: readonly RegistryHandle[]) {
    if (current !== undefined) throw new InvalidOptionError('this thread already runs a scheduler');
    this.domain = Domain.current();
    this.caller = Caller.current();
    this.caller.setHost(this);
    for (const h of registries) this.addRegistry(h);
    setOwnerHook((reg, key, pid) => {
      const a = this.actors.get(pidLocal(pid));
      if (a !== undefined && a.pid === pid && !a.exited) a.registered(reg, key);
      else if (pidLocal(pid) !== 0) {
        // A registration by an actor that has exited already (a terminate abandoned after its shutdown
        // time, still running): undone at once, so no name outlives its actor.
        runAs(pid, () => reg.unregister(key));
      }
    });
    register(this);
  }

  /** A registry of this runtime by its id (`registry.handle.id`), or undefined. This thread only. */
  registryById(id: string): Registry<unknown> | undefined {
    return this.#registries.get(id);
  }

  /** Makes a registry usable for spawn names on this scheduler. */
  addRegistry(h: RegistryHandle): void {
    if (!this.#registries.has(h.id)) this.#registries.set(h.id, Registry.attach(h));
  }

  /** Counters of this scheduler. */
  stats(): SchedulerStats {
    return readSchedulerStats(this.statsBuffer);
  }

  /** Counts a call served in `ms` (handler start to reply) in the service-time histogram. */
  served(ms: number): void {
    const us = ms * 1000;
    const b = us < 1 ? 0 : Math.min(kLatencyBuckets - 1, 1 + Math.floor(Math.log2(us)));
    Atomics.add(this.#stats, kSLatency + b, 1);
  }

  #published = 0;

  /** Publishes the total mailbox depth and the five deepest mailboxes. One pass over the actors. */
  #publishDepth(): void {
    let depth = 0;
    const top: number[] = []; // [local, depth] pairs, deepest first
    for (const a of this.actors.values()) {
      const d = a.depth;
      depth += d;
      if (d === 0 || (top.length === 2 * kTopN && d <= (top[2 * kTopN - 1] as number))) continue;
      let i = top.length;
      while (i > 0 && (top[i - 1] as number) < d) i -= 2;
      top.splice(i, 0, a.local, d);
      if (top.length > 2 * kTopN) top.length = 2 * kTopN;
    }
    const s = this.#stats;
    Atomics.store(s, kSDepth, depth);
    // ORDER: sequence odd, pairs, sequence even: a reader that saw the same even value twice read whole pairs.
    Atomics.add(s, kSTopSeq, 1);
    for (let i = 0; i < 2 * kTopN; i++) Atomics.store(s, kSTop + i, top[i] ?? 0);
    Atomics.add(s, kSTopSeq, 1);
    this.#published = performance.now();
  }

  count(what: 'handled' | 'dropped' | 'expired'): void {
    Atomics.add(this.#stats, what === 'handled' ? kSHandled : what === 'dropped' ? kSDropped : kSExpired, 1);
  }

  /** Routes one envelope from the mailroom, or keeps it (in order) while mail is held. */
  #route(env: Envelope): void {
    if (this.#heldHead < this.#held.length || this.holdMail?.() === true) this.#held.push(env);
    else this.caller.route(env);
  }

  /** Routes the mail kept while held, in order, until it is held again. The bus calls it after a fan-out. */
  releaseHeld(): void {
    while (this.#heldHead < this.#held.length && this.holdMail?.() !== true) {
      const env = this.#held[this.#heldHead] as Envelope;
      this.#held[this.#heldHead++] = undefined as never;
      this.caller.route(env);
    }
    if (this.#heldHead === this.#held.length) {
      this.#held = [];
      this.#heldHead = 0;
    }
  }

  /** Handles system messages of `kind` (the supervisor and the event bus add theirs). This thread only. */
  handleSystem(kind: number, handler: SystemHandler): void {
    this.#systemHandlers.set(kind, handler);
  }

  /** True once `stop()` began. */
  get stopping(): boolean {
    return this.#stopped;
  }

  exited(actor: Actor, reason: string, started: boolean): void {
    this.onExit?.(actor, reason, started);
  }

  remove(actor: Actor): void {
    if (this.actors.get(actor.local) !== actor) return;
    this.actors.delete(actor.local);
    Atomics.sub(this.#stats, kSActors, 1);
    Atomics.add(this.#stats, kSExited, 1);
  }

  /** Routes an envelope for an actor or the system process (called by the caller's router). */
  deliver(env: Envelope): void {
    if (env.to === 0) return this.#system(env);
    const actor = this.actors.get(env.to);
    switch (env.kind) {
      case kCall:
        if (actor === undefined) this.caller.replyError({ pid: env.from, ref: env.ref }, new NoProcError(`no process ${makePid(this.domain.inc, env.to)}`), makePid(this.domain.inc, 0));
        else actor.enqueue(env);
        return;
      case kCast:
      case kInfo:
        if (actor === undefined) this.count('dropped');
        else actor.enqueue(env);
        return;
      case kMonitor:
        if (actor === undefined) this.caller.sendDown(env.from, env.ref, makePid(this.domain.inc, env.to), 'noproc');
        else actor.monitoredBy(env.ref, env.from);
        return;
      case kDemonitor:
        actor?.unmonitor(env.ref);
        return;
      default:
        return;
    }
  }

  down(watcher: number, down: Down): void {
    this.actors.get(watcher)?.down(down);
  }

  #system(env: Envelope): void {
    const from = { pid: env.from, ref: env.ref };
    const self = makePid(this.domain.inc, 0);
    switch (env.kind) {
      case kSpawn:
        this.spawn(env.body as SpawnRequest).then(
          (pid) => this.caller.reply(from, pid, self),
          (err: unknown) => this.caller.replyError(from, err, self),
        );
        return;
      case kStop: {
        const { pid, reason } = env.body as { pid: Pid; reason: string };
        const actor = this.actors.get(pidLocal(pid));
        if (actor === undefined || actor.pid !== pid) {
          this.caller.replyError(from, new NoProcError(`no process ${pid}`), self);
          return;
        }
        void actor.exit(reason).then(() => this.caller.reply(from, true, self));
        return;
      }
      case kPing:
        this.caller.reply(from, 'pong', self);
        return;
      case kReply:
        return;
      default: {
        const h = this.#systemHandlers.get(env.kind);
        // The scheduler's own process is not an actor: a call to it fails, a monitor fires 'noproc'.
        if (h !== undefined) h(env);
        else this.caller.notAnActor(env);
      }
    }
  }

  #load(ref: BehaviourRef): Promise<Behaviour<unknown, unknown>> {
    const id = `${ref.module}#${ref.export}`;
    let p = this.#behaviours.get(id);
    if (p === undefined) {
      const url = /^[a-z][a-z0-9+.-]*:/i.test(ref.module) ? ref.module : pathToFileURL(ref.module).href;
      p = import(url).then((m: Record<string, unknown>) => {
        const b = m[ref.export] as Behaviour<unknown, unknown> | undefined;
        if (typeof b !== 'object' || b === null || typeof b.init !== 'function') {
          throw new InvalidOptionError(`${ref.module} does not export a behaviour named ${JSON.stringify(ref.export)} (an object with an init function)`);
        }
        return b;
      }, (err: unknown) => {
        // A module that cannot be found or loaded is a bad behaviour reference, with a Roster code
        // (Node's own code, e.g. ERR_MODULE_NOT_FOUND, would otherwise travel back as the error's code).
        throw new InvalidOptionError(`cannot load the behaviour module ${ref.module}: ${err instanceof Error ? err.message : String(err)}`);
      });
      p.catch(() => this.#behaviours.delete(id));
      this.#behaviours.set(id, p);
    }
    return p;
  }

  /**
   * Spawns an actor here: registers its name (before `init`; a taken name fails with
   * `AlreadyStartedError` and `init` never runs), then runs `init` as the actor. Messages that arrive
   * meanwhile wait in its mailbox. A failing `init` removes everything of it and rejects with
   * `SpawnError`. `created` is called with the pid as soon as the actor exists (before its name and init).
   */
  async spawn(req: SpawnRequest, created?: (pid: Pid) => void): Promise<Pid> {
    if (this.#stopped) throw new NoProcError('the scheduler is stopping');
    const behaviour = await this.#load(req.behaviour);
    const limit = req.mailboxLimit ?? kDefaultMailboxLimit;
    const local = this.domain.nextLocal();
    const pid = makePid(this.domain.inc, local);
    const actor = new Actor(pid, local, behaviour, req.behaviour.export, limit, this);
    if (req.shutdownMs !== undefined) actor.shutdownMs = req.shutdownMs;
    this.actors.set(local, actor);
    Atomics.add(this.#stats, kSActors, 1);
    Atomics.add(this.#stats, kSSpawned, 1);
    // The supervisor records its child here, before init: an exit at any later point finds the record.
    created?.(pid);
    if (req.name !== undefined) {
      const reg = this.#registries.get(req.name.registry);
      if (reg === undefined) {
        await actor.exit('noname', null, false);
        throw new InvalidOptionError(`registry ${req.name.registry} is not known to this runtime: pass it to Runtime.start({ registries })`);
      }
      const key = req.name.key;
      const r = runAs(pid, () => reg.register(key, req.markStarting === true ? null : req.behaviour.export));
      if (!r.ok) {
        await actor.exit('already_started', null, false);
        throw new AlreadyStartedError(`${describe(key)} is already registered in ${reg.name} by ${r.holder}`, r.holder);
      }
    }
    let state: unknown;
    try {
      state = await runAsActor(pid, () => behaviour.init(req.args));
    } catch (err) {
      const reason = `error: ${err instanceof Error ? err.message : String(err)}`;
      await actor.exit(reason, null, false);
      throw new SpawnError(`init of ${req.behaviour.export} failed: ${reason}`, reason);
    }
    if (req.markStarting === true && req.name !== undefined && !actor.exited) {
      const reg = this.#registries.get(req.name.registry) as Registry<unknown>;
      runAs(pid, () => reg.updateValue(req.name?.key as Key, () => req.behaviour.export));
    }
    actor.start(state);
    return pid;
  }

  /** Drains the mailroom forever in bounded batches, yielding between them. Resolves after `stop()`. */
  async run(): Promise<void> {
    const mailroom = this.caller.mailroom;
    const route = (env: Envelope): void => this.#route(env);
    // A ref'd handle: a scheduler parked on its doorbell must not let its thread exit.
    const keep = setInterval(() => undefined, 1 << 30);
    // While batches stay full the depths are not published at batch ends, and mailboxes drained by
    // async handlers change without a batch: publish every 100 ms then (not while idle and empty).
    let full = false;
    const depths = setInterval(() => {
      if ((full || Atomics.load(this.#stats, kSDepth) !== 0) && performance.now() - this.#published >= kDepthMs) this.#publishDepth();
      full = false;
    }, kDepthMs);
    depths.unref();
    try {
      while (!this.#stopped) {
        if (this.holdMail?.() !== true) this.releaseHeld();
        if (this.holdMail?.() === true || this.#heldHead < this.#held.length) {
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        // A batch ends at kBatch messages or after kSliceMs, whichever comes first: messages that
        // start actors are heavy, and the loop must come round to its timers (heartbeats) often.
        const since = performance.now();
        let n = 0;
        for (let got = kChunk; got === kChunk && n < kBatch && performance.now() - since < kSliceMs; n += got) {
          got = mailroom.drain(kChunk, route);
        }
        if (n >= kBatch || performance.now() - since >= kSliceMs) {
          full = true;
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        // Publishing walks every actor: at most every kDepthMs, not on every idle turn.
        if (since - this.#published >= kDepthMs) this.#publishDepth();
        if (n === 0) await mailroom.waitForMail();
        else await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      clearInterval(keep);
      clearInterval(depths);
    }
  }

  /** Stops every actor with `reason` and ends `run()`. */
  async stop(reason = 'shutdown'): Promise<void> {
    this.#stopped = true;
    // In slices of a few ms, yielding between them: a scheduler with many actors keeps beating while
    // it stops them (an exit without `terminate` runs to its end synchronously).
    const exits: Array<Promise<void>> = [];
    let since = performance.now();
    for (const a of [...this.actors.values()]) {
      exits.push(a.exit(reason));
      if (performance.now() - since > kSliceMs) {
        await new Promise<void>((r) => setImmediate(r));
        since = performance.now();
      }
    }
    await Promise.all(exits);
    this.caller.mailroom.wake();
  }

  /** One row per actor, for the control plane. */
  list(): Array<{ pid: Pid; behaviour: string; depth: number; handled: number; dropped: number; uptimeMs: number; names: string[] }> {
    const now = Date.now();
    return [...this.actors.values()].map((a) => ({
      pid: a.pid,
      behaviour: a.name,
      depth: a.depth,
      handled: a.handled,
      dropped: a.dropped,
      uptimeMs: now - a.startedAt,
      names: a.names.map(([r, k]) => `${r.name}:${typeof k === 'string' ? k : describe(k)}`),
    }));
  }
}

