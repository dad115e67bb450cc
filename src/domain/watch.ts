/**
 * The automatic watch of every worker, and `markSupervised`, by which `supervise()` takes a worker
 * over. domain.ts starts the watch when it loads, so every thread that loaded Roster watches the
 * workers it creates.
 *
 * @module
 */

/** Workers whose `'exit'` `supervise()` handles (with a precise reason); the watch skips them. */
const supervisedWorkers = new WeakSet<object>();

/** Marks `worker` as handled by `supervise()`. */
export function markSupervised(worker: object): void {
  supervisedWorkers.add(worker);
}

/**
 * Every Worker created by a thread that loaded Roster is watched: its `'exit'` declares its thread,
 * and the threads it created, dead. No `supervise()` call is needed for that (it adds stall checks and
 * precise reasons), so pool workers that a pool terminates are swept too. The listener is prepended,
 * so the death is declared before any other `'exit'` listener runs (one that writes to the registry
 * must not wait on a lock the dead thread held). It keeps nothing alive and does not touch `'error'`.
 * `reap` is how it declares them (domain.ts passes `Domain.reap` of the thread's domain).
 */
export function watchWorkers(reap: (tid: number, reason: 'exit' | 'terminated') => void): void {
  process.on('worker', (worker) => {
    const tid = worker.threadId;
    worker.prependOnceListener('exit', (code: number) => {
      if (supervisedWorkers.has(worker)) return;
      reap(tid, code === 0 ? 'exit' : 'terminated');
    });
  });
}
