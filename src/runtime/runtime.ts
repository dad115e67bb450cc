/**
 * `Runtime`: starts the scheduler threads (and the coordinator, if none runs), and is the main
 * thread's handle on them. Schedulers are supervised with heartbeats like any worker: one whose event
 * loop blocks past `stallMs` is terminated, its actors are dead, their names swept, their monitors
 * fired and the calls to them failed.
 *
 * Folder `src/runtime/` (layer 5; may import every layer below): the actor runtime. Actors and
 * behaviours, schedulers, rings and mailboxes, the message codec, calls and replies, monitors, placement
 * and the comlink control plane. This module starts it.
 *
 * Other threads (piscina task workers, your own workers) join with `Runtime.attach(runtime.handle)`;
 * then they can `spawn`, `call`, `cast` and `monitor` like the main thread.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { wrap, releaseProxy } from 'comlink/dist/esm/comlink.mjs';
import type { Remote } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Coordinator, type CoordinatorOptions } from '../recovery/coordinator.js';
import { InvalidOptionError, RosterError, describe } from '../errors.js';
import type { RegistryHandle } from '../registry/options.js';
import { Registry } from '../registry/registry.js';
import { supervise } from '../recovery/supervise.js';
import { Caller } from './caller.js';
import type { SchedulerControl, SchedulerInfo } from './control-api.js';
import { Mailroom, type MailStats } from './mailroom.js';
import { getDirectory, newDirectory, setDirectory } from './placement.js';
import { installErrorTransfer } from './control-api.js';
import { runtimeRegistry, setRuntimeRegistries } from './runtime-registries.js';
import { readSchedulerStats, type SchedulerStats } from './scheduler.js';

/** Options of `Runtime.start`. */
export interface RuntimeOptions {
  /** Scheduler threads. Default: one per core (`os.availableParallelism()`). */
  readonly schedulers?: number;
  /** Unique registries whose names actors may spawn under (`spawn(…, { name: via(reg, key) })`). */
  readonly registries?: ReadonlyArray<Registry<unknown>>;
  /** Options of the coordinator, if the runtime starts it (none runs yet). */
  readonly coordinator?: CoordinatorOptions;
}

/** Structured-cloneable description of a runtime, for `Runtime.attach` in other threads. */
export interface RuntimeHandle {
  readonly directory: SharedArrayBuffer;
  readonly registries: RegistryHandle[];
}

const kStartMs = 30_000;

let active: Runtime | undefined;

/** The main thread's handle on a running runtime. */
export class Runtime {
  readonly handle: RuntimeHandle;
  readonly #workers: Worker[];
  readonly #exits: Array<Promise<void>>;
  readonly #controls: Array<Remote<SchedulerControl>>;
  readonly #infos: SchedulerInfo[];
  readonly #coordinator: Coordinator | null;

  private constructor(
    handle: RuntimeHandle, workers: Worker[], exits: Array<Promise<void>>, controls: Array<Remote<SchedulerControl>>, infos: SchedulerInfo[],
    coordinator: Coordinator | null,
  ) {
    this.handle = handle;
    this.#workers = workers;
    this.#exits = exits;
    this.#controls = controls;
    this.#infos = infos;
    this.#coordinator = coordinator;
  }

  /**
   * Starts `schedulers` scheduler threads, each supervised (stall checks included), and resolves once
   * every one accepts spawns. Starts a coordinator first unless one runs. Main thread (or any thread
   * that will own the runtime).
   */
  static async start(options: RuntimeOptions = {}): Promise<Runtime> {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError(`expected options to be an object, got: ${describe(options)}`);
    const n = options.schedulers ?? availableParallelism();
    if (!Number.isSafeInteger(n) || n < 1 || n > 256) throw new InvalidOptionError(`expected schedulers to be an integer from 1 to 256, got: ${describe(n)}`);
    const registries = options.registries ?? [];
    if (!Array.isArray(registries)) throw new InvalidOptionError(`expected registries to be an array of registries, got: ${describe(registries)}`);
    for (const r of registries) {
      if (!(r instanceof Registry) || r.kind !== 'unique') throw new InvalidOptionError(`expected unique Registry instances, got: ${describe(r)}`);
    }
    let coordinator: Coordinator | null = null;
    try {
      coordinator = await Coordinator.start(options.coordinator ?? {});
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ROSTER_ERR_COORDINATOR_RUNNING') throw err;
    }
    if (active !== undefined) throw new RosterError('ROSTER_ERR_RUNTIME_RUNNING', 'a runtime already runs in this thread; stop it first');
    const handle: RuntimeHandle = { directory: newDirectory(n), registries: registries.map((r) => r.handle) };
    installErrorTransfer();
    Caller.current(); // this thread's mailroom, for replies
    const workers: Worker[] = [];
    const controls: Array<Remote<SchedulerControl>> = [];
    const exits: Array<Promise<void>> = [];
    for (let index = 0; index < n; index++) {
      const worker = new Worker(new URL('../../workers/scheduler.js', import.meta.url), { workerData: { index, runtime: handle } });
      supervise(worker);
      workers.push(worker);
      exits.push(new Promise<void>((r) => worker.once('exit', () => r())));
      controls.push(wrap<SchedulerControl>(nodeEndpoint(worker)));
    }
    let timer: NodeJS.Timeout | undefined;
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RosterError('ROSTER_ERR_TIMEOUT', `schedulers did not start within ${kStartMs} ms`)), kStartMs);
      for (const w of workers) w.once('exit', (code) => reject(new RosterError('ROSTER_ERR_SPAWN', `a scheduler thread exited while starting (code ${code})`)));
    });
    try {
      const infos = await Promise.race([Promise.all(controls.map((c) => c.info())), failed]);
      // ORDER: each scheduler publishes its incarnation in the directory after it can receive.
      const dir = new Int32Array(handle.directory);
      await Promise.race([Promise.all(infos.map(async (info) => {
        while (Atomics.load(dir, 1 + info.index) === 0) await new Promise((r) => setTimeout(r, 1));
      })), failed]);
      // Only now does this thread place spawns on the new schedulers.
      setDirectory(handle.directory);
      setRuntimeRegistries(registries);
      active = new Runtime(handle, workers, exits, controls, infos, coordinator);
      return active;
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      if (coordinator !== null) await coordinator.stop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Joins a runtime started in another thread, so this thread can spawn, call and monitor. Any thread. */
  static attach(handle: RuntimeHandle): void {
    if (typeof handle !== 'object' || handle === null || !(handle.directory instanceof SharedArrayBuffer) || !Array.isArray(handle.registries)) {
      throw new InvalidOptionError(`expected a runtime handle, got: ${describe(handle)}`);
    }
    setDirectory(handle.directory);
    setRuntimeRegistries(handle.registries.map((h) => Registry.attach(h)));
    Caller.current();
  }

  /**
   * A registry given to `Runtime.start({ registries })`, by name, as this thread sees it: actors reach
   * their registries this way (registry handles cannot travel in messages). Throws `InvalidOptionError`.
   */
  static registry<V = unknown>(name: string): Registry<V> {
    return runtimeRegistry(name) as Registry<V>;
  }

  /** Number of scheduler threads. */
  get schedulers(): number {
    return this.#workers.length;
  }

  /** The comlink control interface of scheduler `i` (list actors, stats, spawn, stop, ping). */
  control(i: number): Remote<SchedulerControl> {
    const c = this.#controls[i];
    if (c === undefined) throw new InvalidOptionError(`no scheduler ${describe(i)}`);
    return c;
  }

  /** The worker thread of scheduler `i` (for tests and tools: its `threadId`, `terminate()`). */
  worker(i: number): Worker {
    const w = this.#workers[i];
    if (w === undefined) throw new InvalidOptionError(`no scheduler ${describe(i)}`);
    return w;
  }

  /** Counters of every scheduler and its mailroom, read from shared memory (no message sent). */
  stats(): Array<SchedulerStats & { index: number; mail: MailStats }> {
    return this.#infos.map((info) => ({ index: info.index, ...readSchedulerStats(info.stats), mail: Mailroom.readStats(info.mail) }));
  }

  /** Stops every actor (reason `'shutdown'`), then the scheduler threads, then the coordinator if it started it. */
  async stop(): Promise<void> {
    await Promise.all(this.#controls.map(async (c, i) => {
      const w = this.#workers[i] as Worker;
      const exited = this.#exits[i] as Promise<void>;
      try {
        // A scheduler that died never answers: its exit ends the wait.
        await Promise.race([c.shutdown('shutdown'), exited]);
      } catch {
        // A scheduler that died already has nothing to stop.
      }
      c[releaseProxy]();
      await w.terminate();
    }));
    if (active === this) {
      active = undefined;
      if (getDirectory() !== undefined && getDirectory()?.buffer === this.handle.directory) setDirectory(newDirectory(0));
      setRuntimeRegistries([]);
    }
    await this.#coordinator?.stop();
  }
}
