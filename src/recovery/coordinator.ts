/**
 * The coordinator: a thread of its own that watches heartbeats, sweeps the entries of dead threads,
 * and recovers the locks they held.
 *
 * Folder `src/recovery/` (layer 4; imports registry, memory and domain): who notices deaths and cleans
 * up. Supervision of workers, with stall checks and precise reasons (supervise.ts), the coordinator
 * (this module) and the sweeper that runs inside its thread (sweeper.ts).
 *
 * ```
 *  creating thread               shared memory (domain)             coordinator thread
 *  worker 'exit' ──► reap ──► slot Dead, live = 0, declared++ ──notify──► recover locks, sweep every
 *                                                                     registry, slot Free ──► sync()
 *  terminate() ◄── control channel ◄── heartbeat unchanged past stallMs
 * ```
 * A thread is declared dead by the thread that saw it stop, so the declaration is instant and every
 * thread sees it at once: lookups stop returning its entries and unique `register` replaces them even
 * before the sweep. The sweep then removes them for good. `sync()` waits for it.
 *
 * One coordinator runs per domain. It never blocks on a partition lock, and an error in one registry
 * does not stop it.
 *
 * @module
 */
import { Worker } from 'node:worker_threads';
import { knownHandles } from '../domain/control.js';
import { Domain, waitFor } from '../domain/domain.js';
import { InvalidOptionError, RosterError, describe } from '../errors.js';
import { supervise } from './supervise.js';

/** Options of `Coordinator.start`. */
export interface CoordinatorOptions {
  /** Heartbeat period of every thread, in ms. Default 100. */
  readonly heartbeatMs?: number;
  /**
   * A supervised thread whose heartbeat stays unchanged this long is stalled: terminated (with a
   * process warning), then swept. At least 2 × `heartbeatMs`. Default 1000.
   */
  readonly stallMs?: number;
  /**
   * If a stalled thread has not exited this long after the terminate request (its supervisor is
   * blocked or gone), the coordinator fences it: its entries are hidden and its writes refused; locks
   * it holds stay held until its exit is seen. Default 1000.
   */
  readonly fenceMs?: number;
}

function ms(o: CoordinatorOptions, name: keyof CoordinatorOptions, dflt: number): number {
  const v = o[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 600_000) {
    throw new InvalidOptionError(`expected options.${name} to be an integer number of ms from 1 to 600000, got: ${describe(v)}`);
  }
  return v;
}

let running: Coordinator | undefined;
let starting: Promise<Coordinator> | undefined;

/** Handle on a running coordinator thread. */
export class Coordinator {
  readonly #worker: Worker;
  readonly #domain: Domain;
  #exited: Promise<void>;

  private constructor(worker: Worker, domain: Domain, exited: Promise<void>) {
    this.#worker = worker;
    this.#domain = domain;
    this.#exited = exited;
  }

  /**
   * Starts the coordinator thread for this thread's domain and resolves once it runs. Registries this
   * thread created or attached are handed to it; every other thread announces its own when it starts.
   * Any thread. One coordinator per domain: calling again while it runs returns the same coordinator in
   * the thread that started it, and throws `ROSTER_ERR_COORDINATOR_RUNNING` in any other.
   */
  static async start(options: CoordinatorOptions = {}): Promise<Coordinator> {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError(`expected options to be an object, got: ${describe(options)}`);
    const heartbeatMs = ms(options, 'heartbeatMs', 100);
    const stallMs = ms(options, 'stallMs', 1000);
    const fenceMs = ms(options, 'fenceMs', 1000);
    if (stallMs < 2 * heartbeatMs) {
      throw new InvalidOptionError(
        `stallMs (${stallMs}) must be at least twice heartbeatMs (${heartbeatMs}): a healthy thread beats once per heartbeat, ` +
          'so a shorter stallMs would terminate idle threads',
      );
    }
    const domain = Domain.current();
    if (running !== undefined) return running;
    if (starting !== undefined) return starting;
    starting = Coordinator.#start(domain, heartbeatMs, stallMs, fenceMs);
    try {
      return await starting;
    } finally {
      starting = undefined;
    }
  }

  static async #start(domain: Domain, heartbeatMs: number, stallMs: number, fenceMs: number): Promise<Coordinator> {
    if (!domain.claimCoordinator()) {
      throw new RosterError('ROSTER_ERR_COORDINATOR_RUNNING', 'a coordinator already runs (or is starting) in this domain; stop it first');
    }
    const ready = new SharedArrayBuffer(4);
    let worker: Worker;
    try {
      worker = new Worker(new URL('../../workers/coordinator.js', import.meta.url), {
        workerData: { domain: domain.sab, heartbeatMs, stallMs, fenceMs, handles: knownHandles(), ready },
      });
    } catch (err) {
      domain.releaseCoordinator(-1);
      throw err;
    }
    // The coordinator is itself supervised: if it dies, its own entries and locks are recovered by anyone.
    supervise(worker, { stall: false });
    // Its warnings are emitted here, where the application listens for them.
    worker.on('message', (m: { roster?: unknown; message?: unknown; code?: unknown }) => {
      if (m?.roster === 'warning') process.emitWarning(String(m.message), { code: String(m.code) });
    });
    // It never keeps the process alive by itself: it only serves the threads that do.
    worker.unref();
    const exited = new Promise<void>((resolve) => {
      worker.once('exit', () => {
        const inc = domain.coordinator();
        if (inc !== 0 && inc !== -1 && domain.isStopped(inc)) {
          domain.releaseCoordinator(inc);
          domain.freeUnswept(); // nothing sweeps them now; a later coordinator sweeps by liveness
        } else if (inc === -1) domain.releaseCoordinator(-1);
        if (running !== undefined && running.#worker === worker) running = undefined;
        resolve();
      });
    });
    const flag = new Int32Array(ready);
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      void exited.then(() => reject(new RosterError('ROSTER_ERR_COORDINATOR', 'the coordinator thread exited while starting')));
      const wait = async (): Promise<void> => {
        // ORDER: the coordinator stores 1 and notifies once it listens on the control channel.
        while (Atomics.load(flag, 0) !== 1) await waitFor(flag, 0, 0, 50);
        resolve();
      };
      void wait();
    });
    running = new Coordinator(worker, domain, exited);
    return running;
  }

  /**
   * Resolves once every thread declared dead before the call has been swept (Elixir's `:sync`).
   * Rejects with `TimeoutError` after `timeoutMs` (default 10 s). Any thread.
   */
  sync(timeoutMs?: number): Promise<void> {
    return this.#domain.sync(timeoutMs);
  }

  /** Deaths declared and swept, and threads fenced, so far. */
  deaths(): { declared: number; swept: number; fenced: number } {
    return this.#domain.deaths();
  }

  /** Stops the coordinator thread; resolves once it has exited. Another may be started afterwards. */
  async stop(): Promise<void> {
    await this.#worker.terminate();
    await this.#exited;
  }
}
