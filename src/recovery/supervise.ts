/**
 * Supervision: stall checks and precise death reasons for a `Worker`.
 *
 * Every Worker created by a thread that loaded Roster is already watched (domain.ts): its `'exit'`
 * declares it dead. `supervise(worker)` adds two things:
 * - the precise reason (`exit`, `error`, `terminated`, `out_of_memory`, `stalled`);
 * - stall checks: the coordinator watches the thread's heartbeat and, when its event loop stays blocked
 *   past `stallMs`, asks this thread to terminate it. The termination is announced with a process
 *   warning (code `ROSTER_STALLED`) naming the thread, how long it was blocked and the option.
 *
 * Only the thread that created a `Worker` sees its `'exit'` and can `terminate()` it, so call
 * `supervise` there. Its `'exit'` handler runs before any other, so other `'exit'` listeners already
 * see the thread dead.
 *
 * @module
 */
import type { Worker } from 'node:worker_threads';
import { onControl, post } from '../domain/control.js';
import { Domain, markSupervised, type DeathReason } from '../domain/domain.js';
import { InvalidOptionError, describe } from '../errors.js';

/** Options of `supervise`. */
export interface SuperviseOptions {
  /**
   * Watch the thread's heartbeat and terminate it when its event loop stays blocked past the
   * coordinator's `stallMs`. Default true. Turn off for threads that run long synchronous jobs on
   * purpose, or park in `Atomics.wait` between tasks (piscina with `atomics: 'sync'`).
   */
  readonly stall?: boolean;
}

const supervised = new Map<number, { worker: Worker; stalled: boolean; stall: boolean }>();
let listening = false;

function listen(): void {
  if (listening) return;
  listening = true;
  onControl((msg) => {
    if (msg.type === 'hello') {
      // A coordinator that starts after supervise() calls learns of them again.
      for (const [threadId, e] of supervised) post({ type: 'supervise', threadId, stall: e.stall });
      return;
    }
    if (msg.type !== 'terminate') return;
    const entry = supervised.get(msg.threadId);
    if (entry === undefined || entry.stalled) return;
    entry.stalled = true;
    process.emitWarning(
      `terminating worker thread ${msg.threadId}: its event loop was blocked for ${msg.blockedMs} ms, past stallMs ` +
        `(${msg.stallMs} ms). Raise Coordinator.start({ stallMs }), or supervise(worker, { stall: false }) for threads ` +
        'that block on purpose.',
      { code: 'ROSTER_STALLED' },
    );
    void entry.worker.terminate();
  });
}

/**
 * Supervises `worker`: declares its thread dead with the precise reason when it exits, and terminates
 * it when the coordinator finds its event loop stalled. Call it right after `new Worker(...)`, from the
 * thread that created the worker. Cost: two event listeners and one message to the coordinator.
 */
export function supervise(worker: Worker, options: SuperviseOptions = {}): void {
  if (typeof worker !== 'object' || worker === null || typeof (worker as Worker).terminate !== 'function') {
    throw new InvalidOptionError(`expected a Worker, got: ${describe(worker)}`);
  }
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError(`expected options to be an object, got: ${describe(options)}`);
  if (options.stall !== undefined && typeof options.stall !== 'boolean') {
    throw new InvalidOptionError(`expected options.stall to be a boolean, got: ${describe(options.stall)}`);
  }
  const domain = Domain.current();
  const tid = worker.threadId;
  const stall = options.stall ?? true;
  const entry = { worker, stalled: false, stall };
  supervised.set(tid, entry);
  listen();
  let errorCode: string | undefined;
  let errored = false;
  worker.on('error', (err: unknown) => {
    errored = true;
    errorCode = (err as { code?: unknown } | null)?.code as string | undefined;
  });
  markSupervised(worker);
  // Prepended: the death is declared before any other 'exit' listener runs.
  worker.prependOnceListener('exit', (code: number) => {
    supervised.delete(tid);
    const reason: DeathReason =
      errorCode === 'ERR_WORKER_OUT_OF_MEMORY' ? 'out_of_memory'
        : entry.stalled ? 'stalled'
          : errored ? 'error'
            : code === 0 ? 'exit' : 'terminated';
    domain.reap(tid, reason);
    post({ type: 'unsupervise', threadId: tid });
  });
  post({ type: 'supervise', threadId: tid, stall });
}
