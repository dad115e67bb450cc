/**
 * Conformance §2.E (#61–#94): Elixir's `Registry.DuplicateTest`, run for both duplicate kinds
 * ('duplicate' = `{:duplicate, :pid}`, 'duplicate-by-key' = `{:duplicate, :key}`) × partitions {1, 8}.
 * (Elixir's `:duplicate` is an alias of `{:duplicate, :pid}`, so it is covered by 'duplicate'.)
 *
 * Adaptations are those of unique.test.ts: atoms → strings, tuples → arrays, maps → plain objects,
 * `nil` → null, `Task` → worker thread agent, `1` vs `1.0` → `'1'` vs `1` and `1` vs `1n` (JavaScript
 * numbers have no int/float distinction), map keys → tuples of sorted entries, links → keys(pid),
 * "unknown registry" → a closed registry, `:via` → whereis.
 * Dispatch: a JavaScript function cannot run in another thread, so `parallel: true` cannot be
 * checked by "the callback runs in another process"; it returns a Promise and callbacks may run
 * concurrently; delivery must be the same as serial.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { $1, $2, $3, $4, $5, $_, _, self } from '../../dist/src/index.js';
import type { Registry } from '../../dist/src/index.js';
import type { Entry } from '../../dist/src/types.js';
import type { Key } from './helpers.js';
import {
  collectEvents,
  createRegistry,
  expectCode,
  kCode,
  kDuplicateCases,
  runCleanups,
  sorted,
  startAgent,
  uniqueName,
} from './helpers.js';

afterEach(runCleanups);

/** `register_reserved_keys/2`, adapted like in unique.test.ts. */
function registerReservedKeys(reg: Registry, label: string) {
  const keys = {
    goodKey: ['good', label],
    goodValue: ['good', label],
    reservedKey: '_',
    reservedValue: ['reserved', label],
    reservedValue2: ['reserved2', label],
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
  expect(reg.register(keys.reservedKey, keys.reservedValue2)).toMatchObject({ ok: true });
  expect(reg.register(keys.variableTupleKey, keys.variableTupleValue)).toMatchObject({ ok: true });
  expect(reg.register(keys.dollarListKey, keys.dollarListValue)).toMatchObject({ ok: true });
  expect(reg.register(keys.mapKey, keys.mapValue)).toMatchObject({ ok: true });
  expect(reg.register(keys.mapSupersetKey, keys.mapSupersetValue)).toMatchObject({ ok: true });
  return keys;
}

/** The reserved-atom keys of #93/#94: `:_` twice, `:"$1"` once, "hello" once. */
function registerReservedAtomKeys(reg: Registry) {
  reg.register('_', [1, 'atom']);
  reg.register('_', [2, 'atom']);
  reg.register('$1', [3, 'atom']);
  reg.register('hello', 'a');
}

describe.each(kDuplicateCases)(
  'Registry.DuplicateTest (keys: $keys, partitions: $partitions)',
  ({ keys, partitions }) => {
    let reg: Registry;

    beforeEach(() => {
      reg = createRegistry({ keys, partitions });
    });

    test('#61 starts configured number of partitions', () => {
      expect(reg.partitions).toBe(partitions);
      expect(reg.kind).toBe(keys);
    });

    test('#62 counts 0 keys in an empty registry', () => {
      expect(reg.count()).toBe(0);
    });

    test('#63 counts the number of keys in a registry', () => {
      expect(reg.register('hello', 'value')).toMatchObject({ ok: true });
      expect(reg.register('hello', 'value')).toMatchObject({ ok: true });
      expect(reg.count()).toBe(2);
    });

    test('#64 has duplicate registrations', () => {
      expect(reg.register('hello', 'value')).toEqual({ ok: true, owner: expect.any(Number) });
      expect(reg.keys(self())).toEqual(['hello']);
      expect(reg.values('hello', self())).toEqual(['value']);

      expect(reg.register('hello', 'value')).toEqual({ ok: true, owner: expect.any(Number) });
      expect(reg.keys(self())).toEqual(['hello', 'hello']);
      expect(reg.values('hello', self())).toEqual(['value', 'value']);

      expect(reg.register('world', 'value')).toEqual({ ok: true, owner: expect.any(Number) });
      expect(sorted(reg.keys(self()))).toEqual(['hello', 'hello', 'world']);
    });

    test('#65 has duplicate registrations across processes', async () => {
      const task = await startAgent(reg);
      expect(await task.call('register', 'hello', 'world')).toMatchObject({ ok: true });
      expect(reg.keys(self())).toEqual([]);
      expect(reg.keys(task.pid)).toEqual(['hello']);
      expect(reg.values('hello', self())).toEqual([]);
      expect(reg.values('hello', task.pid)).toEqual(['world']);

      expect(reg.register('hello', 'value')).toMatchObject({ ok: true });
      expect(reg.keys(self())).toEqual(['hello']);
      expect(reg.values('hello', self())).toEqual(['value']);
      expect(reg.values('hello', task.pid)).toEqual(['world']);
    });

    test('#66 compares using matches (here: 1 vs "1" vs 1n)', () => {
      // Upstream: 1.0 and 1 are distinct keys. JavaScript has no int/float distinction (1 === 1.0),
      // so the check uses keys that differ only by type.
      reg.register('1', 'value');
      reg.register(1, 'value');
      reg.register(1n, 'value');
      expect(reg.keys(self())).toHaveLength(3);
      expect(sorted(reg.keys(self()))).toEqual(sorted(['1', 1, 1n]));
      expect(reg.lookup(1)).toEqual([[self(), 'value']]);
    });

    test('#67 dispatches to multiple keys in serial', () => {
      const never = vi.fn(() => {
        throw new Error('will never be invoked');
      });
      expect(reg.dispatch('hello', never, { parallel: false })).toBeUndefined();
      expect(never).not.toHaveBeenCalled();

      reg.register('hello', 'value1');
      reg.register('hello', 'value2');
      reg.register('world', 'value3');

      const caller = self();
      let received: unknown[] = [];
      const fun = (entries: Entry[]) => {
        // The callback runs in the caller, synchronously (received is filled when dispatch returns),
        // and is never called with [].
        expect(self()).toBe(caller);
        expect(entries.length).toBeGreaterThan(0);
        for (const [pid, value] of entries) {
          expect(pid).toBe(self());
          received.push(value);
        }
      };
      expect(reg.dispatch('hello', fun, { parallel: false })).toBeUndefined();
      expect(sorted(received)).toEqual(['value1', 'value2']);

      received = [];
      expect(reg.dispatch('world', fun, { parallel: false })).toBeUndefined();
      expect(received).toEqual(['value3']);
    });

    test('#68 dispatches to multiple keys in parallel', async () => {
      const never = vi.fn(() => {
        throw new Error('will never be invoked');
      });
      const none = reg.dispatch('hello', never, { parallel: true });
      expect(none).toBeInstanceOf(Promise);
      await expect(none).resolves.toBeUndefined();
      expect(never).not.toHaveBeenCalled();

      reg.register('hello', 'value1');
      reg.register('hello', 'value2');
      reg.register('world', 'value3');

      let received: unknown[] = [];
      const fun = async (entries: Entry[]) => {
        expect(entries.length).toBeGreaterThan(0);
        await Promise.resolve();
        for (const [pid, value] of entries) {
          expect(pid).toBe(self());
          received.push(value);
        }
      };
      await expect(reg.dispatch('hello', fun, { parallel: true })).resolves.toBeUndefined();
      expect(sorted(received)).toEqual(['value1', 'value2']);

      received = [];
      await expect(reg.dispatch('world', fun, { parallel: true })).resolves.toBeUndefined();
      expect(received).toEqual(['value3']);
    });

    test('#69 unregisters by key', () => {
      reg.register('hello', 'value');
      reg.register('hello', 'value');
      reg.register('world', 'value');
      expect(sorted(reg.keys(self()))).toEqual(['hello', 'hello', 'world']);
      expect(reg.unregister('hello')).toBeUndefined();
      expect(reg.keys(self())).toEqual(['world']);
      expect(reg.unregister('world')).toBeUndefined();
      expect(reg.keys(self())).toEqual([]);
    });

    test('#70 unregisters with no entries', () => {
      expect(reg.unregister('hello')).toBeUndefined();
    });

    test('#71 supports match patterns', () => {
      const value1 = [1, 'atom', 1];
      const value2 = [2, 'atom', 2];
      reg.register('hello', value1);
      reg.register('hello', value2);
      expect(reg.match('hello', [1, _, _])).toEqual([[self(), value1]]);
      expect(reg.match('hello', ['1', _, _])).toEqual([]);
      expect(reg.match('hello', [1n, _, _])).toEqual([]);
      expect(sorted(reg.match('hello', [_, 'atom', _]))).toEqual([
        [self(), value1],
        [self(), value2],
      ]);
      expect(sorted(reg.match('hello', [$1, _, $1]))).toEqual([
        [self(), value1],
        [self(), value2],
      ]);
      expect(reg.match('hello', [2, _, _])).toEqual([[self(), value2]]);
      // {2.0, :_, :_} gives []
      expect(reg.match('hello', ['2', _, _])).toEqual([]);
      expect(reg.match('hello', [2n, _, _])).toEqual([]);
    });

    test('#72 supports guards', () => {
      const value1 = [1, 'atom', 1];
      const value2 = [2, 'atom', 2];
      reg.register('hello', value1);
      reg.register('hello', value2);
      expect(reg.match('hello', [$1, _, _], [['<', $1, 2]])).toEqual([[self(), value1]]);
      expect(reg.match('hello', [$1, _, _], [['>', $1, 3]])).toEqual([]);
      expect(sorted(reg.match('hello', [$1, _, _], [['<', $1, 3]]))).toEqual([
        [self(), value1],
        [self(), value2],
      ]);
      expect(sorted(reg.match('hello', [_, $1, _], [['is_string', $1]]))).toEqual([
        [self(), value1],
        [self(), value2],
      ]);
    });

    test('#73 uses exact complex keys in lookup and match', () => {
      // {:_, :topic} must not hit {:other, :topic}; %{b: "b"} must not hit %{a: "a", b: "b"}.
      const otherTopic = ['other', 'topic'];
      const superset = [
        ['a', 'a'],
        ['b', 'b'],
      ];
      reg.register(otherTopic, 'v1');
      reg.register(superset, 'v2');

      expect(reg.lookup(['_', 'topic'])).toEqual([]);
      expect(reg.match(['_', 'topic'], _)).toEqual([]);
      expect(reg.countMatch(['_', 'topic'], _)).toBe(0);
      expect(reg.lookup([['b', 'b']])).toEqual([]);
      expect(reg.match([['b', 'b']], _)).toEqual([]);
      expect(reg.countMatch([['b', 'b']], _)).toBe(0);

      expect(reg.lookup(otherTopic)).toEqual([[self(), 'v1']]);
      expect(reg.match(otherTopic, _)).toEqual([[self(), 'v1']]);
      expect(reg.countMatch(superset, _)).toBe(1);
    });

    test('#74 count_match supports match patterns', () => {
      reg.register('hello', [1, 'atom', 1]);
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

    test('#75 count_match supports guard conditions', () => {
      reg.register('hello', [1, 'atom', 2]);
      expect(reg.countMatch('hello', [_, _, $1], [['>', $1, 1]])).toBe(1);
      expect(reg.countMatch('hello', [_, _, $1], [['>', $1, 2]])).toBe(0);
      expect(reg.countMatch('hello', [_, $1, _], [['is_string', $1]])).toBe(1);
    });

    test('#76 unregister_match supports patterns', () => {
      const value1 = [1, 'atom', 1];
      const value2 = [2, 'atom', 2];
      reg.register('hello', value1);
      reg.register('hello', value2);

      reg.unregisterMatch('hello', [2, _, _]);
      expect(reg.lookup('hello')).toEqual([[self(), value1]]);

      reg.register('hello', value2);
      reg.unregisterMatch('hello', ['2', _, _]);
      reg.unregisterMatch('hello', [2n, _, _]);
      // Order asserted: one process's entries come back in insertion order.
      expect(reg.lookup('hello')).toEqual([
        [self(), value1],
        [self(), value2],
      ]);
      reg.unregisterMatch('hello', [_, 'atom', _]);
      expect(reg.lookup('hello')).toEqual([]);
    });

    test('#77 unregister_match supports guards', () => {
      reg.register('hello', [1, 'atom', 1]);
      reg.register('hello', [2, 'atom', 2]);
      reg.unregisterMatch('hello', [$1, _, _], [['<', $1, 2]]);
      expect(reg.lookup('hello')).toEqual([[self(), [2, 'atom', 2]]]);
    });

    test('#78 allows listeners', async () => {
      const lreg = createRegistry({ keys, partitions, name: uniqueName('listen'), listeners: ['unique_listener'] });
      const got = collectEvents((h) => lreg.listen('unique_listener', h));
      const task = await startAgent(lreg);
      expect(await task.call('register', 'hello', 'world')).toMatchObject({ ok: true });
      await got.waitFor(1);
      expect(got.events[0]).toEqual({
        type: 'register',
        registry: lreg.name,
        key: 'hello',
        pid: task.pid,
        value: 'world',
      });

      expect(lreg.register('hello', 'value')).toMatchObject({ ok: true });
      await got.waitFor(2);
      expect(got.events[1]).toEqual({ type: 'register', registry: lreg.name, key: 'hello', pid: self(), value: 'value' });

      expect(lreg.unregister('hello')).toBeUndefined();
      await got.waitFor(3);
      expect(got.events[2]).toEqual({ type: 'unregister', registry: lreg.name, key: 'hello', pid: self() });
      // Only the caller's entries went away.
      expect(lreg.lookup('hello')).toEqual([[task.pid, 'world']]);
    });

    test('#79 links and unlinks on register/unregister (adapted: the per-pid index)', () => {
      expect(reg.register('hello', 'value')).toEqual({ ok: true, owner: expect.any(Number) });
      expect(reg.keys(self())).toEqual(['hello']);
      expect(reg.register('world', 'value')).toEqual({ ok: true, owner: expect.any(Number) });
      expect(sorted(reg.keys(self()))).toEqual(['hello', 'world']);
      reg.unregister('hello');
      expect(reg.keys(self())).toEqual(['world']);
      reg.unregister('world');
      expect(reg.keys(self())).toEqual([]);
    });

    test('#80 raises on unknown registry name (a closed registry)', () => {
      reg.close();
      expectCode(() => reg.register('hello', 'value'), kCode.unknownRegistry);
      expectCode(() => reg.lookup('hello'), kCode.unknownRegistry);
      expectCode(() => reg.count(), kCode.unknownRegistry);
    });

    test('#81 raises if attempt to be used on via', () => {
      expectCode(() => reg.whereis('hello'), kCode.unsupported);
    });

    test('#82 empty list for empty registry', () => {
      expect(reg.select([{ match: [_, _, _], guards: [], body: $_ }])).toEqual([]);
    });

    test('#83 select all', () => {
      reg.register('hello', 'value');
      reg.register('hello', 'value');
      expect(sorted(reg.select([{ match: [$1, $2, $3], guards: [], body: [$1, $2, $3] }]))).toEqual([
        ['hello', self(), 'value'],
        ['hello', self(), 'value'],
      ]);
    });

    test('#84 select supports full match specs', () => {
      const value = [1, 'atom', 1];
      reg.register('hello', value);
      const entry = ['hello', self(), value];

      expect(reg.select([{ match: ['hello', $2, $3], guards: [], body: ['hello', $2, $3] }])).toEqual([entry]);
      expect(reg.select([{ match: [$1, self(), $3], guards: [], body: [$1, self(), $3] }])).toEqual([entry]);
      expect(reg.select([{ match: [$1, $2, value], guards: [], body: [$1, $2, value] }])).toEqual([entry]);
      expect(reg.select([{ match: ['world', $2, $3], guards: [], body: ['world', $2, $3] }])).toEqual([]);
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

    test('#85 select supports guard conditions', () => {
      reg.register('hello', [1, 'atom', 2]);
      expect(
        reg.select([{ match: [$1, $2, [$3, $4, $5]], guards: [['>', $5, 1]], body: [$1, $2, [$3, $4, $5]] }]),
      ).toEqual([['hello', self(), [1, 'atom', 2]]]);
      expect(reg.select([{ match: [_, _, [_, _, $1]], guards: [['>', $1, 2]], body: $_ }])).toEqual([]);
      expect(reg.select([{ match: [$1, _, [_, $2, _]], guards: [['is_string', $2]], body: $1 }])).toEqual([
        'hello',
      ]);
    });

    test('#86 select allows multiple specs', () => {
      reg.register('hello', 'value');
      reg.register('world', 'value');
      expect(
        sorted(
          reg.select([
            { match: [$1, _, _], guards: [['=:=', $1, { const: 'hello' }]], body: $1 },
            { match: [$1, _, _], guards: [['=:=', $1, { const: 'world' }]], body: $1 },
          ]),
        ),
      ).toEqual(['hello', 'world']);
    });

    test('#87 count_select supports match specs', () => {
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

    test('#88 count_select supports guard conditions', () => {
      reg.register('hello', [1, 'atom', 2]);
      expect(reg.countSelect([{ match: [_, _, [_, $1, _]], guards: [['is_string', $1]], body: true }])).toBe(1);
      expect(reg.countSelect([{ match: [_, _, [_, _, $1]], guards: [['>', $1, 1]], body: true }])).toBe(1);
      expect(reg.countSelect([{ match: [_, _, [_, _, $1]], guards: [['>', $1, 2]], body: true }])).toBe(0);
    });

    test('#89 count_select allows multiple specs', () => {
      reg.register('hello', 'value');
      reg.register('world', 'value');
      expect(
        reg.countSelect([
          { match: ['hello', _, _], guards: [], body: true },
          { match: ['world', _, _], guards: [], body: true },
        ]),
      ).toBe(2);
    });

    test('#90 rejects invalid tuple syntax', () => {
      // keys: {:duplicate, :invalid}
      for (const bad of ['duplicate-invalid', ['duplicate', 'invalid'], 'duplicate-by-pid', undefined]) {
        expectCode(
          () => createRegistry({ keys: bad as never, partitions, name: uniqueName('invalid') }),
          kCode.invalidOption,
        );
      }
    });

    test('#91 update_value is not supported', () => {
      const fn = vi.fn((v: unknown) => v);
      expectCode(() => reg.updateValue('hello', fn), kCode.unsupported);
      reg.register('hello', 1);
      expectCode(() => reg.updateValue('hello', fn), kCode.unsupported);
      expect(fn).not.toHaveBeenCalled();
    });

    test('#92 supports reserved keys', () => {
      let k = registerReservedKeys(reg, 'match_phase');

      // The reserved key '_' holds two values.
      expect(sorted(reg.match(k.reservedKey, _))).toEqual(
        sorted([
          [self(), k.reservedValue],
          [self(), k.reservedValue2],
        ]),
      );
      expect(reg.countMatch(k.reservedKey, _)).toBe(2);
      expect(reg.match(k.goodKey, _)).toEqual([[self(), k.goodValue]]);
      expect(reg.match(k.variableTupleKey, _)).toEqual([[self(), k.variableTupleValue]]);
      expect(reg.match(k.dollarListKey, _)).toEqual([[self(), k.dollarListValue]]);
      expect(reg.match(k.mapKey, _)).toEqual([[self(), k.mapValue]]);
      expect(reg.countMatch(k.goodKey, _)).toBe(1);
      expect(reg.countMatch(k.variableTupleKey, _)).toBe(1);
      expect(reg.countMatch(k.dollarListKey, _)).toBe(1);
      expect(reg.countMatch(k.mapKey, _)).toBe(1);

      reg.unregisterMatch(k.reservedKey, k.reservedValue);
      expect(reg.lookup(k.reservedKey)).toEqual([[self(), k.reservedValue2]]);
      reg.unregisterMatch(k.reservedKey, k.reservedValue2);
      reg.unregisterMatch(k.variableTupleKey, k.variableTupleValue);
      reg.unregisterMatch(k.dollarListKey, k.dollarListValue);
      reg.unregisterMatch(k.mapKey, k.mapValue);

      expect(reg.lookup(k.goodKey)).toEqual([[self(), k.goodValue]]);
      expect(reg.lookup(k.reservedKey)).toEqual([]);
      expect(reg.lookup(k.variableTupleKey)).toEqual([]);
      expect(reg.lookup(k.dollarListKey)).toEqual([]);
      expect(reg.lookup(k.mapKey)).toEqual([]);
      expect(reg.lookup(k.mapSupersetKey)).toEqual([[self(), k.mapSupersetValue]]);

      // Patterns still apply to the values of a reserved key (upstream "match with reserved-atom keys").
      reg.unregister(k.goodKey);
      reg.unregister(k.mapSupersetKey);
      registerReservedAtomKeys(reg);
      expect(sorted(reg.match('_', [_, 'atom']))).toEqual([
        [self(), [1, 'atom']],
        [self(), [2, 'atom']],
      ]);
      expect(reg.match('_', [1, _])).toEqual([[self(), [1, 'atom']]]);
      expect(reg.match('$1', [_, 'atom'])).toEqual([[self(), [3, 'atom']]]);
      expect(reg.match('hello', _)).toEqual([[self(), 'a']]);
      expect(reg.countMatch('_', [_, 'atom'])).toBe(2);
      reg.unregister('_');
      reg.unregister('$1');
      reg.unregister('hello');

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
      expect(reg.keys(self())).toEqual([k.mapSupersetKey]);
    });

    test('#93 select with reserved-atom keys', () => {
      registerReservedAtomKeys(reg);
      // A guard matches the literal '_' key (Elixir: :_ in a match head is a wildcard).
      expect(
        sorted(reg.select([{ match: [$1, $2, $3], guards: [['=:=', $1, { const: '_' }]], body: [$2, $3] }])),
      ).toEqual([
        [self(), [1, 'atom']],
        [self(), [2, 'atom']],
      ]);
      expect(reg.select([{ match: ['hello', $1, $2], guards: [], body: [$1, $2] }])).toEqual([[self(), 'a']]);
      expect(reg.select([{ match: [$2, $3, $4], guards: [['=:=', $2, { const: '$1' }]], body: [$3, $4] }])).toEqual(
        [[self(), [3, 'atom']]],
      );
    });

    test('#94 count_select with reserved-atom keys', () => {
      registerReservedAtomKeys(reg);
      expect(reg.countSelect([{ match: [$1, _, _], guards: [['=:=', $1, { const: '_' }]], body: true }])).toBe(2);
      expect(reg.countSelect([{ match: ['hello', _, _], guards: [], body: true }])).toBe(1);
      expect(reg.countSelect([{ match: [$2, _, _], guards: [['=:=', $2, { const: '$1' }]], body: true }])).toBe(1);
    });
  },
);
