/**
 * `registry.ref(key)`: a key resolved once gives the same answers as `lookup` and `whereis`, however the
 * entry changes in between — in this thread or in another, through growth, and after its owner dies.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Registry, supervise, self } from '../dist/src/index.js';
import { createRegistry, runCleanups, startAgent } from './conformance/helpers.js';

afterEach(runCleanups);

describe.each([1, 8])('KeyRef (partitions %i)', (partitions) => {
  it('follows registrations, updates, growth and removal made in this thread', () => {
    const reg = createRegistry({ keys: 'unique', partitions, initialCapacity: 8 });
    const ref = reg.ref('a');
    expect(ref.whereis()).toBeUndefined();
    expect(reg.register('a', 1).ok).toBe(true);
    expect(ref.lookup()).toEqual([[self(), 1]]);
    reg.updateValue<number>('a', (x) => x + 1);
    expect(ref.lookup()).toEqual(reg.lookup('a'));
    for (let i = 0; i < 2000; i++) reg.register(`grow:${i}`, i); // several rebuilds
    expect(ref.lookup()).toEqual([[self(), 2]]);
    reg.unregister('a');
    expect(ref.lookup()).toEqual([]);
    expect(ref.whereis()).toBeUndefined();
  });

  it('never shares an object value between calls', () => {
    const reg = createRegistry({ keys: 'unique', partitions });
    reg.register(['t', 1n], { n: 1 });
    const ref = reg.ref(['t', 1n]);
    const first = ref.lookup()[0]![1] as { n: number };
    first.n = 99;
    expect(ref.lookup()).toEqual([[self(), { n: 1 }]]);
  });

  it('sees another thread register, update and unregister, and hides a dead owner', async () => {
    const reg = createRegistry({ keys: 'unique', partitions });
    const agent = await startAgent(reg);
    const ref = reg.ref('peer');
    expect(ref.whereis()).toBeUndefined();
    await agent.call('register', 'peer', 10);
    expect(ref.lookup()).toEqual([[agent.pid, 10]]);
    await agent.call('increment', 'peer', 5);
    expect(ref.lookup()).toEqual([[agent.pid, 15]]);
    await agent.call('unregister', 'peer');
    expect(ref.whereis()).toBeUndefined();

    const mortal = await startAgent(reg);
    // supervise() would normally be called at spawn; calling it now still declares the death on exit.
    supervise(mortal.worker);
    await mortal.call('register', 'peer', 'x');
    expect(ref.whereis()).toBe(mortal.pid);
    await mortal.terminate();
    expect(ref.whereis()).toBeUndefined();
    expect(reg.lookup('peer')).toEqual([]);
  });

  it('is refused on duplicate registries and after close', () => {
    const dup = Registry.create({ keys: 'duplicate', partitions });
    expect(() => dup.ref('k')).toThrow(expect.objectContaining({ code: 'ROSTER_ERR_UNSUPPORTED' }));
    dup.close();
    const reg = Registry.create({ keys: 'unique', partitions });
    const ref = reg.ref('k');
    reg.close();
    expect(() => ref.lookup()).toThrow(expect.objectContaining({ code: 'ROSTER_ERR_UNKNOWN_REGISTRY' }));
  });
});
