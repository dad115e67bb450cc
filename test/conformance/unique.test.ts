/**
 * Conformance §2.D (#26–#60): Elixir's `Registry.UniqueTest`, run for partitions {1, 8}.
 *
 * Adaptations (JavaScript has no atoms, tuples, maps as keys, links, `1.0`, or Agents):
 * - atoms are strings (`:atom` → 'atom'), tuples are arrays, maps are plain objects, `nil` is null;
 * - "another process" / `Task` is a worker thread running test/fixtures/conf-agent.ts (an agent);
 * - `{:ok, pid}` → `{ ok: true, owner }`, `{:error, {:already_registered, pid}}` →
 *   `{ ok: false, reason: 'already_registered', holder }`, `:error` → `{ ok: false }`;
 * - `1` vs `1.0`: JavaScript numbers have no integer/float distinction, so the exact-comparison
 *   checks use `'1'` vs `1` and `1` vs `1n` instead (keys compare by type, see src/types.ts);
 * - map keys: Roster keys cannot be objects, so a map key `%{b: "b", label: l}` becomes the tuple of
 *   its sorted entries `[['b', 'b'], ['label', l]]` and the superset map likewise; the point
 *   (keys are matched exactly, never as partial patterns) is the same;
 * - `:via` names are `register` + `whereis`; Supervisor children are `reg.partitions`;
 *   ETS sizes are `count()` and lookups; links (#45) are the per-pid index `keys(pid)`;
 *   "unknown registry" (#46) is a closed registry.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { $1, $2, $3, $4, $5, $_, _, self, supervise } from '../../dist/src/index.js';
import type { Registry } from '../../dist/src/index.js';
import type { Key } from './helpers.js';
import {
  collectEvents,
  createRegistry,
  expectCode,
  kCode,
  kUniqueCases,
  runCleanups,
  sorted,
  startAgent,
  uniqueName,
} from './helpers.js';

afterEach(runCleanups);

/** `register_reserved_keys/2` of unique_test.exs, adapted (see the header). */
function registerReservedKeys(reg: Registry, label: string) {
  const keys = {
    goodKey: ['good', label],
    goodValue: ['good', label],
    reservedKey: '_',
    reservedValue: ['reserved', label],
    variableTupleKey: ['$1', label],
    variableTupleValue: ['tuple', label],
    dollarListKey: ['$$', label],
    dollarListValue: ['list', label],
    mapKey: [
      ['b', 'b'],
      ['label', label],
    ],
    mapValue: ['map', label],
    mapSupersetKey: [
      ['a', 'a'],
      ['b', 'b'],
      ['label', label],
    ],
    mapSupersetValue: ['superset_map', label],
  } satisfies Record<string, Key>;
  expect(reg.register(keys.goodKey, keys.goodValue)).toMatchObject({ ok: true });
  expect(reg.register(keys.reservedKey, keys.reservedValue)).toMatchObject({ ok: true });
  expect(reg.register(keys.variableTupleKey, keys.variableTupleValue)).toMatchObject({ ok: true });
  expect(reg.register(keys.dollarListKey, keys.dollarListValue)).toMatchObject({ ok: true });
  expect(reg.register(keys.mapKey, keys.mapValue)).toMatchObject({ ok: true });
  expect(reg.register(keys.mapSupersetKey, keys.mapSupersetValue)).toMatchObject({ ok: true });
  return keys;
}

describe.each(kUniqueCases)('Registry.UniqueTest (keys: $keys, partitions: $partitions)', ({ keys, partitions }) => {
  let reg: Registry;

  beforeEach(() => {
    reg = createRegistry({ keys, partitions });
  });

  /** `register_task/3`: a live process holding `key`. */
  async function registerTask(key: Key, value: unknown) {
    const task = await startAgent(reg);
    expect(await task.call('register', key, value)).toMatchObject({ ok: true });
    return task;
  }

  test('#26 starts configured number of partitions', () => {
    // length(Supervisor.which_children(registry)) == partitions
    expect(reg.partitions).toBe(partitions);
    expect(reg.kind).toBe('unique');
  });

  test('#27 counts 0 keys in an empty registry', () => {
    expect(reg.count()).toBe(0);
  });

  test('#28 counts the number of keys in a registry', () => {
    expect(reg.register('hello', 'value')).toMatchObject({ ok: true });
    expect(reg.register('world', 'value')).toMatchObject({ ok: true });
    expect(reg.count()).toBe(2);
  });

  test('#29 has unique registrations', () => {
    const first = reg.register('hello', 'value');
    expect(first).toEqual({ ok: true, owner: expect.any(Number) });
    expect(reg.keys(self())).toEqual(['hello']);
    expect(reg.values('hello', self())).toEqual(['value']);

    expect(reg.register('hello', 'value')).toEqual({ ok: false, reason: 'already_registered', holder: self() });
    expect(reg.keys(self())).toEqual(['hello']);
    expect(reg.values('hello', self())).toEqual(['value']);

    expect(reg.register('world', 'value')).toEqual({ ok: true, owner: expect.any(Number) });
    expect(sorted(reg.keys(self()))).toEqual(['hello', 'world']);
  });

  test('#30 has unique registrations across processes', async () => {
    const task = await registerTask('hello', 'value');
    expect(reg.keys(task.pid)).toEqual(['hello']);
    expect(reg.values('hello', task.pid)).toEqual(['value']);

    expect(reg.register('hello', 'recent')).toEqual({ ok: false, reason: 'already_registered', holder: task.pid });
    expect(reg.keys(self())).toEqual([]);
    expect(reg.values('hello', self())).toEqual([]);
    // Upstream also checks that the caller's link to the registry survives the failed register:
    // Roster has no links; the failure left the holder's registration intact instead.
    expect(reg.lookup('hello')).toEqual([[task.pid, 'value']]);
  });

  // "Partition is delayed": the holder is dead but nothing has swept its entry, and nothing will:
  // no coordinator runs in this file. supervise() declares the thread dead on its 'exit' (issue 3
  // §5), so register must treat the stale entry as absent at once, without waiting for a sweep.
  test('#31 has unique registrations even if partition is delayed', async () => {
    const task = await startAgent(reg);
    supervise(task.worker);
    expect(await task.call('register', 'hello', 'value')).toMatchObject({ ok: true });
    expect(reg.register('hello', 'other')).toEqual({ ok: false, reason: 'already_registered', holder: task.pid });
    // :sys.suspend(owner) + kill: the holder dies and nothing has cleaned its entry up yet; register
    // must see that the holder is dead, replace the stale entry and succeed.
    await task.terminate();
    expect(reg.register('hello', 'other')).toEqual({ ok: true, owner: self() });
    expect(reg.lookup('hello')).toEqual([[self(), 'other']]);
    expect(reg.keys(task.pid)).toEqual([]);
    expect(reg.count()).toBe(1);
  });

  test('#32 supports match patterns', () => {
    const value = [1, 'atom', 1];
    reg.register('hello', value);
    expect(reg.match('hello', [1, _, _])).toEqual([[self(), value]]);
    // {1.0, :_, :_} gives []: exact comparison by type ('1' is not 1, 1n is not 1).
    expect(reg.match('hello', ['1', _, _])).toEqual([]);
    expect(reg.match('hello', [1n, _, _])).toEqual([]);
    expect(reg.match('hello', [_, 'atom', _])).toEqual([[self(), value]]);
    expect(reg.match('hello', [$1, _, $1])).toEqual([[self(), value]]);
    expect(reg.match('hello', _)).toEqual([[self(), value]]);
    // match(registry, :_, :_) == []: the key is literal, never a pattern.
    expect(reg.match('_', _)).toEqual([]);

    const value2 = { a: 'a', b: 'b' };
    reg.register('world', value2);
    expect(reg.match('world', { b: 'b' })).toEqual([[self(), value2]]);
  });

  test('#33 supports guard conditions', () => {
    const value = [1, 'atom', 2];
    reg.register('hello', value);
    expect(reg.match('hello', [_, _, $1], [['>', $1, 1]])).toEqual([[self(), value]]);
    expect(reg.match('hello', [_, _, $1], [['>', $1, 2]])).toEqual([]);
    // {:is_atom, :"$1"}: atoms are strings.
    expect(reg.match('hello', [_, $1, _], [['is_string', $1]])).toEqual([[self(), value]]);
  });

  test('#34 supports reserved keys', () => {
    let k = registerReservedKeys(reg, 'match_phase');

    expect(reg.match(k.goodKey, _)).toEqual([[self(), k.goodValue]]);
    expect(reg.match(k.reservedKey, _)).toEqual([[self(), k.reservedValue]]);
    expect(reg.match(k.variableTupleKey, _)).toEqual([[self(), k.variableTupleValue]]);
    expect(reg.match(k.dollarListKey, _)).toEqual([[self(), k.dollarListValue]]);
    expect(reg.match(k.mapKey, _)).toEqual([[self(), k.mapValue]]);

    expect(reg.countMatch(k.goodKey, _)).toBe(1);
    expect(reg.countMatch(k.reservedKey, _)).toBe(1);
    expect(reg.countMatch(k.variableTupleKey, _)).toBe(1);
    expect(reg.countMatch(k.dollarListKey, _)).toBe(1);
    expect(reg.countMatch(k.mapKey, _)).toBe(1);

    reg.unregisterMatch(k.reservedKey, k.reservedValue);
    reg.unregisterMatch(k.variableTupleKey, k.variableTupleValue);
    reg.unregisterMatch(k.dollarListKey, k.dollarListValue);
    reg.unregisterMatch(k.mapKey, k.mapValue);

    expect(reg.lookup(k.goodKey)).toEqual([[self(), k.goodValue]]);
    expect(reg.lookup(k.reservedKey)).toEqual([]);
    expect(reg.lookup(k.variableTupleKey)).toEqual([]);
    expect(reg.lookup(k.dollarListKey)).toEqual([]);
    expect(reg.lookup(k.mapKey)).toEqual([]);
    expect(reg.lookup(k.mapSupersetKey)).toEqual([[self(), k.mapSupersetValue]]);

    k = registerReservedKeys(reg, 'unregister_phase');

    reg.unregister(k.goodKey);
    reg.unregister(k.reservedKey);
    reg.unregister(k.variableTupleKey);
    reg.unregister(k.dollarListKey);
    reg.unregister(k.mapKey);

    expect(reg.lookup(k.goodKey)).toEqual([]);
    expect(reg.lookup(k.reservedKey)).toEqual([]);
    expect(reg.lookup(k.variableTupleKey)).toEqual([]);
    expect(reg.lookup(k.dollarListKey)).toEqual([]);
    expect(reg.lookup(k.mapKey)).toEqual([]);
    expect(reg.lookup(k.mapSupersetKey)).toEqual([[self(), k.mapSupersetValue]]);

    // Adaptation: a real map (plain object) cannot be a key at all.
    expectCode(() => reg.register({ label: 'x', b: 'b' } as unknown as Key, 'v'), kCode.invalidKey);
  });

  test('#35 count_match supports match patterns', () => {
    const value = [1, 'atom', 1];
    reg.register('hello', value);
    expect(reg.countMatch('hello', [1, _, _])).toBe(1);
    expect(reg.countMatch('hello', ['1', _, _])).toBe(0);
    expect(reg.countMatch('hello', [1n, _, _])).toBe(0);
    expect(reg.countMatch('hello', [_, 'atom', _])).toBe(1);
    expect(reg.countMatch('hello', [$1, _, $1])).toBe(1);
    expect(reg.countMatch('hello', _)).toBe(1);
    expect(reg.countMatch('_', _)).toBe(0);

    reg.register('world', { a: 'a', b: 'b' });
    expect(reg.countMatch('world', { b: 'b' })).toBe(1);
  });

  test('#36 count_match supports guard conditions', () => {
    reg.register('hello', [1, 'atom', 2]);
    expect(reg.countMatch('hello', [_, _, $1], [['>', $1, 1]])).toBe(1);
    expect(reg.countMatch('hello', [_, _, $1], [['>', $1, 2]])).toBe(0);
    expect(reg.countMatch('hello', [_, $1, _], [['is_string', $1]])).toBe(1);
  });

  test('#37 unregister_match supports patterns', () => {
    const value = [1, 'atom', 1];
    reg.register('hello', value);
    reg.unregisterMatch('hello', [2, _, _]);
    expect(reg.lookup('hello')).toEqual([[self(), value]]);
    reg.unregisterMatch('hello', ['1', _, _]);
    expect(reg.lookup('hello')).toEqual([[self(), value]]);
    reg.unregisterMatch('hello', [1n, _, _]);
    expect(reg.lookup('hello')).toEqual([[self(), value]]);
    reg.unregisterMatch('hello', [_, 'atom', _]);
    expect(reg.lookup('hello')).toEqual([]);
  });

  test('#38 unregister_match supports guards', () => {
    reg.register('hello', [1, 'atom', 1]);
    reg.unregisterMatch('hello', [$1, _, _], [['<', $1, 2]]);
    expect(reg.lookup('hello')).toEqual([]);
  });

  test('#39 compares using === (here: 1 vs "1" vs 1n)', () => {
    // Upstream registers 1.0 and 1. JavaScript has no int/float distinction (1 === 1.0), so the
    // exact-comparison check uses keys that differ only by type: '1', 1 and 1n.
    expect(reg.register('1', 'value')).toMatchObject({ ok: true });
    expect(reg.register(1, 'value')).toMatchObject({ ok: true });
    expect(reg.register(1n, 'value')).toMatchObject({ ok: true });
    expect(sorted(reg.keys(self()))).toEqual(sorted(['1', 1, 1n]));
    expect(reg.keys(self())).toHaveLength(3);
  });

  test('#40 updates current process value', async () => {
    const raise = vi.fn((x: unknown): unknown => {
      throw new Error(`must not be invoked (${String(x)})`);
    });
    expect(reg.updateValue('hello', raise)).toEqual({ ok: false });
    await registerTask('hello', 'value');
    expect(reg.updateValue('hello', raise)).toEqual({ ok: false });
    expect(raise).not.toHaveBeenCalled();

    reg.register('world', 1);
    expect(reg.lookup('world')).toEqual([[self(), 1]]);
    expect(reg.updateValue<number>('world', (x) => x + 1)).toEqual({ ok: true, value: 2, previous: 1 });
    expect(reg.lookup('world')).toEqual([[self(), 2]]);
  });

  test('#41 dispatches to a single key', () => {
    const never = vi.fn(() => {
      throw new Error('will never be invoked');
    });
    expect(reg.dispatch('hello', never)).toBeUndefined();
    expect(never).not.toHaveBeenCalled();

    reg.register('hello', 'value');
    const received: unknown[] = [];
    reg.dispatch('hello', (entries) => {
      expect(entries).toHaveLength(1);
      for (const [pid, value] of entries) {
        expect(pid).toBe(self());
        received.push(['dispatch', value]);
      }
    });
    expect(received).toEqual([['dispatch', 'value']]);
  });

  test('#42 unregisters process by key', () => {
    expect(reg.unregister('hello')).toBeUndefined();
    reg.register('hello', 'value');
    reg.register('world', 'value');
    expect(sorted(reg.keys(self()))).toEqual(['hello', 'world']);
    expect(reg.unregister('hello')).toBeUndefined();
    expect(reg.keys(self())).toEqual(['world']);
    expect(reg.unregister('world')).toBeUndefined();
    expect(reg.keys(self())).toEqual([]);
  });

  test('#43 unregisters with no entries', () => {
    expect(reg.unregister('hello')).toBeUndefined();
  });

  test('#44 allows listeners', async () => {
    const lreg = createRegistry({ keys, partitions, name: uniqueName('listen'), listeners: ['unique_listener'] });
    const got = collectEvents((h) => lreg.listen('unique_listener', h));
    const task = await startAgent(lreg);
    expect(await task.call('register', 'hello', 'world')).toMatchObject({ ok: true });
    await got.waitFor(1);
    expect(got.events[0]).toEqual({ type: 'register', registry: lreg.name, key: 'hello', pid: task.pid, value: 'world' });

    expect(lreg.register('world', 'value')).toMatchObject({ ok: true });
    await got.waitFor(2);
    expect(got.events[1]).toEqual({ type: 'register', registry: lreg.name, key: 'world', pid: self(), value: 'value' });

    expect(lreg.unregister('world')).toBeUndefined();
    await got.waitFor(3);
    expect(got.events[2]).toEqual({ type: 'unregister', registry: lreg.name, key: 'world', pid: self() });
  });

  test('#45 links and unlinks on register/unregister (adapted: the per-pid index)', () => {
    // Roster has no links: a registration is tied to its owner through the per-pid index that
    // keys(pid) reads and crash cleanup sweeps. The owner stays indexed while it has entries.
    expect(reg.register('hello', 'value')).toEqual({ ok: true, owner: expect.any(Number) });
    expect(reg.keys(self())).toEqual(['hello']);
    expect(reg.register('world', 'value')).toEqual({ ok: true, owner: expect.any(Number) });
    expect(sorted(reg.keys(self()))).toEqual(['hello', 'world']);
    reg.unregister('hello');
    expect(reg.keys(self())).toEqual(['world']);
    reg.unregister('world');
    expect(reg.keys(self())).toEqual([]);
  });

  test('#46 raises on unknown registry name (a closed registry)', () => {
    reg.close();
    expectCode(() => reg.register('hello', 'value'), kCode.unknownRegistry);
    expectCode(() => reg.lookup('hello'), kCode.unknownRegistry);
    expectCode(() => reg.count(), kCode.unknownRegistry);
  });

  test('#47 via callbacks (register + whereis)', async () => {
    // {:via, Registry, {reg, "hello"}}: the agent registers its name, others find it by whereis.
    const agent = await startAgent(reg);
    expect(reg.whereis('hello')).toBeUndefined();
    expect(await agent.call('register', 'hello', 0)).toMatchObject({ ok: true });
    expect(reg.whereis('hello')).toBe(agent.pid);
    // Agent.update(name, &(&1 + 1)) then Agent.get(name, & &1) == 1, through the name.
    const named = reg.whereis('hello');
    expect(named).toBe(agent.pid);
    expect(await agent.call('increment', 'hello', 1)).toEqual({ ok: true, value: 1, previous: 0 });
    expect(reg.lookup('hello')).toEqual([[agent.pid, 1]]);
    // A second start under the same name: {:error, {:already_started, pid}}.
    const second = await startAgent(reg);
    expect(await second.call('register', 'hello', 0)).toEqual({
      ok: false,
      reason: 'already_registered',
      holder: agent.pid,
    });
    // unregister_name
    expect(await agent.call('unregister', 'hello')).toBeUndefined();
    expect(reg.whereis('hello')).toBeUndefined();
  });

  test('#48 uses value provided in via', async () => {
    const agent = await startAgent(reg);
    expect(await agent.call('register', 'hello', 'value')).toMatchObject({ ok: true });
    expect(reg.lookup('hello')).toEqual([[agent.pid, 'value']]);
  });

  test('#49 empty list for empty registry', () => {
    expect(reg.select([{ match: [_, _, _], guards: [], body: $_ }])).toEqual([]);
  });

  test('#50 select all', async () => {
    // The via agent registers with a 2-tuple name: value nil (null).
    const agent = await startAgent(reg);
    expect(await agent.call('register', 'hello', null)).toMatchObject({ ok: true });
    reg.register('world', 'value');
    expect(sorted(reg.select([{ match: [$1, $2, $3], guards: [], body: [$1, $2, $3] }]))).toEqual(
      sorted([
        ['hello', agent.pid, null],
        ['world', self(), 'value'],
      ]),
    );
  });

  test('#51 select supports full match specs', () => {
    const value = [1, 'atom', 1];
    reg.register('hello', value);
    const entry = ['hello', self(), value];

    expect(reg.select([{ match: ['hello', $2, $3], guards: [], body: ['hello', $2, $3] }])).toEqual([entry]);
    expect(reg.select([{ match: [$1, self(), $3], guards: [], body: [$1, self(), $3] }])).toEqual([entry]);
    // {value} in the body is Elixir's tuple literal; a var-free array is literal in a JS template.
    expect(reg.select([{ match: [$1, $2, value], guards: [], body: [$1, $2, value] }])).toEqual([entry]);
    expect(reg.select([{ match: ['world', $2, $3], guards: [], body: ['world', $2, $3] }])).toEqual([]);
    // {1.0, :_, :_} against 1: exact by type.
    expect(reg.select([{ match: [$1, $2, ['1', _, _]], guards: [], body: $_ }])).toEqual([]);
    expect(reg.select([{ match: [$1, $2, [1n, _, _]], guards: [], body: $_ }])).toEqual([]);
    expect(
      reg.select([{ match: [$1, $2, [$3, 'atom', $4]], guards: [], body: [$1, $2, [$3, 'atom', $4]] }]),
    ).toEqual([entry]);
    expect(reg.select([{ match: [$1, $2, [$3, $4, $3]], guards: [], body: [$1, $2, [$3, $4, $3]] }])).toEqual([
      ['hello', self(), [1, 'atom', 1]],
    ]);

    reg.register('world', { a: 'a', b: 'b' });
    expect(reg.select([{ match: ['world', self(), { b: 'b' }], guards: [], body: 'match' }])).toEqual(['match']);
    expect(sorted(reg.select([{ match: [$1, _, _], guards: [], body: $1 }]))).toEqual(['hello', 'world']);
  });

  test('#52 select supports guard conditions', () => {
    reg.register('hello', [1, 'atom', 2]);
    expect(
      reg.select([{ match: [$1, $2, [$3, $4, $5]], guards: [['>', $5, 1]], body: [$1, $2, [$3, $4, $5]] }]),
    ).toEqual([['hello', self(), [1, 'atom', 2]]]);
    expect(reg.select([{ match: [_, _, [_, _, $1]], guards: [['>', $1, 2]], body: $_ }])).toEqual([]);
    expect(reg.select([{ match: [$1, _, [_, $2, _]], guards: [['is_string', $2]], body: $1 }])).toEqual(['hello']);
  });

  test('#53 select allows multiple specs', () => {
    reg.register('hello', 'value');
    reg.register('world', 'value');
    // Body {:element, 1, :"$_"}: the contract's body is a template or a function of (bindings, entry).
    const key = (_b: unknown, entry: unknown) => (entry as unknown[])[0];
    expect(
      sorted(
        reg.select([
          { match: ['hello', _, _], guards: [], body: key },
          { match: ['world', _, _], guards: [], body: key },
        ]),
      ),
    ).toEqual(['hello', 'world']);
  });

  test('#54 select raises on incorrect shape of match spec', () => {
    expectCode(() => reg.select([{ match: _ as never, guards: [], body: [] }]), kCode.matchSpec);
  });

  test('#55 count_select supports match specs', () => {
    const value = [1, 'atom', 1];
    reg.register('hello', value);
    expect(reg.countSelect([{ match: [_, _, value], guards: [], body: true }])).toBe(1);
    expect(reg.countSelect([{ match: ['hello', _, _], guards: [], body: true }])).toBe(1);
    expect(reg.countSelect([{ match: [_, _, [1, 'atom', _]], guards: [], body: true }])).toBe(1);
    expect(reg.countSelect([{ match: [_, _, [$1, _, $1]], guards: [], body: true }])).toBe(1);
    expect(reg.countSelect([{ match: ['hello', _, null], guards: [], body: true }])).toBe(0);

    reg.register('world', { a: 'a', b: 'b' });
    expect(reg.countSelect([{ match: ['world', _, _], guards: [], body: true }])).toBe(1);
  });

  test('#56 count_select supports guard conditions', () => {
    reg.register('hello', [1, 'atom', 2]);
    expect(reg.countSelect([{ match: [_, _, [_, $1, _]], guards: [['is_string', $1]], body: true }])).toBe(1);
    expect(reg.countSelect([{ match: [_, _, [_, _, $1]], guards: [['>', $1, 1]], body: true }])).toBe(1);
    expect(reg.countSelect([{ match: [_, _, [_, _, $1]], guards: [['>', $1, 2]], body: true }])).toBe(0);
  });

  test('#57 count_select allows multiple specs', () => {
    reg.register('hello', 'value');
    reg.register('world', 'value');
    expect(
      reg.countSelect([
        { match: ['hello', _, _], guards: [], body: true },
        { match: ['world', _, _], guards: [], body: true },
      ]),
    ).toBe(2);
  });

  test('#58 count_select raises on incorrect shape of match spec', () => {
    expectCode(() => reg.countSelect([{ match: _ as never, guards: [], body: [] }]), kCode.matchSpec);
  });

  test("#59 doesn't grow ets on already_registered", () => {
    // Pid-table rows: count() and lookups stand in for ETS sizes.
    expect(reg.count()).toBe(0);
    expect(reg.register('hello', 'value')).toMatchObject({ ok: true });
    expect(reg.count()).toBe(1);
    expect(reg.register('world', 'value')).toMatchObject({ ok: true });
    expect(reg.count()).toBe(2);
    expect(reg.register('hello', 'value')).toMatchObject({ ok: false, reason: 'already_registered' });
    expect(reg.count()).toBe(2);
    expect(sorted(reg.keys(self()))).toEqual(['hello', 'world']);
    expect(reg.lookup('hello')).toEqual([[self(), 'value']]);
  });

  test("#60 doesn't grow ets on already_registered across processes", async () => {
    expect(reg.count()).toBe(0);
    const task = await registerTask('hello', 'value');
    expect(reg.count()).toBe(1);
    expect(reg.register('world', 'value')).toMatchObject({ ok: true });
    expect(reg.count()).toBe(2);
    expect(reg.register('hello', 'recent')).toEqual({ ok: false, reason: 'already_registered', holder: task.pid });
    expect(reg.count()).toBe(2);
    expect(reg.lookup('hello')).toEqual([[task.pid, 'value']]);
    expect(reg.keys(self())).toEqual(['world']);
    expect(reg.keys(task.pid)).toEqual(['hello']);
  });
});
