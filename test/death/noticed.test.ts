/**
 * Every death is noticed, supervised or not: a Worker created by a thread that loaded Roster is
 * watched automatically, so its exit declares it dead (and, transitively, the threads it created),
 * its partition and lock() locks are recovered, and its entries are swept.
 * - an unsupervised worker stopped inside a write and terminated: the next write to that partition
 *   succeeds at once, and the entry is swept;
 * - a piscina pool destroyed in the middle of writes, with no manual supervision; and an idle pool
 *   (workers parked in Atomics.wait) that is never mistaken for a stalled one;
 * - a nested worker whose unsupervised parent is killed;
 * - an unsupervised thread that throws, or calls process.exit(), inside lock(key, fn);
 * - without a coordinator, dead thread slots are freed at once, so thread starts beyond the slot
 *   table's size (1024) keep working.
 * Every test ends with the invariants of death-kit.ts `violations`. Replay a seeded test with
 * ROSTER_SEED=<seed in its name>.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { afterEach, describe, expect, test } from 'vitest';
import { Registry } from '../../dist/src/index.js';
import { Domain, pidInc } from '../../dist/src/domain/domain.js';
import {
  kMaxThreadId, kMaxThreads, kStateAlive, kStateBits, kStateFree, kStateMask, kTLast, kTLive, kTParent, kTState, threadBase,
} from '../../dist/src/layout.js';
import type { RegistryEvent } from '../../dist/src/types.js';
import { kBStopped, newBoard, startWriter } from '../../dist/test/fixtures/fault-driver.js';
import {
  exitOf, inlineWorker, kDGo, kDInside, kDReady, kDStopped, kDWrites, keyIn, keysIn, kNestedUrl, kPoolTaskUrl, newDeathBoard,
  startAgent, until, violations, waitAtLeast, waitWord, withTimeout, cleanUp, cleanups, coordinator, track,
} from '../../dist/test/fixtures/death-kit.js';
import { kParkAfterWrites } from '../../dist/test/fixtures/death-pool-task.js';
import { mulberry32, pick, randInt, seedFromEnv, subSeed } from '../helpers/prng.js';

const seed = seedFromEnv();
/** A write that finds the partition lock free, or held by a thread known to have stopped, takes well under this. */
const kPromptMs = 1000;

afterEach(cleanUp);

/** Milliseconds `fn` takes. */
function timed<T>(fn: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

describe('an unsupervised worker (plain new Worker)', () => {
  test('terminated while stopped inside a write (published): the next write to its partition succeeds at once, and its entries are swept', async () => {
    const reg = track(Registry.create({ keys: 'unique', partitions: 2, listeners: ['L'] }));
    const events: RegistryEvent[] = [];
    reg.listen('L', (e) => void events.push(e));
    const coord = await coordinator();
    const board = newBoard();
    const w = await startWriter(reg, board, { supervise: 'no' });
    const p = 1;
    const [k1, k2, k3] = keysIn(reg, p, 'unsup/', 3) as [string, string, string];
    expect(await w.call('op', 'register', k1, 1)).toMatchObject({ ok: true });
    w.begin('crash', 'published', 'register', k2, 2).done.catch(() => undefined);
    await waitWord(board, kBStopped, 0, 'the writer to stop at published');
    expect(reg.stats()[p], 'the stopped writer holds the partition lock').toMatchObject({ lock: pidInc(w.pid), lockHolder: 'alive' });
    const declared = coord.deaths().declared;

    await w.terminate();
    expect(reg.lookup(k1), "the dead worker's entries are hidden as soon as its exit is seen").toEqual([]);
    const write = timed(() => reg.register(k3, 'main'));
    expect(write.value).toMatchObject({ ok: true });
    expect(write.ms, `the write took ${write.ms.toFixed(0)} ms`).toBeLessThan(kPromptMs);

    await coord.sync();
    expect(coord.deaths().declared - declared, 'exactly one death declared').toBe(1);
    await until(() => events.some((e) => e.type === 'down' && e.pid === w.pid), 'the down event');
    expect(events.find((e) => e.type === 'down' && e.pid === w.pid)).toMatchObject({ reason: 'terminated' });
    expect(violations(reg, { count: 1, deadKeys: [k1, k2], deadPids: [w.pid] })).toEqual([]);
    expect(reg.lookup(k3)).toHaveLength(1);
  });
});

describe(`piscina pools, no manual supervision (ROSTER_SEED=${seed})`, () => {
  const kPoints = ['locked', 'intent', 'slot-hash', 'published', 'unpublished', 'release'] as const;

  test(`a pool destroyed in the middle of writes: every entry of its workers is swept, no lock stays held, every partition writable at once (ROSTER_SEED=${seed})`, async () => {
    const rng = mulberry32(subSeed(seed, 'pool-destroy'));
    const partitions = 4;
    const threads = 3;
    const perThread = 10 + randInt(rng, 40);
    const park = rng() < 0.75 ? { slot: randInt(rng, threads), point: pick(rng, kPoints), after: randInt(rng, 40), threads } : undefined;
    const where = `[ROSTER_SEED=${seed} perThread=${perThread} park=${JSON.stringify(park)}]`;
    const reg = track(Registry.create({ keys: 'unique', partitions }));
    const mine = Array.from({ length: partitions }, (_, p) => keyIn(reg, p, `main/${p}/`));
    for (const k of mine) expect(reg.register(k, 'main').ok).toBe(true);
    const coord = await coordinator();

    const board = newDeathBoard();
    const pool = new Piscina({ filename: kPoolTaskUrl, minThreads: threads, maxThreads: threads });
    let destroyed = false;
    cleanups.push(() => (destroyed ? undefined : pool.destroy()));
    const runs = Array.from({ length: threads }, () =>
      pool.run({ handle: reg.handle, op: 'churn', board: board.i32, pids: board.pids, perThread, ...(park !== undefined ? { park } : {}) }),
    );
    for (const r of runs) r.catch(() => undefined);
    await waitAtLeast(board.i32, kDReady, threads, `every pool worker to register its keys ${where}`);
    await waitAtLeast(board.i32, kDWrites, kParkAfterWrites, `the pool workers to write ${where}`);
    if (park !== undefined) await waitWord(board.i32, kDStopped, 0, `a pool worker to stop inside a write ${where}`);
    const pids = Array.from(board.pids.subarray(0, threads));
    const declared = coord.deaths().declared;

    await pool.destroy();
    destroyed = true;
    const settled = await Promise.allSettled(runs);
    expect(settled.every((s) => s.status === 'rejected'), `every churn task was ended by destroy ${where}`).toBe(true);
    await coord.sync();

    expect(coord.deaths().declared - declared, `one death per pool worker ${where}`).toBe(threads);
    const poolKeys = pids.flatMap((_, slot) => Array.from({ length: perThread }, (_u, i) => `pool/${slot}/${i}`));
    expect(violations(reg, { count: mine.length, deadKeys: poolKeys, deadPids: pids }), where).toEqual([]);
    for (const k of mine) expect(reg.lookup(k), where).toHaveLength(1);
    for (let p = 0; p < partitions; p++) {
      const write = timed(() => reg.register(keyIn(reg, p, `after/${p}/`), 'after'));
      expect(write.value, `${where} partition ${p}`).toMatchObject({ ok: true });
      expect(write.ms, `${where} partition ${p}: the write took ${write.ms.toFixed(0)} ms`).toBeLessThan(kPromptMs);
    }
  });

  test('an idle pool (workers parked in Atomics.wait between tasks) is never declared dead at heartbeatMs 20, stallMs 100', async () => {
    const reg = track(Registry.create({ keys: 'unique', partitions: 2 }));
    const coord = await coordinator({ heartbeatMs: 20, stallMs: 100 });
    const pool = new Piscina({ filename: kPoolTaskUrl, minThreads: 2, maxThreads: 2 });
    let destroyed = false;
    cleanups.push(() => (destroyed ? undefined : pool.destroy()));
    const owners = new Set<number>();
    const keys: string[] = [];
    for (let round = 0; owners.size < 2; round++) {
      if (round >= 50) throw new Error(`both pool workers did not get a task in ${round} rounds`);
      const ks = [`idle/${round}/a`, `idle/${round}/b`];
      keys.push(...ks);
      const pids = await Promise.all(ks.map((k) => pool.run({ handle: reg.handle, op: 'register', keys: [k] }) as Promise<number>));
      for (const pid of pids) owners.add(pid);
    }
    const before = coord.deaths();

    // An observation window of 50 heartbeats, 10 × stallMs: the workers sit idle in Atomics.wait.
    await delay(1000);

    expect(coord.deaths(), 'an idle pool worker was declared dead or fenced').toEqual(before);
    for (const k of keys) expect(reg.lookup(k), `${k} is still visible`).toHaveLength(1);
    const again = await Promise.all([0, 1].map(() => pool.run({ handle: reg.handle, op: 'self' }) as Promise<number>));
    for (const pid of again) expect(owners.has(pid), 'the pool still runs the same workers').toBe(true);

    await pool.destroy();
    destroyed = true;
    await coord.sync();
    expect(violations(reg, { count: 0, deadKeys: keys, deadPids: [...owners] })).toEqual([]);
  });
});

describe.each([
  { mode: 'registered', park: false },
  { mode: 'stopped inside a write holding its partition lock', park: true },
])('a nested worker whose unsupervised parent is killed ($mode)', ({ park }) => {
  test('the child is declared dead, its entries are swept and its lock recovered', async () => {
    const reg = track(Registry.create({ keys: 'unique', partitions: 2 }));
    const coord = await coordinator();
    const board = newDeathBoard();
    const p = 1;
    const [key, parkKey, mainKey] = keysIn(reg, p, 'nested/', 3) as [string, string, string];
    const parent = new Worker(kNestedUrl, {
      workerData: { role: 'parent', handle: reg.handle, board: board.i32, pids: board.pids, key, ...(park ? { parkKey } : {}) },
    });
    parent.on('error', () => undefined);
    let parentExited = false;
    cleanups.push(() => (parentExited ? undefined : parent.terminate()));
    await waitAtLeast(board.i32, kDReady, 1, 'the child to register');
    if (park) await waitWord(board.i32, kDStopped, 0, 'the child to stop inside a write');
    const child = board.pids[0] as number;
    expect(reg.lookup(key)).toEqual([[child, 'child']]);
    if (park) expect(reg.stats()[p], 'the child holds the partition lock').toMatchObject({ lock: pidInc(child), lockHolder: 'alive' });
    const declared = coord.deaths().declared;

    const exited = exitOf(parent);
    await parent.terminate();
    await exited;
    parentExited = true;
    expect(reg.lookup(key), "the child is declared dead at its parent's exit").toEqual([]);
    const write = timed(() => reg.register(mainKey, 'main'));
    expect(write.value).toMatchObject({ ok: true });
    expect(write.ms, `the write took ${write.ms.toFixed(0)} ms`).toBeLessThan(kPromptMs);

    await coord.sync();
    expect(coord.deaths().declared - declared, 'the child (the parent never wrote, so it has no incarnation)').toBe(1);
    expect(violations(reg, { count: 1, deadKeys: [key, parkKey], deadPids: [child] })).toEqual([]);
  });
});

describe.each([true, false])('an unsupervised thread dies inside lock(key, fn) (coordinator: %s)', (withCoordinator) => {
  test.each(['throw', 'exit'] as const)('it dies by %s: a thread waiting on lock(key) gets in promptly, and only after the death', async (mode) => {
    const reg = track(Registry.create({ keys: 'unique' }));
    const coord = withCoordinator ? await coordinator() : undefined;
    const board = newDeathBoard();
    const agent = startAgent(board.i32);
    await agent.call('attach', reg.handle);
    const holder = await agent.call<number>('self');
    expect(await agent.call('lock-die', reg.handle.id, 'L', mode)).toBe('entering');
    await waitWord(board.i32, kDInside, 0, 'the agent to be inside lock(L)');
    let exitedAt = 0;
    agent.worker.once('exit', () => (exitedAt = performance.now()));
    let enteredAt = 0;
    const mine = reg.lock('L', () => {
      enteredAt = performance.now();
      return 'main';
    });
    expect(enteredAt, 'entered while the holder is inside').toBe(0);

    const t0 = performance.now();
    Atomics.store(board.i32, kDGo, 1);
    Atomics.notify(board.i32, kDGo);
    expect(await withTimeout(mine, 'main to get the lock', 5000)).toBe('main');
    expect(exitedAt, 'the holder had exited').toBeGreaterThan(0);
    expect(enteredAt, 'entered only after the holder exited').toBeGreaterThanOrEqual(exitedAt);
    expect(enteredAt - t0, `entered ${(enteredAt - t0).toFixed(0)} ms after the holder was let go`).toBeLessThan(kPromptMs);
    expect(await agent.exited).toBe(mode === 'exit' ? 3 : 1);
    if (coord !== undefined) await coord.sync();
    expect(await reg.lock('L', () => 'again')).toBe('again');
    expect(violations(reg, { count: 0, deadPids: [holder] })).toEqual([]);
  });
});

describe('without a coordinator, thread slots of dead threads are freed at once', () => {
  /**
   * The literal case, ROSTER_DEATH_FULL=1: more than kMaxThreads real thread starts. By default the
   * slot table is first filled with stand-in live threads (slots whose state names a threadId no
   * thread has) so that only kFree slots are left, and then 4 × kFree real workers start and exit
   * through them: the same exhaustion, reached with 64 thread starts instead of 1088, since a thread
   * start costs ~100 ms of CPU on a loaded 2-core machine.
   */
  const full = process.env['ROSTER_DEATH_FULL'] === '1';
  const kFree = 16;
  const total = full ? kMaxThreads + 64 : 4 * kFree;
  const kBatch = full ? 16 : 8;

  test(`${total} short-lived workers in sequence (batches of ${kBatch}), each registering once: none gets ROSTER_ERR_CAPACITY${full ? '' : ` (the slot table filled but for ${kFree} slots)`}`, async () => {
    const reg = track(Registry.create({ keys: 'unique', partitions: 4 }));
    const domain = Domain.current();
    const i32 = domain.i32;
    const standIns: number[] = [];
    const release = (): void => {
      for (const slot of standIns.splice(0)) {
        const b = threadBase(slot);
        Atomics.store(i32, b + kTLive, 0);
        Atomics.store(i32, b + kTLast, 0);
        Atomics.store(i32, b + kTState, kStateFree);
      }
    };
    cleanups.push(release);
    if (!full) {
      const free: number[] = [];
      for (let slot = 0; slot < kMaxThreads; slot++) if ((Atomics.load(i32, threadBase(slot) + kTState) & kStateMask) === kStateFree) free.push(slot);
      for (const slot of free.slice(kFree)) {
        const b = threadBase(slot);
        const inc = (0x1fffff << 10) | slot;
        if (Atomics.compareExchange(i32, b + kTState, kStateFree, ((kMaxThreadId - slot) << kStateBits) | kStateAlive) !== kStateFree) continue;
        Atomics.store(i32, b + kTLast, inc);
        Atomics.store(i32, b + kTParent, -1);
        Atomics.store(i32, b + kTLive, inc);
        standIns.push(slot);
      }
      expect(standIns.length).toBeGreaterThan(kMaxThreads - kFree - 8);
    }
    const declared = domain.deaths().declared;
    const failures: unknown[] = [];
    const pids: number[] = [];
    const body = `
      try {
        const reg = roster.Registry.attach(workerData.handle);
        const r = reg.register(workerData.key, 1);
        parentPort.postMessage({ ok: r.ok, pid: roster.self() });
      } catch (e) {
        parentPort.postMessage({ ok: false, code: e.code, message: e.message });
      }`;
    for (let start = 0; start < total; start += kBatch) {
      await Promise.all(
        Array.from({ length: Math.min(kBatch, total - start) }, (_, j) => {
          const w = inlineWorker(body, { handle: reg.handle, key: `short/${start + j}` });
          let reply: { ok: boolean; pid?: number; code?: string; message?: string } | undefined;
          w.on('message', (m: typeof reply) => (reply = m));
          w.on('error', (e) => failures.push(String(e)));
          return withTimeout(exitOf(w), `worker ${start + j} to exit`, 30_000).then((code) => {
            if (reply?.ok !== true || code !== 0) failures.push({ worker: start + j, code, reply });
            else pids.push(reply.pid as number);
          });
        }),
      );
      if (failures.length > 0) break;
    }
    expect(failures).toEqual([]);
    expect(domain.deaths().declared - declared, 'each exit declared').toBe(total);
    expect(reg.count(), 'nothing sweeps without a coordinator: dead entries are counted').toBe(total);
    for (let i = 0; i < total; i += 7) expect(reg.lookup(`short/${i}`), 'a dead owner is never returned').toEqual([]);

    // A coordinator started afterwards sweeps them by liveness.
    release();
    const coord = await coordinator();
    await coord.sync();
    expect(violations(reg, { count: 0, deadKeys: [`short/0`, `short/${total - 1}`], deadPids: pids.filter((_, i) => i % 5 === 0) })).toEqual([]);
  }, full ? 900_000 : undefined);
});
