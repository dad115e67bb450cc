/**
 * Supervision: the link between a `Worker` object and the death of the thread it runs.
 *
 * Only the thread that created a `Worker` sees its `'exit'` and can `terminate()` it. `supervise(worker)`
 * hooks both: on `'exit'` it declares the thread's incarnation dead in shared memory (every thread sees
 * that at once) with the reason (`exit`, `error`, `terminated`, `out_of_memory`, `stalled`); and it
 * obeys the coordinator's requests to terminate a stalled thread. A thread is declared dead only after
 * it stopped, so whoever then finds its lock may repair it.
 *
 * @module
 */
import { BroadcastChannel, type Worker } from 'node:worker_threads';
import { Domain, type DeathReason } from './domain.js';
import { InvalidOptionError, describe } from './errors.js';

/** Options of `supervise`. */
export interface SuperviseOptions {
  /**
   * Watch the thread's heartbeat and terminate it when its event loop stays blocked past the
   * coordinator's `stallMs`. Default true. Turn off for threads that park in `Atomics.wait` between
   * tasks (piscina with `atomics: 'sync'`): their timers do not run while parked.
   */
  readonly stall?: boolean;
}

/** Messages on a domain's control channel. Internal. */
export type ControlMessage =
  | { readonly type: 'registry'; readonly handle: unknown }
  | { readonly type: 'supervise'; readonly threadId: number; readonly stall: boolean }
  | { readonly type: 'terminate'; readonly threadId: number }
  | { readonly type: 'unsupervise'; readonly threadId: number };

/** Name of the control channel of a domain. */
export function controlChannel(domain: Domain): string {
  return `roster:domain:${domain.id}`;
}

const supervised = new Map<number, { worker: Worker; stalled: boolean }>();
let channel: BroadcastChannel | undefined;

/** This thread's end of the control channel (unref'd; opened on first use). */
export function control(): BroadcastChannel {
  if (channel !== undefined) return channel;
  const ch = new BroadcastChannel(controlChannel(Domain.current()));
  (ch as unknown as { unref(): void }).unref();
  ch.onmessage = (ev: unknown) => {
    const msg = (ev as { data: ControlMessage }).data;
    if (msg.type !== 'terminate') return;
    const entry = supervised.get(msg.threadId);
    if (entry === undefined) return;
    entry.stalled = true;
    void entry.worker.terminate();
  };
  channel = ch;
  return ch;
}

/**
 * Supervises `worker`: declares its thread dead when it exits, however it exits, and terminates it when
 * the coordinator finds its event loop stalled. Call it right after `new Worker(...)`, from the thread
 * that created the worker. Cost: two event listeners and one message to the coordinator.
 */
export function supervise(worker: Worker, options: SuperviseOptions = {}): void {
  if (typeof worker !== 'object' || worker === null || typeof (worker as Worker).terminate !== 'function') {
    throw new InvalidOptionError(`expected a Worker, got: ${describe(worker)}`);
  }
  if (options.stall !== undefined && typeof options.stall !== 'boolean') {
    throw new InvalidOptionError(`expected options.stall to be a boolean, got: ${describe(options.stall)}`);
  }
  const domain = Domain.current();
  const tid = worker.threadId;
  const entry = { worker, stalled: false };
  supervised.set(tid, entry);
  let errorCode: string | undefined;
  let errored = false;
  worker.on('error', (err: unknown) => {
    errored = true;
    errorCode = (err as { code?: unknown } | null)?.code as string | undefined;
  });
  worker.once('exit', (code: number) => {
    supervised.delete(tid);
    const reason: DeathReason =
      errorCode === 'ERR_WORKER_OUT_OF_MEMORY' ? 'out_of_memory'
        : entry.stalled ? 'stalled'
          : errored ? 'error'
            : code === 0 ? 'exit' : 'terminated';
    domain.reap(tid, reason);
    control().postMessage({ type: 'unsupervise', threadId: tid } satisfies ControlMessage);
  });
  control().postMessage({ type: 'supervise', threadId: tid, stall: options.stall ?? true } satisfies ControlMessage);
}
