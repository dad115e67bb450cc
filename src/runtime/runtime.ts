/**
 * `Runtime`: starts the scheduler threads (and the coordinator, if none runs), and is the main
 * thread's handle on them. Schedulers are supervised with heartbeats like any worker: one whose event
 * loop blocks past `stallMs` is terminated, its actors are dead, their names swept, their monitors
 * fired and the calls to them failed.
 *
 * Folder `src/runtime/` (layer 5; may import every layer below): the actor runtime. Actors and
 * behaviours, schedulers, rings and mailboxes, the message codec, calls and replies, monitors, placement
 * and the comlink control plane, the dynamic supervisor and the event bus. This module starts it.
 *
 * **A scheduler that dies is replaced.** Its slot in the directory stays, the runtime starts a new
 * scheduler thread at the same index, and the supervisors' ledger (which lives in this thread)
 * restarts the dead thread's permanent and transient children on the surviving schedulers at once.
 * `runtime.on(listener)` reports `schedulerDown`, `schedulerUp` and `recovered` (every child running
 * again), with times.
 *
 * Other threads (piscina task workers, your own workers) join with `Runtime.attach(runtime.handle)`;
 * then they can `spawn`, `call`, `cast` and `monitor` like the main thread.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { wrap, releaseProxy } from 'comlink/dist/esm/comlink.mjs';
import type { Remote } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Domain } from '../domain/domain.js';
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
import { readSchedulerStats, type SchedulerStats } from './scheduler-stats.js';
import { Ledger, setActiveLedger } from './supervisor-ledger.js';

/** Options of `Runtime.start`. */
export interface RuntimeOptions {
  /** Scheduler threads. Default: one per core (`os.availableParallelism()`). */
  readonly schedulers?: number;
  /**
   * Registries the actors use: unique ones for names (`spawn(…, { name: via(reg, key) })`), duplicate
   * ones for event buses. Actors reach them with `Runtime.registry(name)`.
   */
  readonly registries?: ReadonlyArray<Registry<unknown>>;
  /** Options of the coordinator, if the runtime starts it (none runs yet). */
  readonly coordinator?: CoordinatorOptions;
}

/** Structured-cloneable description of a runtime, for `Runtime.attach` in other threads. */
export interface RuntimeHandle {
  readonly directory: SharedArrayBuffer;
  readonly registries: RegistryHandle[];
  /** Incarnation of the runtime's thread, whose ledger the supervisors report to. */
  readonly ledger: number;
}

/** Events of a runtime (`runtime.on`): a scheduler died, its replacement started, its children run again. */
export type RuntimeEvent =
  | { readonly type: 'schedulerDown'; readonly index: number; readonly reason: string; readonly children: number }
  | { readonly type: 'schedulerUp'; readonly index: number; readonly ms: number }
  | { readonly type: 'recovered'; readonly index: number; readonly ms: number; readonly children: number };

const kStartMs = 30_000;

let active: Runtime | undefined;

interface Slot {
  worker: Worker;
  exited: Promise<void>;
  control: Remote<SchedulerControl>;
  info: SchedulerInfo;
}

function startWorker(index: number, handle: RuntimeHandle): { worker: Worker; exited: Promise<void>; control: Remote<SchedulerControl> } {
  const worker = new Worker(new URL('../../workers/scheduler.js', import.meta.url), { workerData: { index, runtime: handle } });
  supervise(worker);
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  return { worker, exited, control: wrap<SchedulerControl>(nodeEndpoint(worker)) };
}

/** Waits until each started worker answers `info()` and has published itself in the directory. */
async function ready(handle: RuntimeHandle, started: ReadonlyArray<{ worker: Worker; control: Remote<SchedulerControl> }>): Promise<SchedulerInfo[]> {
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RosterError('ROSTER_ERR_TIMEOUT', `schedulers did not start within ${kStartMs} ms`)), kStartMs);
    for (const { worker } of started) worker.once('exit', (code) => reject(new RosterError('ROSTER_ERR_SPAWN', `a scheduler thread exited while starting (code ${code})`)));
  });
  failed.catch(() => undefined);
  try {
    const infos = await Promise.race([Promise.all(started.map((w) => w.control.info())), failed]);
    // ORDER: each scheduler publishes its incarnation in the directory after it can receive.
    const dir = new Int32Array(handle.directory);
    await Promise.race([Promise.all(infos.map(async (info) => {
      while (Atomics.load(dir, 1 + info.index) !== info.inc) await new Promise((r) => setTimeout(r, 1));
    })), failed]);
    return infos;
  } finally {
    clearTimeout(timer);
  }
}

/** The main thread's handle on a running runtime. */
export class Runtime {
  readonly handle: RuntimeHandle;
  readonly #slots: Slot[];
  readonly #coordinator: Coordinator | null;
  readonly #ledger: Ledger;
  readonly #events = new EventEmitter();
  #stopping = false;

  private constructor(handle: RuntimeHandle, slots: Slot[], coordinator: Coordinator | null, ledger: Ledger) {
    this.handle = handle;
    this.#slots = slots;
    this.#coordinator = coordinator;
    this.#ledger = ledger;
    slots.forEach((slot, i) => this.#watch(slot, i));
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
      if (!(r instanceof Registry)) throw new InvalidOptionError(`expected Registry instances, got: ${describe(r)}`);
    }
    let coordinator: Coordinator | null = null;
    try {
      coordinator = await Coordinator.start(options.coordinator ?? {});
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ROSTER_ERR_COORDINATOR_RUNNING') throw err;
    }
    if (active !== undefined) throw new RosterError('ROSTER_ERR_RUNTIME_RUNNING', 'a runtime already runs in this thread; stop it first');
    installErrorTransfer();
    const caller = Caller.current(); // this thread's mailroom, for replies and the ledger's reports
    const handle: RuntimeHandle = { directory: newDirectory(n), registries: registries.map((r) => r.handle), ledger: caller.domain.inc };
    const started = Array.from({ length: n }, (_, index) => startWorker(index, handle));
    try {
      const infos = await ready(handle, started);
      // Only now does this thread place spawns on the new schedulers.
      setDirectory(handle.directory);
      setRuntimeRegistries(registries);
      const ledger = new Ledger(caller);
      setActiveLedger(ledger);
      active = new Runtime(handle, started.map((w, i) => ({ ...w, info: infos[i] as SchedulerInfo })), coordinator, ledger);
      return active;
    } catch (err) {
      await Promise.all(started.map((w) => w.worker.terminate()));
      if (coordinator !== null) await coordinator.stop();
      throw err;
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
    return this.#slots.length;
  }

  #slot(i: number): Slot {
    const s = this.#slots[i];
    if (s === undefined) throw new InvalidOptionError(`no scheduler ${describe(i)}`);
    return s;
  }

  /** The comlink control interface of scheduler `i` now (list actors, stats, spawn, stop, ping). */
  control(i: number): Remote<SchedulerControl> {
    return this.#slot(i).control;
  }

  /** The worker thread of scheduler `i` now (for tests and tools: its `threadId`, `terminate()`). */
  worker(i: number): Worker {
    return this.#slot(i).worker;
  }

  /**
   * Counters of every scheduler and its mailroom, read from shared memory (no message sent). A
   * scheduler that died reports no actors until its replacement is up.
   */
  stats(): Array<SchedulerStats & { index: number; mail: MailStats }> {
    const domain = Domain.current();
    return this.#slots.map(({ info }) => {
      const s = readSchedulerStats(info.stats);
      // A dead scheduler (until its replacement is up) hosts nothing, whatever its last counters said.
      const alive = domain.isAlive(info.inc);
      return { index: info.index, ...s, ...(alive ? {} : { actors: 0, depth: 0 }), mail: Mailroom.readStats(info.mail) };
    });
  }

  /** Calls `listener` with each `RuntimeEvent`; returns a function that removes it. */
  on(listener: (e: RuntimeEvent) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidOptionError(`expected a listener function, got: ${describe(listener)}`);
    this.#events.on('event', listener);
    return () => this.#events.off('event', listener);
  }

  #watch(slot: Slot, index: number): void {
    void slot.exited.then(() => {
      if (this.#stopping || this.#slots[index] !== slot) return;
      void this.#replace(index, slot);
    });
  }

  /** Scheduler `index` died: restart its children elsewhere, and start a replacement thread. */
  async #replace(index: number, dead: Slot): Promise<void> {
    const t0 = performance.now();
    const inc = dead.info.inc;
    const dir = new Int32Array(this.handle.directory);
    Atomics.compareExchange(dir, 1 + index, inc, 0);
    const reason = Domain.current().reasonOf(inc);
    const ledger = this.#ledger;
    const children = ledger.schedulerDied(inc, reason);
    this.#events.emit('event', { type: 'schedulerDown', index, reason, children } satisfies RuntimeEvent);
    const recovered = (): void => {
      this.#events.emit('event', { type: 'recovered', index, ms: performance.now() - t0, children } satisfies RuntimeEvent);
    };
    if (ledger.moving === 0) recovered();
    else ledger.once('recovered', recovered);
    const w = startWorker(index, this.handle);
    try {
      const [info] = await ready(this.handle, [w]);
      const slot: Slot = { ...w, info: info as SchedulerInfo };
      if (this.#stopping) {
        await w.worker.terminate();
        return;
      }
      this.#slots[index] = slot;
      dead.control[releaseProxy]();
      this.#watch(slot, index);
      this.#events.emit('event', { type: 'schedulerUp', index, ms: performance.now() - t0 } satisfies RuntimeEvent);
      ledger.restartPending();
    } catch (err) {
      await w.worker.terminate();
      if (!this.#stopping) process.emitWarning(`roster: the replacement of scheduler ${index} failed to start: ${(err as Error).message}`);
    }
  }

  /** Stops every actor (reason `'shutdown'`), then the scheduler threads, then the coordinator if it started it. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#slots.map(async ({ control, worker, exited }) => {
      try {
        // A scheduler that died never answers: its exit ends the wait.
        await Promise.race([control.shutdown('shutdown'), exited]);
      } catch {
        // A scheduler that died already has nothing to stop.
      }
      control[releaseProxy]();
      await worker.terminate();
    }));
    if (active === this) {
      active = undefined;
      if (getDirectory() !== undefined && getDirectory()?.buffer === this.handle.directory) setDirectory(newDirectory(0));
      setRuntimeRegistries([]);
      setActiveLedger(undefined);
    }
    this.#ledger.close();
    this.#events.removeAllListeners();
    await this.#coordinator?.stop();
  }
}
