/**
 * Registry defects found by testing against the README, one test each:
 * - close() releases the calling instance's listen/subscribe receivers, so a thread whose only work
 *   was listening exits;
 * - stats() throws UnknownRegistryError after close(), like every other call;
 * - keys(n) of a number that is not a pid (or of a pid no thread has) returns [];
 * - a refused unique register changes nothing: no growth, no CapacityError, the same stats;
 * - the 'register' event carries the stored value: a getter is read once, and listeners see what
 *   lookups return;
 * - internals (sweepDead, tables, createdHandles) are not on the Registry instance, class or public
 *   exports;
 * - key errors name the registry, whichever call raised them.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import * as roster from '../../dist/src/index.js';
import { Registry, self, type RegistryEvent } from '../../dist/src/index.js';
import { makePid } from '../../dist/src/domain/domain.js';
import { kCSubscribers } from '../../dist/src/layout.js';
import { sweepRegistry, tablesOf } from '../../dist/src/registry/registry.js';
import {
  exitOf, inlineWorker, newDeathBoard, startAgent, stopAgents, until, violations, withTimeout,
} from '../../dist/test/fixtures/death-kit.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  await stopAgents();
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function track(reg: Registry): Registry {
  cleanups.push(() => reg.close());
  return reg;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('registry defects', () => {
  test('close() releases the listen and subscribe receivers of the instance: a worker whose only work was listening exits by itself', async () => {
    const reg = Registry.create({ keys: 'unique', name: 'closing', listeners: ['L'] });
    const control = new Int32Array(reg.handle.control);
    const worker = inlineWorker(
      `
      const reg = roster.Registry.attach(workerData.handle);
      reg.listen('L', () => {});
      reg.subscribe(() => {});
      reg.subscribe(() => {});
      parentPort.postMessage(Atomics.load(new Int32Array(workerData.handle.control), ${kCSubscribers}));
      reg.close();`,
      { handle: reg.handle },
    );
    const subscribed = new Promise<number>((resolve) => worker.once('message', resolve));
    worker.on('error', () => undefined);
    const code = await withTimeout(exitOf(worker), 'the listening worker to exit after close()', 5000).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    expect(code).toBe(0);
    expect(await subscribed, 'two subscribers while listening').toBe(2);
    expect(Atomics.load(control, kCSubscribers), 'close() released both subscriptions').toBe(0);

    // The same in this thread: the count drops, and a later unsubscribe does not count twice.
    const mine = Registry.create({ keys: 'unique', name: 'closing-here' });
    const unsubscribe = mine.subscribe(() => undefined);
    const count = new Int32Array(mine.handle.control);
    expect(Atomics.load(count, kCSubscribers)).toBe(1);
    mine.close();
    expect(Atomics.load(count, kCSubscribers)).toBe(0);
    unsubscribe();
    expect(Atomics.load(count, kCSubscribers)).toBe(0);
  });

  test('stats() throws UnknownRegistryError after close(), in the closing thread and in another', async () => {
    const reg = Registry.create({ keys: 'unique', name: 'closed', partitions: 2 });
    expect(reg.register('k', 1).ok).toBe(true);
    expect(violations(reg, { count: 1 })).toEqual([]);
    const agent = startAgent(newDeathBoard().i32);
    await agent.call('attach', reg.handle);
    reg.close();
    expect(codeOf(() => reg.stats())).toBe('ROSTER_ERR_UNKNOWN_REGISTRY');
    expect(() => reg.stats()).toThrow(roster.UnknownRegistryError);
    expect(codeOf(() => reg.count())).toBe('ROSTER_ERR_UNKNOWN_REGISTRY');
    await expect(agent.call('check', reg.handle.id, {})).rejects.toMatchObject({ code: 'ROSTER_ERR_UNKNOWN_REGISTRY' });
  });

  test('keys(n) and values(key, n) of a number that is not a pid, or of a pid no thread has, return []; a non-number throws InvalidKeyError', () => {
    const reg = track(Registry.create({ keys: 'duplicate', name: 'pids', partitions: 4 }));
    expect(reg.register('mine', 1).ok).toBe(true);
    for (const n of [7, 0, -1, 0.5, 2 ** 21 - 1, Number.NaN, Infinity, -(2 ** 40)]) expect(reg.keys(n), `keys(${n})`).toEqual([]);
    expect(reg.keys(makePid(123_457, 0)), 'a pid-shaped number no thread has').toEqual([]);
    expect(reg.keys(self())).toEqual(['mine']);
    expect(codeOf(() => reg.keys('7' as unknown as number))).toBe('ROSTER_ERR_INVALID_KEY');
    for (const n of [7, 0, -1, 0.5, Number.NaN, makePid(123_457, 0)]) expect(reg.values('mine', n), `values('mine', ${n})`).toEqual([]);
    expect(reg.values('mine', self())).toEqual([1]);
    for (const bad of ['7', null, undefined, {}, 1n]) expect(codeOf(() => reg.values('mine', bad as unknown as number)), `values('mine', ${String(bad)})`).toBe('ROSTER_ERR_INVALID_KEY');
    expect(violations(reg, { count: 1 })).toEqual([]);
  });

  test('a refused unique register changes nothing: no growth, no CapacityError, the same stats', async () => {
    // 64 KiB partitions: making room for a 400k-character value first would throw CapacityError.
    const reg = track(Registry.create({ keys: 'unique', name: 'refusals', partitions: 2, maxPartitionBytes: 1 << 16, initialCapacity: 8 }));
    const big = 'x'.repeat(400_000);
    expect(reg.register('mine', 1).ok).toBe(true);
    const agent = startAgent(newDeathBoard().i32);
    await agent.call('attach', reg.handle);
    const other = await agent.call<number>('self');
    expect(await agent.call('register', reg.handle.id, 'theirs', 2)).toMatchObject({ ok: true });
    const before = reg.stats();
    expect(reg.register('mine', big)).toEqual({ ok: false, reason: 'already_registered', holder: self() });
    expect(reg.register('theirs', big)).toEqual({ ok: false, reason: 'already_registered', holder: other });
    expect(reg.register('theirs', { nested: big })).toEqual({ ok: false, reason: 'already_registered', holder: other });
    expect(reg.stats(), 'a refusal changed the partitions').toEqual(before);
    expect(reg.lookup('mine')).toEqual([[self(), 1]]);
    expect(reg.lookup('theirs')).toEqual([[other, 2]]);
    // With default options, a refusal does not grow the partition either.
    const dflt = track(Registry.create({ keys: 'unique', name: 'refusals-default' }));
    expect(dflt.register('k', 'small').ok).toBe(true);
    const was = dflt.stats();
    expect(dflt.register('k', big).ok).toBe(false);
    expect(dflt.stats()).toEqual(was);
    expect(violations(reg, { count: 2 })).toEqual([]);
  });

  test("the 'register' event carries the stored value: a getter is read once, and listeners and subscribers see what lookups return", async () => {
    const reg = track(Registry.create({ keys: 'duplicate', name: 'events', listeners: ['L'] }));
    const heard: RegistryEvent[] = [];
    const subscribed: RegistryEvent[] = [];
    reg.listen('L', (e) => void heard.push(e));
    reg.subscribe((e) => void subscribed.push(e));
    let reads = 0;
    const value = {
      tag: 'g',
      get n(): number {
        reads++;
        return reads;
      },
    };
    expect(reg.register('getter', value).ok).toBe(true);
    expect(reads, 'the getter was read more than once').toBe(1);
    const stored = reg.lookup('getter')[0]?.[1];
    expect(stored).toEqual({ tag: 'g', n: 1 });
    await until(() => heard.length >= 1 && subscribed.length >= 1, 'the register events');
    expect(heard[0]).toMatchObject({ type: 'register', registry: 'events', key: 'getter', pid: self(), value: stored });
    expect(subscribed[0]).toMatchObject({ type: 'register', value: stored });
    expect(reads).toBe(1);
    expect(violations(reg, { count: 1 })).toEqual([]);
  });

  test('internals (sweepDead, tables, createdHandles) are not on the Registry instance, class or public exports', () => {
    const reg = track(Registry.create({ keys: 'unique', name: 'internals', partitions: 3 }));
    for (const name of ['sweepDead', 'tables', 'createdHandles']) {
      expect(name in reg, `registry.${name}`).toBe(false);
      expect(name in Registry, `Registry.${name}`).toBe(false);
      expect(Object.getOwnPropertyNames(Registry.prototype), `Registry.prototype.${name}`).not.toContain(name);
    }
    expect(Object.keys(roster)).not.toContain('sweepRegistry');
    expect(Object.keys(roster)).not.toContain('tablesOf');
    // The typings do not offer them either.
    const dts = readFileSync(new URL('../../dist/src/registry/registry.d.ts', import.meta.url), 'utf8');
    const cls = dts.slice(dts.indexOf('export declare class Registry'));
    expect(cls).not.toMatch(/^\s+(sweepDead|tables|createdHandles)\b/m);
    // The internal functions still work for the coordinator and tests.
    expect(tablesOf(reg)).toHaveLength(3);
    expect(sweepRegistry(reg, [])).toBe(true);
    expect(violations(reg, { count: 0 })).toEqual([]);
  });

  test('key errors name the registry, whichever call raised them', async () => {
    const reg = track(Registry.create({ keys: 'unique', name: 'named-registry' }));
    const bad: unknown[] = [null, undefined, {}, Symbol('s'), () => 1, [{}], [1, [null]], 'x'.repeat(5000)];
    const calls: Array<[string, (k: never) => unknown]> = [
      ['register', (k) => reg.register(k, 1)],
      ['unregister', (k) => reg.unregister(k)],
      ['lookup', (k) => reg.lookup(k)],
      ['whereis', (k) => reg.whereis(k)],
      ['ref', (k) => reg.ref(k)],
      ['match', (k) => reg.match(k, roster._)],
      ['countMatch', (k) => reg.countMatch(k, roster._)],
      ['values', (k) => reg.values(k, self())],
      ['dispatch', (k) => reg.dispatch(k, () => undefined)],
      ['updateValue', (k) => reg.updateValue(k, (v) => v)],
      ['unregisterMatch', (k) => reg.unregisterMatch(k, roster._)],
      ['meta', (k) => reg.meta(k)],
      ['putMeta', (k) => reg.putMeta(k, 1)],
      ['deleteMeta', (k) => reg.deleteMeta(k)],
      ['keys', (k) => reg.keys(k)],
    ];
    const unnamed: string[] = [];
    for (const [name, call] of calls) {
      for (const key of name === 'keys' ? ['7', null, {}] : bad) {
        let err: unknown;
        try {
          call(key as never);
        } catch (e) {
          err = e;
        }
        const what = `${name}(${typeof key === 'string' ? `'${key.slice(0, 8)}…'` : String(typeof key === 'symbol' ? 'symbol' : JSON.stringify(key) ?? typeof key)})`;
        if (!(err instanceof roster.RosterError)) unnamed.push(`${what}: no RosterError (${String(err)})`);
        else if (!err.message.includes('named-registry')) unnamed.push(`${what}: ${err.code}: ${err.message}`);
      }
    }
    for (const key of [null, {}]) {
      const err = await reg.lock(key as never, () => 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(err instanceof roster.RosterError) || !err.message.includes('named-registry')) unnamed.push(`lock(${JSON.stringify(key)}): ${String(err)}`);
    }
    expect(unnamed).toEqual([]);
    expect(violations(reg, { count: 0 })).toEqual([]);
  });
});
