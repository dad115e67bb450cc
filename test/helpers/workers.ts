/**
 * Main-thread side of worker fixtures: start a worker, read its messages in order as promises,
 * and turn a worker error or early exit into a rejected read instead of a hang.
 *
 * @module
 */
import { Worker } from 'node:worker_threads';

/** A started worker with an ordered message inbox. */
export class TestWorker {
  readonly worker: Worker;
  readonly exited: Promise<number>;
  #inbox: unknown[] = [];
  #waiters: Array<{ resolve: (m: unknown) => void; reject: (e: unknown) => void }> = [];
  #failure: unknown = undefined;
  #failed = false;
  #exitCode: number | undefined;

  constructor(url: URL, workerData: unknown) {
    this.worker = new Worker(url, { workerData });
    this.worker.on('message', (m: unknown) => {
      const w = this.#waiters.shift();
      if (w) w.resolve(m);
      else this.#inbox.push(m);
    });
    this.worker.on('error', (e: unknown) => this.#fail(e));
    this.exited = new Promise((resolve) => {
      this.worker.on('exit', (code: number) => {
        this.#exitCode = code;
        this.#fail(new Error(`worker exited (code ${code}) before sending the expected message`));
        resolve(code);
      });
    });
  }

  #fail(e: unknown): void {
    if (!this.#failed) {
      this.#failed = true;
      this.#failure = e;
    }
    for (const w of this.#waiters.splice(0)) w.reject(this.#failure);
  }

  /** The next message, in order. Rejects if the worker errored or exited first, or after `timeoutMs`. */
  next<T = unknown>(timeoutMs = 30_000): Promise<T> {
    if (this.#inbox.length > 0) return Promise.resolve(this.#inbox.shift() as T);
    if (this.#failed) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(entry);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`no message from worker within ${timeoutMs} ms`));
      }, timeoutMs);
      const entry = {
        resolve: (m: unknown) => {
          clearTimeout(timer);
          resolve(m as T);
        },
        reject: (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#waiters.push(entry);
    });
  }

  get exitCode(): number | undefined {
    return this.#exitCode;
  }

  /** Terminates the worker (idempotent) and waits for its exit. */
  async stop(): Promise<void> {
    if (this.#exitCode === undefined) await this.worker.terminate();
    await this.exited;
  }
}

/** Next message from every worker, in worker order. */
export function nextAll<T = unknown>(ws: readonly TestWorker[], timeoutMs?: number): Promise<T[]> {
  return Promise.all(ws.map((w) => w.next<T>(timeoutMs)));
}
