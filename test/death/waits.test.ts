/**
 * Waits that keep the process alive, and fail cleanly:
 * - `Atomics.waitAsync` timeouts alone do not keep Node's event loop alive, so a thread whose only
 *   pending work is a Roster wait must be kept up by Roster: a worker whose only work is
 *   `await registry.lock(k, fn)` waits for the lock and exits with code 0 (not 13); `coordinator.sync(ms)`
 *   with a death it cannot see swept rejects with ROSTER_ERR_TIMEOUT (not exit code 13). These run as
 *   child Node processes, whose exit codes are the observation.
 * - `lock(k)` inside `lock(k)`'s own fn throws ROSTER_ERR_REENTRANT, while concurrent (not nested)
 *   `lock(k)` calls from one thread serialize, including one made after an earlier fn settled from a
 *   callback that fn scheduled.
 * Replay seeded tests with ROSTER_SEED=<seed in the test name>.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { Registry } from '../../dist/src/index.js';
import { runScript, violations, type ScriptResult } from '../../dist/test/fixtures/death-kit.js';
import { mulberry32, randInt, seedFromEnv, subSeed } from '../helpers/prng.js';

const seed = seedFromEnv();

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function describeRun(r: ScriptResult): string {
  return `exit status ${r.status} signal ${r.signal} after ${r.ms} ms\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

describe('waits keep the process alive (child processes)', () => {
  test("a worker whose only work is `await reg.lock('L', fn)` while the main thread holds 'L' for 300 ms gets the lock and exits with code 0", () => {
    const r = runScript(`
      import { Worker, isMainThread, workerData } from 'node:worker_threads';
      import { Registry } from 'ROSTER_INDEX';
      if (isMainThread) {
        const reg = Registry.create({ keys: 'unique' });
        const board = new Int32Array(new SharedArrayBuffer(16));
        await reg.lock('L', async () => {
          const worker = new Worker(new URL(import.meta.url), { workerData: { handle: reg.handle, board } });
          worker.on('exit', (code) => console.log('worker exit ' + code));
          worker.on('error', (err) => console.log('worker error ' + err.message));
          // Until the worker is about to ask for the lock (it asks once, synchronously, then waits).
          while (Atomics.load(board, 0) === 0) await Atomics.waitAsync(board, 0, 0, 1000).value;
          await new Promise((resolve) => setTimeout(resolve, 300));
          Atomics.store(board, 1, 1);
        });
      } else {
        const reg = Registry.attach(workerData.handle);
        Atomics.store(workerData.board, 0, 1);
        Atomics.notify(workerData.board, 0);
        const released = await reg.lock('L', () => Atomics.load(workerData.board, 1) === 1);
        console.log('worker got the lock after the release: ' + released);
      }
    `);
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stdout, describeRun(r)).toContain('worker got the lock after the release: true');
    expect(r.stdout, describeRun(r)).toContain('worker exit 0');
  });

  /**
   * The script: a holder parks inside a write holding the only partition's lock (and is unref'd, so it
   * keeps nothing alive), a victim with an entry there is terminated, so its sweep cannot finish; then
   * `sync(300)`. Nothing but Roster's own wait keeps the process up meanwhile.
   */
  function syncScript(stopFirst: boolean): string {
    return `
      import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
      import { Coordinator, Registry } from 'ROSTER_INDEX';
      import { setCrashHook } from 'ROSTER_TESTING';
      if (isMainThread) {
        const reg = Registry.create({ keys: 'unique' });
        const coord = await Coordinator.start({ heartbeatMs: 50 });
        const board = new Int32Array(new SharedArrayBuffer(16));
        const start = (role) => new Worker(new URL(import.meta.url), { workerData: { role, handle: reg.handle, board } });
        // The victim registers first; then the holder takes the partition lock and parks with it.
        const victim = start('victim');
        while (Atomics.load(board, 1) === 0) await Atomics.waitAsync(board, 1, 0, 1000).value;
        const holder = start('holder');
        while (Atomics.load(board, 0) === 0) await Atomics.waitAsync(board, 0, 0, 1000).value;
        holder.unref();
        await victim.terminate();
        ${stopFirst ? 'await coord.stop();' : ''}
        const t0 = Date.now();
        try {
          await coord.sync(300);
          console.log('sync resolved after ' + (Date.now() - t0) + ' ms');
        } catch (err) {
          console.log('sync rejected ' + err.code + ' after ' + (Date.now() - t0) + ' ms');
        }
      } else if (workerData.role === 'holder') {
        const reg = Registry.attach(workerData.handle);
        reg.register('h', 1);
        setCrashHook((point) => {
          if (point !== 'locked') return;
          Atomics.store(workerData.board, 0, 1);
          Atomics.notify(workerData.board, 0);
          for (;;) Atomics.wait(workerData.board, 3, 0);
        });
        reg.register('h2', 2);
      } else {
        const reg = Registry.attach(workerData.handle);
        reg.register('v', 1);
        Atomics.store(workerData.board, 1, 1);
        Atomics.notify(workerData.board, 1);
        parentPort.on('message', () => {});
      }
    `;
  }

  test('coordinator.sync(300) with a death whose sweep cannot finish rejects with ROSTER_ERR_TIMEOUT; the process does not exit with code 13', () => {
    const r = runScript(syncScript(false));
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stdout, describeRun(r)).toMatch(/sync rejected ROSTER_ERR_TIMEOUT after \d+ ms/);
  });

  test('coordinator.sync(300) after the coordinator was stopped with that death pending settles, and the process exits with code 0 (not 13)', () => {
    const r = runScript(syncScript(true));
    expect(r.status, describeRun(r)).toBe(0);
    // stop() frees the slots of deaths it did not sweep (a later coordinator sweeps by liveness), so
    // sync() finds nothing to wait for; a TimeoutError would be as good. Exit code 13 is not.
    expect(r.stdout, describeRun(r)).toMatch(/sync (resolved|rejected ROSTER_ERR_TIMEOUT|rejected ROSTER_ERR_NO_COORDINATOR) after \d+ ms/);
  });
});

describe(`lock(key, fn) is not reentrant, and concurrent calls serialize (ROSTER_SEED=${seed})`, () => {
  function registry(): Registry {
    const reg = Registry.create({ keys: 'unique', name: 'locks' });
    cleanups.push(() => reg.close());
    return reg;
  }

  test('lock(k) inside its own fn throws ROSTER_ERR_REENTRANT (before or after an await), and leaves the lock free', async () => {
    const reg = registry();
    await expect(reg.lock('k', () => reg.lock('k', () => 'inner'))).rejects.toMatchObject({ code: 'ROSTER_ERR_REENTRANT' });
    await expect(
      reg.lock('k', async () => {
        await new Promise((resolve) => setImmediate(resolve));
        return reg.lock('k', () => 'inner');
      }),
    ).rejects.toMatchObject({ code: 'ROSTER_ERR_REENTRANT' });
    await expect(reg.lock(['t', 1], () => reg.lock(['t', 1], () => 'inner'))).rejects.toMatchObject({ code: 'ROSTER_ERR_REENTRANT' });
    expect(await reg.lock('a', () => reg.lock('b', () => 'other keys nest')), 'other keys nest').toBe('other keys nest');
    // Another registry's lock of the same key is another lock.
    const other = registry();
    expect(await reg.lock('k', () => other.lock('k', () => 'another registry'))).toBe('another registry');
    expect(await reg.lock('k', () => 'free')).toBe('free');
    expect(violations(reg, { count: 0 })).toEqual([]);
  });

  test(`concurrent lock(k) calls from one thread run one at a time, all of them (ROSTER_SEED=${seed})`, async () => {
    const rng = mulberry32(subSeed(seed, 'concurrent-locks'));
    const reg = registry();
    const n = 4 + randInt(rng, 8);
    const turns = Array.from({ length: n }, () => randInt(rng, 5));
    let inside = 0;
    let most = 0;
    const done: number[] = [];
    const results = await Promise.all(
      turns.map((t, i) =>
        reg.lock('k', async () => {
          inside++;
          most = Math.max(most, inside);
          for (let j = 0; j < t; j++) await new Promise((resolve) => setImmediate(resolve));
          done.push(i);
          inside--;
          return i;
        }),
      ),
    );
    expect(results).toEqual(turns.map((_, i) => i));
    expect(most, `[ROSTER_SEED=${seed}] two fns inside at once`).toBe(1);
    expect([...done].sort((a, b) => a - b)).toEqual(turns.map((_, i) => i));
    expect(violations(reg, { count: 0 })).toEqual([]);
  });

  test('a lock(k) call made after an earlier lock(k) fn settled, from a callback that fn scheduled, is not re-entrant', async () => {
    const reg = registry();
    let settle!: () => void;
    const outerSettled = new Promise<void>((resolve) => (settle = resolve));
    let later: Promise<string> | undefined;
    await reg.lock('k', () => {
      // Work deferred until after this lock is released: not nested in it.
      later = outerSettled.then(() => reg.lock('k', () => 'later'));
    });
    settle();
    expect(await later).toBe('later');
  });
});
