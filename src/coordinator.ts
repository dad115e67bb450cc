/**
 * The coordinator: a thread of its own that watches heartbeats, sweeps the entries of dead threads,
 * and recovers the locks they held.
 *
 * ```
 *  supervising thread            shared memory (domain)             coordinator thread
 *  worker 'exit' ──► reap ──► live[slot] = 0, declared++ ──notify──► recover locks, sweep every
 *                                                                     registry, swept++ ──► sync()
 *  terminate() ◄── control channel ◄── heartbeat unchanged past stallMs
 * ```
 * A thread is declared dead by the thread that saw it stop, so the declaration is instant and every
 * thread sees it at once: lookups stop returning its entries and unique `register` replaces them even
 * before the sweep. The sweep then removes them for good. `sync()` waits for it.
 *
 * @module
 */
import { Worker } from 'node:worker_threads';
import { Domain } from './domain.js';
import { InvalidOptionError, describe } from './errors.js';
import { control, supervise } from './supervise.js';
import { createdHandles } from './registry.js';

/** Options of `Coordinator.start`. */
export interface CoordinatorOptions {
  /** Heartbeat period of every thread, in ms. Default 100. */
  readonly heartbeatMs?: number;
  /** A supervised thread whose heartbeat stays unchanged this long is stalled: terminated, then swept. Default 1000. */
  readonly stallMs?: number;
  /**
   * If a stalled thread has not exited this long after the terminate request (its supervisor is gone
   * or blocked), the coordinator declares it dead itself; its writes are then fenced by the incarnation
   * check. Default 1000.
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

/** Handle on a running coordinator thread. */
export class Coordinator {
  readonly #worker: Worker;
  readonly #domain: Domain;

  private constructor(worker: Worker, domain: Domain) {
    this.#worker = worker;
    this.#domain = domain;
  }

  /**
   * Starts the coordinator thread for this thread's domain and resolves once it runs. Registries created
   * in this thread before the call are handed to it; later ones announce themselves. Any thread, once
   * per domain.
   */
  static async start(options: CoordinatorOptions = {}): Promise<Coordinator> {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError(`expected options to be an object, got: ${describe(options)}`);
    const heartbeatMs = ms(options, 'heartbeatMs', 100);
    const stallMs = ms(options, 'stallMs', 1000);
    const fenceMs = ms(options, 'fenceMs', 1000);
    const domain = Domain.current();
    const ready = new SharedArrayBuffer(4);
    const worker = new Worker(new URL('../workers/coordinator.js', import.meta.url), {
      workerData: { domain: domain.sab, heartbeatMs, stallMs, fenceMs, handles: createdHandles(), ready },
    });
    // The coordinator is itself supervised: if it dies, its own entries and locks are swept by the next one.
    supervise(worker, { stall: false });
    control();
    const flag = new Int32Array(ready);
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('online', () => {
        const wait = (): void => {
          // ORDER: the coordinator stores 1 and notifies once it listens on the control channel.
          if (Atomics.load(flag, 0) === 1) return resolve();
          const r = Atomics.waitAsync(flag, 0, 0, 50);
          void (r.async ? r.value.then(wait) : Promise.resolve().then(wait));
        };
        wait();
      });
    });
    return new Coordinator(worker, domain);
  }

  /** Resolves once every death declared before the call has been swept (Elixir's `:sync`). Any thread. */
  sync(timeoutMs?: number): Promise<void> {
    return this.#domain.sync(timeoutMs);
  }

  /** Deaths declared and swept so far. */
  deaths(): { declared: number; swept: number } {
    return this.#domain.deaths();
  }

  /** Stops the coordinator thread. */
  async stop(): Promise<void> {
    await this.#worker.terminate();
  }
}
