/**
 * Conformance §2.A (#1–#19): the doctests of Elixir's `Registry` (`Registry.CommonTest`,
 * `doctest Registry, except: [:moduledoc]`), adapted to JavaScript.
 *
 * Upstream each doctest starts its own registry of one kind; here every doctest runs over every key
 * kind it applies to × partitions {1, 8}. Atoms become strings, tuples arrays, `{:ok, v}` / `:error`
 * become `{ ok: true, value }` / `{ ok: false }`, and a `Task` is a worker thread (an agent).
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { $1, _, $2, $3, self } from '../../dist/src/index.js';
import type { Registry } from '../../dist/src/index.js';
import { createRegistry, kAllCases, runCleanups, sorted, startAgent, testIf, uniqueName } from './helpers.js';

afterEach(runCleanups);

describe.each(kAllCases)('Registry doctests (keys: $keys, partitions: $partitions)', ({ keys, partitions }) => {
  const unique = keys === 'unique';
  const duplicate = !unique;
  let reg: Registry;

  beforeEach(() => {
    reg = createRegistry({ keys, partitions });
  });

  testIf(unique, '#1 update_value: register 1, update to 2', () => {
    expect(reg.register('hello', 1)).toMatchObject({ ok: true });
    expect(reg.lookup('hello')).toEqual([[self(), 1]]);
    expect(reg.updateValue<number>('hello', (x) => x + 1)).toEqual({ ok: true, value: 2, previous: 1 });
    expect(reg.lookup('hello')).toEqual([[self(), 2]]);
  });

  testIf(unique, '#2 lookup, unique: [] then [self, world]; another process sees the same', async () => {
    expect(reg.lookup('hello')).toEqual([]);
    expect(reg.register('hello', 'world')).toMatchObject({ ok: true });
    expect(reg.lookup('hello')).toEqual([[self(), 'world']]);
    const task = await startAgent(reg);
    expect(await task.call('lookup', 'hello')).toEqual([[self(), 'world']]);
  });

  testIf(duplicate, '#3 lookup, duplicate: two values under one key', () => {
    expect(reg.lookup('hello')).toEqual([]);
    expect(reg.register('hello', 'world')).toMatchObject({ ok: true });
    expect(reg.register('hello', 'another')).toMatchObject({ ok: true });
    expect(sorted(reg.lookup('hello'))).toEqual([
      [self(), 'another'],
      [self(), 'world'],
    ]);
  });

  test('#4 lock: returns the function result, run in the caller', async () => {
    expect(await reg.lock('hello', () => 'ok')).toBe('ok');
    expect(await reg.lock('world', () => self())).toBe(self());
  });

  testIf(duplicate, '#5 match, duplicate: tuple patterns, variables and guards', () => {
    reg.register('hello', [1, 'atom', 1]);
    reg.register('hello', [2, 'atom', 2]);
    expect(reg.match('hello', [1, _, _])).toEqual([[self(), [1, 'atom', 1]]]);
    expect(reg.match('hello', [2, _, _])).toEqual([[self(), [2, 'atom', 2]]]);
    const both = [
      [self(), [1, 'atom', 1]],
      [self(), [2, 'atom', 2]],
    ];
    expect(sorted(reg.match('hello', [_, 'atom', _]))).toEqual(both);
    expect(sorted(reg.match('hello', [$1, _, $1]))).toEqual(both);
    expect(reg.match('hello', [_, _, $1], [['>', $1, 1]])).toEqual([[self(), [2, 'atom', 2]]]);
    // {:is_atom, :"$1"}: atoms are strings in JavaScript.
    expect(sorted(reg.match('hello', [_, $1, _], [['is_string', $1]]))).toEqual(both);
  });

  testIf(unique, '#6 keys/register, unique: second register is already_registered to self', () => {
    expect(reg.register('hello', 'world')).toMatchObject({ ok: true });
    expect(reg.register('hello', 'later')).toEqual({ ok: false, reason: 'already_registered', holder: self() });
    expect(reg.keys(self())).toEqual(['hello']);
  });

  testIf(duplicate, '#7 keys/register, duplicate: register twice gives the key twice', () => {
    expect(reg.register('hello', 'world')).toMatchObject({ ok: true });
    expect(reg.register('hello', 'world')).toMatchObject({ ok: true });
    expect(reg.keys(self())).toEqual(['hello', 'hello']);
  });

  testIf(unique, "#8 values, unique: a Task sees [] for its own pid and the parent's value", async () => {
    expect(reg.values('hello', self())).toEqual([]);
    expect(reg.register('hello', 'world')).toMatchObject({ ok: true });
    expect(reg.values('hello', self())).toEqual(['world']);
    const task = await startAgent(reg);
    expect(await task.call('values', 'hello', task.pid)).toEqual([]);
    expect(await task.call('values', 'hello', self())).toEqual(['world']);
  });

  testIf(duplicate, '#9 values, duplicate: every value of the pid under the key', () => {
    reg.register('hello', 'world');
    expect(reg.values('hello', self())).toEqual(['world']);
    reg.register('hello', 'another');
    expect(sorted(reg.values('hello', self()))).toEqual(['another', 'world']);
  });

  test('#10 unregister: keys is [] afterwards (duplicate removes both entries)', () => {
    reg.register('hello', 'world');
    if (duplicate) reg.register('hello', 'world');
    expect(reg.keys(self())).toEqual(unique ? ['hello'] : ['hello', 'hello']);
    expect(reg.unregister('hello')).toBeUndefined();
    expect(reg.keys(self())).toEqual([]);
    expect(reg.lookup('hello')).toEqual([]);
  });

  testIf(unique, '#11 unregister_match, unique: a non-matching value keeps the key', () => {
    reg.register('hello', 'world');
    expect(reg.keys(self())).toEqual(['hello']);
    expect(reg.unregisterMatch('hello', 'foo')).toBeUndefined();
    expect(reg.keys(self())).toEqual(['hello']);
    reg.unregisterMatch('hello', 'world');
    expect(reg.keys(self())).toEqual([]);
  });

  testIf(duplicate, '#12 unregister_match, duplicate: removes only matching values, order kept', () => {
    reg.register('hello', 'world_a');
    reg.register('hello', 'world_b');
    reg.register('hello', 'world_c');
    expect(reg.keys(self())).toEqual(['hello', 'hello', 'hello']);
    reg.unregisterMatch('hello', 'world_a');
    expect(reg.keys(self())).toEqual(['hello', 'hello']);
    expect(reg.lookup('hello')).toEqual([
      [self(), 'world_b'],
      [self(), 'world_c'],
    ]);
  });

  test('#13 meta: configured meta is returned; an unknown key gives { ok: false }', () => {
    const withMeta = createRegistry({
      keys,
      partitions,
      name: uniqueName('meta'),
      meta: { custom_key: 'custom_value' },
    });
    expect(withMeta.meta('custom_key')).toEqual({ ok: true, value: 'custom_value' });
    expect(withMeta.meta('unknown_key')).toEqual({ ok: false });
  });

  test('#14 put_meta: atom-like and tuple keys round-trip', () => {
    expect(reg.putMeta('custom_key', 'custom_value')).toBeUndefined();
    expect(reg.meta('custom_key')).toEqual({ ok: true, value: 'custom_value' });
    expect(reg.putMeta(['tuple', 'key'], 'tuple_value')).toBeUndefined();
    expect(reg.meta(['tuple', 'key'])).toEqual({ ok: true, value: 'tuple_value' });
  });

  test('#15 delete_meta: put, delete, then { ok: false }', () => {
    reg.putMeta('custom_key', 'custom_value');
    expect(reg.meta('custom_key')).toMatchObject({ ok: true });
    expect(reg.deleteMeta('custom_key')).toBeUndefined();
    expect(reg.meta('custom_key')).toEqual({ ok: false });
  });

  test('#16 count: 0, then one per registration', () => {
    expect(reg.count()).toBe(0);
    if (unique) {
      reg.register('hello', 'world');
      reg.register('world', 'world');
    } else {
      reg.register('hello', 'world');
      reg.register('hello', 'world');
    }
    expect(reg.count()).toBe(2);
  });

  testIf(duplicate, '#17 count_match, duplicate: the six patterns of #5 give 1, 1, 2, 2, 1, 2', () => {
    reg.register('hello', [1, 'atom', 1]);
    reg.register('hello', [2, 'atom', 2]);
    expect(reg.countMatch('hello', [1, _, _])).toBe(1);
    expect(reg.countMatch('hello', [2, _, _])).toBe(1);
    expect(reg.countMatch('hello', [_, 'atom', _])).toBe(2);
    expect(reg.countMatch('hello', [$1, _, $1])).toBe(2);
    expect(reg.countMatch('hello', [_, _, $1], [['>', $1, 1]])).toBe(1);
    expect(reg.countMatch('hello', [_, $1, _], [['is_string', $1]])).toBe(2);
  });

  test('#18 select: whole entries and keys only', () => {
    reg.register('hello', 'value');
    reg.register('world', 'value');
    expect(sorted(reg.select([{ match: [$1, $2, $3], guards: [], body: [$1, $2, $3] }]))).toEqual([
      ['hello', self(), 'value'],
      ['world', self(), 'value'],
    ]);
    expect(sorted(reg.select([{ match: [$1, _, _], guards: [], body: $1 }]))).toEqual(['hello', 'world']);
  });

  test('#19 count_select: entries whose value is "value"', () => {
    reg.register('hello', 'value');
    reg.register('world', 'value');
    expect(reg.countSelect([{ match: [_, _, 'value'], guards: [], body: true }])).toBe(2);
  });
});
