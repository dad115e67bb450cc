/**
 * The coordinator never dies and never misses a registry:
 * - a sweep in a partition that cannot be rebuilt (no room for another bank) removes entries in place;
 *   the coordinator lives on and sweeps later deaths elsewhere;
 * - a registry is swept whoever created it and whenever: in another thread while Coordinator.start()
 *   is starting (raced, seeded), in a worker before any coordinator started, or announced to a
 *   coordinator that was then stopped and replaced;
 * - one coordinator per domain: start() again in the same thread returns the running one, from
 *   another thread it is refused, after stop() it works again;
 * - a worker supervised before the coordinator started is still checked for stalls;
 * - option combinations that cannot work are refused;
 * - an error while sweeping one registry is reported (a ROSTER_SWEEP warning) and does not stop the
 *   sweeps of the others.
 * Registries the main thread must not know (so that only their creating worker can announce them) are
 * checked from that worker (the agent's 'check' command). Replay seeded tests with ROSTER_SEED=<seed>.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, test } from 'vitest';
import { Coordinator, Registry, type RegistryHandle } from '../../dist/src/index.js';
import { Domain, pidInc } from '../../dist/src/domain/domain.js';
import {
  kBankBase, kBankCap, kBankDescWords, kBlobHeaderWords, kBlobKeyTag, kBlobOwnerInc, kEmpty, kHBankBase, kHEpoch, kHLive, kKeyBytes, kSlotWords, kTomb,
} from '../../dist/src/layout.js';
import { hashString } from '../../dist/src/memory/hash.js';
import { newBoard, startWriter } from '../../dist/test/fixtures/fault-driver.js';
import {
  kDWaiting, newDeathBoard, startAgent, until, violations, waitWord, withTimeout, type Agent, type Expectations,
  cleanUp, cleanups, coordinator, track,
} from '../../dist/test/fixtures/death-kit.js';
import { mulberry32, randInt, seedFromEnv, subSeed } from '../helpers/prng.js';

const seed = seedFromEnv();

afterEach(cleanUp);

/**
 * Process warnings emitted from now until the test ends, in this thread (`process.on('warning')`) or
 * in a worker such as the coordinator thread, whose warnings only reach this thread as lines on
 * stderr (`(node:pid) [CODE] Warning: message`).
 */
function captureWarnings(): Array<{ code: string; message: string }> {
  const seen: Array<{ code: string; message: string }> = [];
  const on = (w: Error & { code?: string }): void => void seen.push({ code: w.code ?? '', message: w.message });
  process.on('warning', on);
  const write = process.stderr.write;
  process.stderr.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    for (const m of String(chunk).matchAll(/\[(ROSTER_\w+)\] Warning: (.*)/g)) {
      // A warning of this thread was already seen by the listener (Node prints it after the listeners ran).
      if (!seen.some((w) => w.code === m[1] && w.message === m[2])) seen.push({ code: m[1] as string, message: m[2] as string });
    }
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stderr.write;
  cleanups.push(() => {
    process.off('warning', on);
    process.stderr.write = write;
  });
  return seen;
}

/** An agent (an unsupervised worker) that creates registries; main never attaches them, so only it can announce them. */
async function creator(): Promise<Agent> {
  Domain.current(); // the agent inherits this thread's domain
  const a = startAgent(newDeathBoard().i32);
  await a.call('self');
  return a;
}

/** An unsupervised worker that attaches `handles`, registers `n` keys `${prefix}${i}` in each, and is returned with its pid. */
async function victim(handles: readonly RegistryHandle[], prefix: string, n = 3): Promise<{ agent: Agent; pid: number; keys: string[] }> {
  const agent = startAgent(newDeathBoard().i32);
  let keys: string[] = [];
  for (const h of handles) {
    await agent.call('attach', h);
    keys = await agent.call<string[]>('registerMany', h.id, prefix, n);
  }
  return { agent, pid: await agent.call<number>('self'), keys };
}

/** Violations of registry `id` as seen by `agent` (a thread that has it attached). */
function checkIn(agent: Agent, id: string, e: Expectations): Promise<string[]> {
  return agent.call<string[]>('check', id, e);
}

describe('a sweep that cannot rebuild its partition', () => {
  test('maxPartitionBytes 1 MiB with initialCapacity 16384 (no room for a second bank): the entries are removed in place, and a later death elsewhere is swept too', async () => {
    const small = track(Registry.create({ keys: 'unique', name: 'small', maxPartitionBytes: 1 << 20, initialCapacity: 16384 }));
    const other = track(Registry.create({ keys: 'unique', name: 'other' }));
    const coord = await coordinator();
    const warnings = captureWarnings();
    const v1 = await victim([small.handle], 'small/', 200);
    // Entries of the main thread right behind some of the victim's in their probe chains: removing
    // the victim's leaves tombstones, which a sweep would like to compact away, and there is no room
    // for the bank a compaction builds.
    const cap = small.stats()[0]?.capacity as number;
    const behind: string[] = [];
    for (const k of v1.keys.slice(0, 5)) {
      const home = hashString(k) & (cap - 1);
      for (let j = 0; ; j++) {
        const c = `main/${k}/${j}`;
        if ((hashString(c) & (cap - 1)) !== home) continue;
        expect(small.register(c, 'main').ok).toBe(true);
        behind.push(c);
        break;
      }
    }
    const declared = coord.deaths().declared;
    await v1.agent.stop();
    await coord.sync();
    expect(violations(small, { count: behind.length, deadKeys: v1.keys, deadPids: [v1.pid] })).toEqual([]);
    const s = small.stats()[0];
    // The sweep needed no new space; a compaction to the (now small) live data fits and may have run.
    expect(s !== undefined && s.used >= s.live && s.bytes <= 1 << 20, `swept within maxPartitionBytes: ${JSON.stringify(s)}`).toBe(true);
    for (const k of behind) expect(small.lookup(k), k).toHaveLength(1);
    expect(small.register('main/after', 2).ok, 'the partition is still writable').toBe(true);

    const v2 = await victim([other.handle], 'other/');
    await v2.agent.stop();
    await coord.sync();
    expect(coord.deaths().declared - declared).toBe(2);
    expect(violations(other, { count: 0, deadKeys: v2.keys, deadPids: [v2.pid] })).toEqual([]);
    expect(warnings.filter((w) => w.code === 'ROSTER_SWEEP'), 'no sweep error').toEqual([]);
  });

  /** Fills registry `full` from an agent until ROSTER_ERR_CAPACITY, kills the agent, and syncs. */
  async function fillAndKill(full: Registry, coord: Coordinator): Promise<{ pid: number; keys: string[] }> {
    const agent = startAgent(newDeathBoard().i32);
    await agent.call('attach', full.handle);
    const pid = await agent.call<number>('self');
    const keys = await agent.call<string[]>('fill', full.handle.id, 'fill/', 500);
    expect(keys.length, 'entries that fit').toBeGreaterThan(100);
    expect(() => full.register('main/full', 'x'.repeat(500))).toThrow(expect.objectContaining({ code: 'ROSTER_ERR_CAPACITY' }));
    await agent.stop();
    await coord.sync();
    return { pid, keys };
  }

  test('a partition filled up to maxPartitionBytes: the dead entries are swept and the coordinator lives on', async () => {
    const full = track(Registry.create({ keys: 'unique', name: 'full', maxPartitionBytes: 1 << 20 }));
    const other = track(Registry.create({ keys: 'unique', name: 'other' }));
    expect(full.register('main', 1).ok).toBe(true);
    const coord = await coordinator();
    const { pid, keys } = await fillAndKill(full, coord);
    expect(violations(full, { count: 1, deadKeys: keys, deadPids: [pid] })).toEqual([]);

    const v2 = await victim([other.handle], 'other/');
    await v2.agent.stop();
    await coord.sync();
    expect(violations(other, { count: 0, deadKeys: v2.keys, deadPids: [v2.pid] }), 'the coordinator still sweeps').toEqual([]);
  });

  test('a partition filled up to maxPartitionBytes, then emptied by a sweep, accepts writes again', async () => {
    const full = track(Registry.create({ keys: 'unique', name: 'full', maxPartitionBytes: 1 << 20 }));
    expect(full.register('main', 1).ok).toBe(true);
    const coord = await coordinator();
    await fillAndKill(full, coord);
    expect(full.count(), 'every entry but one was swept').toBe(1);
    const after = Array.from({ length: 10 }, (_, i) => `after/${i}`);
    const outcomes = after.map((k) => {
      try {
        return full.register(k, 'x'.repeat(500)).ok;
      } catch (err) {
        return (err as { code?: string }).code;
      }
    });
    expect(outcomes, `stats after the sweep: ${JSON.stringify(full.stats())}`).toEqual(after.map(() => true));
  });
});

describe(`registries are swept whoever created them and whenever (ROSTER_SEED=${seed})`, () => {
  const kRaces = 12;

  test(`a registry created in another thread while Coordinator.start() is starting (${kRaces} races, ROSTER_SEED=${seed})`, async () => {
    const rng = mulberry32(subSeed(seed, 'start-race'));
    const maker = await creator();
    const warnings = captureWarnings();
    const failures: unknown[] = [];
    for (let i = 0; i < kRaces; i++) {
      const jitterMs = randInt(rng, 60);
      const startFirst = rng() < 0.5;
      const where = { race: i, jitterMs, startFirst };
      const options = { keys: 'unique', name: `race${i}` };
      let made: Promise<RegistryHandle>;
      let started: Promise<Coordinator>;
      if (startFirst) {
        started = Coordinator.start({ heartbeatMs: 50 });
        made = maker.call<RegistryHandle>('create', options, jitterMs);
      } else {
        made = maker.call<RegistryHandle>('create', options, jitterMs);
        started = Coordinator.start({ heartbeatMs: 50 });
      }
      const [handle, coord] = await Promise.all([made, started]);
      cleanups.push(() => coord.stop());
      try {
        const v = await victim([handle], `race${i}/`);
        await v.agent.stop();
        const t0 = performance.now();
        await coord.sync(5000);
        const ms = performance.now() - t0;
        const seen = await checkIn(maker, handle.id, { count: 0, deadKeys: v.keys, deadPids: [v.pid] });
        if (seen.length > 0 || ms > 1500) failures.push({ ...where, syncMs: Math.round(ms), seen });
      } catch (err) {
        failures.push({ ...where, error: String(err) });
      } finally {
        await coord.stop();
        await maker.call('close', handle.id);
      }
    }
    expect(failures, `[ROSTER_SEED=${seed}]`).toEqual([]);
    expect(warnings.filter((w) => w.code === 'ROSTER_SWEEP').map((w) => w.message), `[ROSTER_SEED=${seed}]`).toEqual([]);
  });

  test('a registry created in a worker before any coordinator started: deaths before and after the start are swept', async () => {
    const maker = await creator();
    const handle = await maker.call<RegistryHandle>('create', { keys: 'unique', name: 'early', partitions: 2 });
    const before = await victim([handle], 'before/');
    await before.agent.stop();
    const after = await victim([handle], 'after/');
    const coord = await coordinator();
    await after.agent.stop();
    await coord.sync();
    expect(
      await checkIn(maker, handle.id, { count: 0, deadKeys: [...before.keys, ...after.keys], deadPids: [before.pid, after.pid] }),
    ).toEqual([]);
    await maker.call('close', handle.id);
  });

  test('a death before the coordinator started, in a registry only a busy worker knows, is swept once start() and sync() resolve', async () => {
    const board = newDeathBoard();
    Domain.current();
    const maker = startAgent(board.i32);
    const handle = await maker.call<RegistryHandle>('create', { keys: 'unique', name: 'unannounced' });
    const dead = await victim([handle], 'dead/');
    await dead.agent.stop();
    // The only thread that knows the registry is busy (its event loop blocked) while the coordinator starts.
    const busy = maker.call('block', 1500);
    await waitWord(board.i32, kDWaiting, 0, 'the creating worker to be busy');
    const coord = await coordinator();
    await coord.sync();
    // Read the partition's entry count straight from shared memory: attaching would tell this thread of the registry.
    const live = (): number => handle.partitions.reduce((n, sab) => n + Atomics.load(new Int32Array(sab), kHLive), 0);
    const seen = live();
    await busy;
    let note = '';
    if (seen !== 0) {
      // Tell a late sweep from none at all, for the report.
      const t0 = performance.now();
      while (live() !== 0 && performance.now() - t0 < 3000) await new Promise((resolve) => setImmediate(resolve));
      note = live() === 0 ? `swept ${Math.round(performance.now() - t0)} ms after the creating worker was free again` : 'still not swept';
    }
    expect({ entriesAfterSync: seen, note }).toEqual({ entriesAfterSync: 0, note: '' });
    expect(await checkIn(maker, handle.id, { count: 0, deadKeys: dead.keys, deadPids: [dead.pid] })).toEqual([]);
    await maker.call('close', handle.id);
  });

  test('a coordinator stopped and started again: registries announced to the first are swept by the second', async () => {
    const mine = track(Registry.create({ keys: 'unique', name: 'handed', partitions: 2 }));
    const first = await Coordinator.start({ heartbeatMs: 50 });
    cleanups.push(() => first.stop());
    const maker = await creator();
    const theirs = await maker.call<RegistryHandle>('create', { keys: 'duplicate', name: 'announced', partitions: 2 });
    const v1 = await victim([mine.handle, theirs], 'v1/');
    await first.stop();
    await v1.agent.stop(); // dies while no coordinator runs
    const second = await coordinator();
    const v2 = await victim([mine.handle, theirs], 'v2/');
    await v2.agent.stop();
    await second.sync();
    const e = { count: 0, deadKeys: [...v1.keys, ...v2.keys], deadPids: [v1.pid, v2.pid] };
    expect(violations(mine, e)).toEqual([]);
    expect(await checkIn(maker, theirs.id, e)).toEqual([]);
    await maker.call('close', theirs.id);
  });
});

describe('one coordinator per domain', () => {
  test('start() again in the same thread returns the running one; another thread is refused with ROSTER_ERR_COORDINATOR_RUNNING; after stop(), start works again', async () => {
    const c1 = await Coordinator.start({ heartbeatMs: 50 });
    let c1Stopped = false;
    cleanups.push(() => (c1Stopped ? undefined : c1.stop()));
    expect(await Coordinator.start({ heartbeatMs: 50 })).toBe(c1);
    const other = startAgent(newDeathBoard().i32);
    await expect(other.call('coord-start', { heartbeatMs: 50 })).rejects.toMatchObject({ code: 'ROSTER_ERR_COORDINATOR_RUNNING' });
    await c1.stop();
    c1Stopped = true;
    // Now the other thread may start one, and this one is refused.
    expect(await other.call('coord-start', { heartbeatMs: 50 })).toBe(true);
    await expect(Coordinator.start({ heartbeatMs: 50 })).rejects.toMatchObject({ code: 'ROSTER_ERR_COORDINATOR_RUNNING' });
    await other.call('coord-stop');
    const c3 = await coordinator();
    expect(c3).not.toBe(c1);
    // And it works.
    const reg = track(Registry.create({ keys: 'unique' }));
    const v = await victim([reg.handle], 'one/');
    await v.agent.stop();
    await c3.sync();
    expect(violations(reg, { count: 0, deadKeys: v.keys, deadPids: [v.pid] })).toEqual([]);
  });

  test('two concurrent start() calls in one thread resolve to the same coordinator', async () => {
    const [a, b] = await Promise.allSettled([Coordinator.start({ heartbeatMs: 50 }), Coordinator.start({ heartbeatMs: 50 })]);
    for (const r of [a, b]) if (r?.status === 'fulfilled') cleanups.push(() => r.value.stop());
    expect(a).toMatchObject({ status: 'fulfilled' });
    expect(b).toMatchObject({ status: 'fulfilled' });
    if (a?.status === 'fulfilled' && b?.status === 'fulfilled') expect(b.value).toBe(a.value);
  });
});

describe('stall checks and options', () => {
  test('a worker supervised before Coordinator.start() is still checked for stalls: blocked far past stallMs, it is terminated and swept', async () => {
    const reg = track(Registry.create({ keys: 'unique', partitions: 2 }));
    const w = await startWriter(reg, newBoard()); // supervised (stall checks on) before any coordinator runs
    const tid = w.worker.threadId;
    expect(await w.call('op', 'register', 'stall/1', 1)).toMatchObject({ ok: true });
    const coord = await coordinator({ heartbeatMs: 50, stallMs: 400, fenceMs: 300 });
    const warnings = captureWarnings();
    w.begin('block', 60_000).done.catch(() => undefined);
    expect(await withTimeout(w.exited, 'the stalled worker to be terminated', 15_000)).toBe(1);
    await until(() => warnings.some((x) => x.code === 'ROSTER_STALLED'), 'the stall warning');
    expect(warnings.find((x) => x.code === 'ROSTER_STALLED')?.message).toContain(`worker thread ${tid}:`);
    await coord.sync();
    expect(violations(reg, { count: 0, deadKeys: ['stall/1'], deadPids: [w.pid] })).toEqual([]);
  });

  test('a healthy supervised worker that started beating under an earlier, slower heartbeatMs is not killed as stalled by a coordinator with a shorter stallMs', async () => {
    const reg = track(Registry.create({ keys: 'unique', partitions: 2 }));
    // A first coordinator sets the domain's heartbeat period to 250 ms; threads that claim meanwhile beat at that period.
    const slow = await Coordinator.start({ heartbeatMs: 250, stallMs: 1000 });
    cleanups.push(() => slow.stop());
    const w = await startWriter(reg, newBoard()); // supervised, stall checks on; its event loop stays free
    expect(await w.call('op', 'register', 'healthy/1', 1)).toMatchObject({ ok: true });
    await slow.stop();
    const fast = await coordinator({ heartbeatMs: 20, stallMs: 100 });
    const warnings = captureWarnings();
    const before = fast.deaths();
    let exited = false;
    void w.exited.then(() => (exited = true));
    // An observation window of 10 × stallMs; the worker answers a command at its end.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(warnings.filter((x) => x.code === 'ROSTER_STALLED').map((x) => x.message), 'a healthy worker was terminated as stalled').toEqual([]);
    expect(exited, 'the healthy worker was terminated').toBe(false);
    expect(fast.deaths()).toEqual(before);
    expect(await w.call('op', 'register', 'healthy/2', 2)).toMatchObject({ ok: true });
    expect(reg.lookup('healthy/1')).toEqual([[w.pid, 1]]);
    await w.terminate();
    await fast.sync();
    expect(violations(reg, { count: 0, deadKeys: ['healthy/1', 'healthy/2'], deadPids: [w.pid] })).toEqual([]);
  });

  test('option combinations that cannot work are refused with ROSTER_ERR_INVALID_OPTION, and nothing starts', async () => {
    const bad = [{ heartbeatMs: 2000 }, { stallMs: 150 }, { heartbeatMs: 100, stallMs: 199 }, { heartbeatMs: 600, stallMs: 1000 }, { heartbeatMs: 0 }];
    for (const o of bad) {
      await expect(Coordinator.start(o), JSON.stringify(o)).rejects.toMatchObject({ code: 'ROSTER_ERR_INVALID_OPTION' });
      expect(Domain.current().coordinator(), `no coordinator claimed by ${JSON.stringify(o)}`).toBe(0);
    }
    const ok = await coordinator({ heartbeatMs: 500 }); // stallMs 1000 = 2 × heartbeatMs: accepted
    expect(ok).toBeInstanceOf(Coordinator);
    // A sync timeout that is not a number of ms > 0 is refused too.
    for (const t of [0, -1, Number.NaN, 'x', null, 2 ** 32]) {
      await expect(ok.sync(t as unknown as number), `sync(${String(t)})`).rejects.toMatchObject({ code: 'ROSTER_ERR_INVALID_OPTION' });
    }
    await ok.sync();
  });
});

/** Corrupts the key encoding (first byte) of every byte-encoded key owned by incarnation `inc`. Returns how many. */
function corruptKeysOf(reg: Registry, inc: number): number {
  let n = 0;
  for (const sab of reg.handle.partitions) {
    const i32 = new Int32Array(sab);
    const u8 = new Uint8Array(sab);
    const d = kHBankBase + (Atomics.load(i32, kHEpoch) & 1) * kBankDescWords;
    const base = i32[d + kBankBase] as number;
    const cap = i32[d + kBankCap] as number;
    for (let i = 0; i < cap; i++) {
      const off = Atomics.load(i32, base + i * kSlotWords);
      if (off === kEmpty || off === kTomb || i32[off + kBlobOwnerInc] !== inc || i32[off + kBlobKeyTag] !== kKeyBytes) continue;
      u8[(off + kBlobHeaderWords) * 4] = 0xee; // not a key tag: decoding this key throws
      n++;
    }
  }
  return n;
}

describe('an error in one registry does not stop the coordinator', () => {
  test('a sweep that throws in one registry is reported (ROSTER_SWEEP) and the others are still swept, then and later', async () => {
    // Created first, so it is swept first; with a listener, a sweep decodes the keys it removes.
    const bad = track(Registry.create({ keys: 'unique', name: 'bad', listeners: ['L'] }));
    const good = track(Registry.create({ keys: 'unique', name: 'good', partitions: 2 }));
    const coord = await coordinator();
    const warnings = captureWarnings();
    const agent = startAgent(newDeathBoard().i32);
    await agent.call('attach', bad.handle);
    await agent.call('attach', good.handle);
    const pid = await agent.call<number>('self');
    for (let i = 0; i < 3; i++) expect(await agent.call('register', bad.handle.id, ['bad', i], i)).toMatchObject({ ok: true });
    const goodKeys = await agent.call<string[]>('registerMany', good.handle.id, 'good/', 5);
    expect(corruptKeysOf(bad, pidInc(pid))).toBe(3);
    await agent.stop();
    await coord.sync();
    await until(() => warnings.some((w) => w.code === 'ROSTER_SWEEP'), 'the sweep warning');
    expect(warnings.find((w) => w.code === 'ROSTER_SWEEP')?.message).toContain(bad.handle.id);
    expect(violations(good, { count: 0, deadKeys: goodKeys, deadPids: [pid] })).toEqual([]);
    expect(violations(bad, { deadPids: [pid] }), 'the failed sweep left no lock behind').toEqual([]);
    expect(bad.register('main', 1).ok).toBe(true);

    const later = await victim([good.handle, bad.handle], 'later/');
    await later.agent.stop();
    await coord.sync();
    expect(violations(good, { count: 0, deadKeys: later.keys, deadPids: [later.pid] }), 'a later death is swept too').toEqual([]);
  });
});
