import { describe, it, expect } from 'vitest';
import {
  _, $1, $2, $3, $4, $_, $$, v, Var, compileValueMatcher, compileMatchSpec, deepEqual,
} from '../dist/src/registry/pattern.js';
import type { Guard, MatchSpec } from '../dist/src/registry/pattern.js';
import { InvalidMatchSpecError, RosterError } from '../dist/src/errors.js';

const kCode = 'ROSTER_ERR_MATCH_SPEC';

/** match(key, pattern, guards) over a list of values, as the registry does per entry. */
function matchAll(values: readonly unknown[], pattern: unknown, guards?: readonly Guard[]): unknown[] {
  const m = compileValueMatcher(pattern, guards);
  return values.filter((x) => m(x));
}

/** select over [key, pid, value] entries. */
function select(entries: readonly (readonly [unknown, unknown, unknown])[], spec: unknown): unknown[] {
  const c = compileMatchSpec(spec, 'select');
  const out: unknown[] = [];
  for (const [k, p, x] of entries) {
    const r = c.apply(k, p, x);
    if (r.matched) out.push(r.result);
  }
  return out;
}

function countSelect(entries: readonly (readonly [unknown, unknown, unknown])[], spec: unknown): number {
  const c = compileMatchSpec(spec, 'countSelect');
  return entries.filter(([k, p, x]) => c.test(k, p, x)).length;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidMatchSpecError);
    expect(err).toBeInstanceOf(RosterError);
    return (err as RosterError).code;
  }
  return undefined;
}

describe('markers', () => {
  it('are frozen and recognised by their Symbol.for tag, not identity', () => {
    expect(Object.isFrozen(_)).toBe(true);
    expect(Object.isFrozen($_)).toBe(true);
    expect(Object.isFrozen($$)).toBe(true);
    expect(Object.isFrozen($1)).toBe(true);
    // A wildcard from a duplicated copy of the module.
    const foreignAny = Object.freeze({ [Symbol.for('roster.pattern')]: 'any' });
    expect(matchAll([1, 'x', [1]], foreignAny)).toEqual([1, 'x', [1]]);
    const foreignVar = Object.freeze({ [Symbol.for('roster.pattern')]: 'var', name: '$1' });
    expect(matchAll([[1, 1], [1, 2]], [foreignVar, $1])).toEqual([[1, 1]]);
  });

  it('Var names', () => {
    expect($1).toBeInstanceOf(Var);
    expect($1.name).toBe('$1');
    expect(v('pid').name).toBe('pid');
    expect(String(v('x'))).toBe('x');
    expect(codeOf(() => v(''))).toBe(kCode);
    expect(codeOf(() => v('$_'))).toBe(kCode);
    expect(codeOf(() => v('$$'))).toBe(kCode);
    expect(codeOf(() => new Var(3 as unknown as string))).toBe(kCode);
  });
});

describe('value patterns (conformance 5, 17, 32, 33, 35-38, 71-77)', () => {
  const values = [[1, 'atom', 1], [2, 'atom', 2]];

  it('#5/#17/#71/#74: tuples, wildcards, repeated vars, guards', () => {
    expect(matchAll(values, [1, _, _])).toEqual([[1, 'atom', 1]]);
    expect(matchAll(values, [2, _, _])).toEqual([[2, 'atom', 2]]);
    expect(matchAll(values, [_, 'atom', _])).toEqual(values);
    expect(matchAll(values, [$1, _, $1])).toEqual(values);
    expect(matchAll(values, [_, _, $1], [['>', $1, 1]])).toEqual([[2, 'atom', 2]]);
    expect(matchAll(values, [_, $1, _], [['is_string', $1]])).toEqual(values);
    // 1 vs 1.0 is the same in JS; 1n vs 1 is the typed difference that remains.
    expect(matchAll(values, [1n, _, _])).toEqual([]);
    expect(matchAll(values, [2.0, _, _])).toEqual([[2, 'atom', 2]]);
  });

  it('#32/#35: whole-value wildcard, vars, literal mismatch, partial objects', () => {
    expect(matchAll(values, _)).toEqual(values);
    expect(matchAll(values, $1)).toEqual(values);
    expect(matchAll(values, ['1', _, _])).toEqual([]);
    expect(matchAll([{ a: 'a', b: 'b' }], { b: 'b' })).toEqual([{ a: 'a', b: 'b' }]);
    expect(matchAll([{ a: 'a', b: 'b' }], { b: 'c' })).toEqual([]);
    expect(matchAll([{ a: 'a' }], { b: _ })).toEqual([]);
  });

  it('#33/#36/#72/#75: guards', () => {
    const third = [_, _, $1];
    expect(matchAll([[1, 'atom', 1]], third, [['>', $1, 1]])).toEqual([]);
    expect(matchAll([[2, 'atom', 2]], third, [['>', $1, 1]]).length).toBe(1);
    expect(matchAll([[2, 'atom', 2]], third, [['>', $1, 2]]).length).toBe(0);
    expect(matchAll(values, [$1, _, _], [['<', $1, 2]])).toEqual([[1, 'atom', 1]]);
    expect(matchAll(values, [$1, _, _], [['>', $1, 3]])).toEqual([]);
    expect(matchAll(values, [$1, _, _], [['<', $1, 3]])).toEqual(values);
  });

  it('#37/#38/#76/#77: the matcher drives unregisterMatch', () => {
    const keep = (pattern: unknown, guards?: Guard[]): unknown[] => {
      const m = compileValueMatcher(pattern, guards, 'unregisterMatch');
      return values.filter((x) => !m(x));
    };
    expect(keep([2, _, _])).toEqual([[1, 'atom', 1]]);
    expect(keep([2n, _, _])).toEqual(values);
    expect(keep([_, 'atom', _])).toEqual([]);
    expect(keep([$1, _, _], [['<', $1, 2]])).toEqual([[2, 'atom', 2]]);
  });

  it('arrays match same-length arrays only', () => {
    expect(matchAll([[1], [1, 2], [1, 2, 3], 'ab', { 0: 1, 1: 2, length: 2 }], [_, _])).toEqual([[1, 2]]);
    expect(matchAll([[], [1]], [])).toEqual([[]]);
    expect(matchAll([[1, [2, [3, 4]]]], [1, [$1, [_, $2]]], [['<', $1, $2]])).toEqual([[1, [2, [3, 4]]]]);
  });

  it('plain objects match partially and nested, only plain objects', () => {
    const val = { user: { name: 'ann', roles: ['a', 'b'] }, n: 3 };
    expect(matchAll([val], { user: { name: 'ann' } })).toEqual([val]);
    expect(matchAll([val], { user: { roles: [_, 'b'] }, n: $1 }, [['===', $1, 3]])).toEqual([val]);
    expect(matchAll([val], { user: { name: 'bob' } })).toEqual([]);
    expect(matchAll([val], {})).toEqual([val]);
    expect(matchAll([[1], null, new Map(), 'x'], {})).toEqual([]);
    expect(matchAll([Object.assign(Object.create(null) as object, { a: 1 })], { a: 1 }).length).toBe(1);
    expect(matchAll([{ a: undefined }, {}], { a: undefined })).toEqual([{ a: undefined }]);
  });

  it('literals compare exactly by type; -0 is 0 and NaN is NaN', () => {
    expect(matchAll([1, '1', 1n, true], 1)).toEqual([1]);
    expect(matchAll([1, '1', 1n, true], '1')).toEqual(['1']);
    expect(matchAll([1, '1', 1n, true], 1n)).toEqual([1n]);
    expect(matchAll([1, '1', 1n, true, 'true'], true)).toEqual([true]);
    expect(matchAll([0, -0, '0'], -0)).toEqual([0, -0]);
    expect(matchAll([0, -0], 0)).toEqual([0, -0]);
    expect(matchAll([NaN, 'NaN', 0], NaN)).toEqual([NaN]);
    expect(matchAll([null, undefined, 0, ''], null)).toEqual([null]);
    expect(matchAll([null, undefined, 0, ''], undefined)).toEqual([undefined]);
    expect(matchAll(['\uD800', '\uFFFD'], '\uD800')).toEqual(['\uD800']);
  });

  it('Uint8Array patterns match by content', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const vals = [new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]), [1, 2, 3], Buffer.from([1, 2, 3])];
    expect(matchAll(vals, bytes)).toEqual([vals[0], vals[3]]);
    expect(matchAll([[new Uint8Array([9]), 1]], [new Uint8Array([9]), $1])).toHaveLength(1);
  });

  it('other literal objects compare with deepEqual', () => {
    expect(matchAll([new Date(5), new Date(6)], new Date(5))).toEqual([new Date(5)]);
    expect(matchAll([new Map([[1, 'a']])], new Map([[1, 'a']]))).toHaveLength(1);
  });

  it('repeated vars bind deep-equal values, exactly typed', () => {
    const p = [$1, $1];
    expect(matchAll([[[1, 2], [1, 2]], [{ a: 1 }, { a: 1 }], [{ a: 1 }, { a: 1, b: 2 }]], p)).toEqual([
      [[1, 2], [1, 2]],
      [{ a: 1 }, { a: 1 }],
    ]);
    expect(matchAll([[1, '1'], [1n, 1], [NaN, NaN], [-0, 0]], p)).toEqual([[NaN, NaN], [-0, 0]]);
    expect(matchAll([[new Uint8Array([1]), new Uint8Array([1])], [new Uint8Array([1]), new Uint8Array([2])]], p)).toHaveLength(1);
    expect(matchAll([{ a: [1, 2], b: [1, 2] }, { a: [1, 2], b: [2, 1] }], { a: $1, b: $1 })).toEqual([{ a: [1, 2], b: [1, 2] }]);
    expect(matchAll([[1, 2, 1, 2], [1, 2, 1, 3]], [$1, $2, $1, $2])).toEqual([[1, 2, 1, 2]]);
  });

  it('bindings start empty for each value', () => {
    const m = compileValueMatcher([$1, $1]);
    expect(m([1, 1])).toBe(true);
    expect(m([2, 2])).toBe(true);
    expect(m([1, 2])).toBe(false);
    expect(m([3, 3])).toBe(true);
  });
});

describe('guards', () => {
  const g = (guard: Guard, value: unknown, pattern: unknown = $1): boolean => compileValueMatcher(pattern, [guard])(value);

  it('comparisons on same-typed operands; mismatched types are false', () => {
    expect(g(['>', $1, 1], 2)).toBe(true);
    expect(g(['>', $1, 1], 1)).toBe(false);
    expect(g(['>=', $1, 1], 1)).toBe(true);
    expect(g(['<', $1, 1], 0)).toBe(true);
    expect(g(['<=', $1, 1], 2)).toBe(false);
    expect(g(['<', $1, 'b'], 'a')).toBe(true);
    expect(g(['>', $1, 1n], 2n)).toBe(true);
    expect(g(['>', $1, false], true)).toBe(true);
    expect(g(['>', $1, 1], '2')).toBe(false);
    expect(g(['<=', $1, 1], '0')).toBe(false);
    expect(g(['>', $1, 1], 2n)).toBe(false);
    expect(g(['>', $1, 1], [2])).toBe(false);
    expect(g(['<', $1, 1], null)).toBe(false);
    expect(g(['not', ['<', $1, 1]], 'x')).toBe(false); // a failing sub-expression fails the guard
  });

  it('=== / =:= and !== / =/= are exact structural comparisons', () => {
    expect(g(['===', $1, 1], 1)).toBe(true);
    expect(g(['===', $1, '1'], 1)).toBe(false);
    expect(g(['=:=', $1, 'x'], 'x')).toBe(true);
    expect(g(['!==', $1, '1'], 1)).toBe(true);
    expect(g(['=/=', $1, 1], 1)).toBe(false);
    expect(g(['===', $1, { const: [1, { a: 2 }] }], [1, { a: 2 }])).toBe(true);
    expect(g(['===', $1, { const: [1, { a: 2 }] }], [1, { a: 2, b: 3 }])).toBe(false);
    expect(g(['===', $1, { a: 2 }], { a: 2 })).toBe(true); // a plain object argument is a literal
    expect(g(['===', $1, -0], 0)).toBe(true);
    expect(g(['===', $1, NaN], NaN)).toBe(true);
  });

  it('and / or / not need booleans and short-circuit', () => {
    expect(g(['and', ['>', $1, 1], ['<', $1, 5]], 3)).toBe(true);
    expect(g(['and', ['>', $1, 1], ['<', $1, 5]], 7)).toBe(false);
    expect(g(['and', true], 1)).toBe(true);
    expect(g(['and', true, true, false], 1)).toBe(false);
    expect(g(['or', ['<', $1, 1], ['>', $1, 5]], 7)).toBe(true);
    expect(g(['or', ['<', $1, 1], ['>', $1, 5]], 3)).toBe(false);
    expect(g(['not', ['===', $1, 1]], 2)).toBe(true);
    expect(g(['not', $1], false)).toBe(true);
    expect(g(['not', $1], 0)).toBe(false);
    expect(g(['and', $1, true], 1)).toBe(false);
    expect(g(['or', true, 'not a boolean'], 1)).toBe(true);
    expect(g(['and', false, 'not a boolean'], 1)).toBe(false);
  });

  it('type tests', () => {
    const types = [1, NaN, 'a', true, 1n, [1], { a: 1 }, null, undefined, new Uint8Array(1)];
    const which = (op: string): unknown[] => types.filter((x) => g([op as 'is_nil', $1], x));
    expect(which('is_number')).toEqual([1, NaN]);
    expect(which('is_string')).toEqual(['a']);
    expect(which('is_boolean')).toEqual([true]);
    expect(which('is_bigint')).toEqual([1n]);
    expect(which('is_array')).toEqual([[1]]);
    expect(which('is_object')).toEqual([{ a: 1 }]);
    expect(which('is_nil')).toEqual([null, undefined]);
  });

  it('arithmetic on two numbers or two bigints', () => {
    expect(g(['===', ['+', $1, 1], 3], 2)).toBe(true);
    expect(g(['===', ['-', $1, 1], 1], 2)).toBe(true);
    expect(g(['===', ['*', $1, 3], 6], 2)).toBe(true);
    expect(g(['===', ['/', $1, 4], 0.5], 2)).toBe(true);
    expect(g(['===', ['+', $1, 1n], 3n], 2n)).toBe(true);
    expect(g(['===', ['/', $1, 2n], 3n], 7n)).toBe(true);
    expect(g(['===', ['-', $1], -2], 2)).toBe(true);
    expect(g(['===', ['+', $1], 2], 2)).toBe(true);
    expect(g(['>', ['+', $1, 1], 0], '1')).toBe(false); // no string concatenation
    expect(g(['>', ['+', $1, 1], 0], 1n)).toBe(false); // no mixing
    expect(g(['>', ['-', $1], -5], 'x')).toBe(false);
    expect(g(['>', ['/', 1, $1], 0], 0)).toBe(false); // division by zero fails
    expect(g(['>', ['/', 1n, $1], 0n], 0n)).toBe(false);
  });

  it('element is 1-based (Erlang element/2)', () => {
    expect(g(['===', ['element', 1, $1], 'a'], ['a', 'b'])).toBe(true);
    expect(g(['===', ['element', 2, $1], 'b'], ['a', 'b'])).toBe(true);
    expect(g(['is_nil', ['element', 3, $1]], ['a', 'b'])).toBe(false); // out of range fails
    expect(g(['is_nil', ['element', 0, $1]], ['a', 'b'])).toBe(false);
    expect(g(['is_nil', ['element', 1.5, $1]], ['a', 'b'])).toBe(false);
    expect(g(['is_nil', ['element', 1, $1]], 'ab')).toBe(false);
  });

  it('const wrapper, $_ and $$ in guards', () => {
    expect(g(['===', $1, { const: [1, 2] }], [1, 2])).toBe(true);
    expect(g(['===', { const: { const: 1 } }, $1], { const: 1 })).toBe(true);
    expect(g(['===', $_, { const: [1, 2] }], [1, 2], [_, _])).toBe(true); // $_ is the value in match
    expect(g(['===', $$, { const: [1, 2] }], [2, 1], [$2, $1])).toBe(true);
  });

  it('an unbound var makes the guard false', () => {
    expect(g(['is_nil', $2], 1)).toBe(false);
    expect(g(['not', ['is_nil', $2]], 1)).toBe(false);
  });

  it('top-level guards hold only when exactly true; all guards must hold', () => {
    expect(g(['+', $1, 1], 1)).toBe(false);
    const m = compileValueMatcher([$1, $2], [['>', $1, 0], ['>', $2, 0]]);
    expect(m([1, 1])).toBe(true);
    expect(m([1, 0])).toBe(false);
    expect(m([0, 1])).toBe(false);
    expect(compileValueMatcher($1, [])(1)).toBe(true);
  });

  it('function guards receive the bindings record; throwing is false', () => {
    const seen: unknown[] = [];
    const m = compileValueMatcher({ a: $2, b: v('name'), c: $1 }, [(b) => (seen.push({ ...b }), true)]);
    expect(m({ a: 1, b: 'n', c: [3] })).toBe(true);
    expect(seen).toEqual([{ $1: [3], $2: 1, name: 'n' }]);
    expect(Object.keys(seen[0] as object)).toEqual(['$1', '$2', 'name']);
    expect(compileValueMatcher($1, [(b) => (b['$1'] as number) > 1])(2)).toBe(true);
    expect(compileValueMatcher($1, [(b) => (b['$1'] as number) > 1])(1)).toBe(false);
    expect(compileValueMatcher($1, [() => { throw new Error('boom'); }])(1)).toBe(false);
    expect(compileValueMatcher($1, [(b) => ['$1', 'x'].every((n) => n in b) || Object.keys(b).length === 1])(1)).toBe(true);
  });
});

describe('select (conformance 18, 19, 49-58, 83-89, 93, 94)', () => {
  const pid = 42;
  const other = 43;
  const entries = [
    ['hello', pid, 'value'],
    ['world', pid, 'value'],
  ] as const;

  it('#18: full-entry body and key-only body', () => {
    expect(select(entries, [{ match: [$1, $2, $3], guards: [], body: [[$1, $2, $3]] }])).toEqual([
      [['hello', pid, 'value']],
      [['world', pid, 'value']],
    ]);
    expect(select(entries, [{ match: [$1, $2, $3], body: [$1, $2, $3] }])).toEqual([
      ['hello', pid, 'value'],
      ['world', pid, 'value'],
    ]);
    expect(select(entries, [{ match: [$1, _, _], body: $1 }])).toEqual(['hello', 'world']);
  });

  it('#19/#55: count_select', () => {
    expect(countSelect(entries, [{ match: [_, _, 'value'], body: true }])).toBe(2);
    expect(countSelect(entries, [{ match: ['hello', _, null] }])).toBe(0);
    expect(countSelect([], [{ match: [_, _, _] }])).toBe(0);
  });

  it('#49/#50/#83: default body is $_, identical entries come back twice', () => {
    expect(select([], [{ match: [_, _, _], body: $_ }])).toEqual([]);
    expect(select(entries, [{ match: [_, _, _] }])).toEqual([
      ['hello', pid, 'value'],
      ['world', pid, 'value'],
    ]);
    const twice = [['k', pid, 1], ['k', pid, 1]] as const;
    expect(select(twice, [{ match: [_, _, _], body: $_ }])).toEqual([['k', pid, 1], ['k', pid, 1]]);
  });

  it('#51/#84: literal key, pid, value, nested and repeated vars, map sub-patterns', () => {
    const es = [
      ['hello', pid, ['data', { a: 1, b: 2 }]],
      ['world', other, ['data', { a: 3 }]],
      [[1, 1], pid, 'same'],
      [[1, 2], pid, 'same'],
    ] as const;
    expect(select(es, [{ match: ['hello', _, _], body: $_ }])).toHaveLength(1);
    expect(select(es, [{ match: [$1, other, _], body: $1 }])).toEqual(['world']);
    expect(select(es, [{ match: [$1, _, 'same'], body: [[$1]] }])).toEqual([[[[1, 1]]], [[[1, 2]]]]);
    expect(select(es, [{ match: ['missing', _, _] }])).toEqual([]);
    expect(select(es, [{ match: [[$1, $1], _, _], body: $1 }])).toEqual([1]);
    expect(select(es, [{ match: [$1, _, [_, { a: $2 }]], body: { key: $1, a: $2 } }])).toEqual([
      { key: 'hello', a: 1 },
      { key: 'world', a: 3 },
    ]);
    expect(select(es, [{ match: [$1, _, [_, { b: _ }]], body: $1 }])).toEqual(['hello']);
    expect(select([[1, pid, 'x']], [{ match: [1n, _, _] }])).toEqual([]); // 1.0 vs 1 in Elixir
  });

  it('#52/#56/#85/#88: guards', () => {
    const es = [['hello', pid, 1], ['world', other, 2]] as const;
    expect(select(es, [{ match: [$1, _, $2], guards: [['>', $2, 1]], body: $1 }])).toEqual(['world']);
    expect(countSelect(es, [{ match: [_, $1, _], guards: [['===', $1, pid]] }])).toBe(1);
    expect(countSelect(es, [{ match: [_, _, $1], guards: [['is_number', $1]] }])).toBe(2);
    expect(countSelect(es, [{ match: [_, _, $1], guards: [['>', $1, 5]] }])).toBe(0);
  });

  it('#53/#57/#86/#89: multiple clauses, first match wins', () => {
    const es = [['hello', pid, 1], ['world', pid, 2], ['other', pid, 3]] as const;
    const spec: MatchSpec = [
      { match: [$1, _, _], guards: [['=:=', $1, { const: 'hello' }]], body: (_b, e) => e[0] },
      { match: [$1, _, _], guards: [['=:=', $1, { const: 'world' }]], body: $1 },
    ];
    expect(select(es, spec)).toEqual(['hello', 'world']);
    expect(countSelect(es, spec)).toBe(2);
    const overlap = [
      { match: [_, _, $1], guards: [['>', $1, 1]], body: 'big' },
      { match: [_, _, _], body: 'any' },
    ];
    expect(select(es, overlap)).toEqual(['any', 'big', 'big']);
    expect(countSelect(es, overlap)).toBe(3);
  });

  it('#93/#94: reserved-looking keys are literal data', () => {
    const es = [['_', pid, 1], ['$1', pid, 2], [['$$', 'l'], pid, 3]] as const;
    expect(select(es, [{ match: [$1, _, $2], guards: [['=:=', $1, { const: '_' }]], body: $2 }])).toEqual([1]);
    expect(select(es, [{ match: ['$1', _, $2], body: $2 }])).toEqual([2]);
    expect(countSelect(es, [{ match: [['$$', _], _, _] }])).toBe(1);
    expect(countSelect(es, [{ match: [$1, _, _], guards: [['is_string', $1]] }])).toBe(2);
  });

  it('body templates: $_, $$, nesting, const, objects; containers are fresh per result', () => {
    const e = [['k', pid, { x: 1 }]] as const;
    expect(select(e, [{ match: [$2, $1, _], body: $$ }])).toEqual([[pid, 'k']]);
    expect(select(e, [{ match: [v('key'), v('$10'), $2], body: $$ }])).toEqual([[{ x: 1 }, pid, 'k']]);
    expect(select(e, [{ match: [$1, _, { x: $2 }], body: { k: $1, all: [$_, $$], lit: 'x', c: { const: $1 } } }])).toEqual([
      { k: 'k', all: [['k', pid, { x: 1 }], ['k', 1]], lit: 'x', c: $1 },
    ]);
    expect(select(e, [{ match: [_, _, _], body: 7 }])).toEqual([7]);
    const spec = [{ match: [$1, _, _], body: [$1, { a: [] }] }];
    const c = compileMatchSpec(spec, 'select');
    const r1 = c.apply('k', pid, 1).result as unknown[];
    const r2 = c.apply('k', pid, 1).result as unknown[];
    expect(r1).toEqual(r2);
    expect(r1).not.toBe(r2);
    expect(r1[1]).not.toBe(r2[1]);
    const proto = select(e, [{ match: [$1, _, _], body: JSON.parse('{"__proto__": 1}') as unknown }]);
    expect(Object.getPrototypeOf(proto[0])).toBe(Object.prototype);
    expect(Object.keys(proto[0] as object)).toEqual(['__proto__']);
  });

  it('function bodies receive bindings and the entry', () => {
    const calls: unknown[] = [];
    const out = select([['k', pid, 5]], [
      { match: [$1, _, $2], body: (b: Record<string, unknown>, entry: readonly unknown[]) => (calls.push([{ ...b }, entry]), 'r') },
    ]);
    expect(out).toEqual(['r']);
    expect(calls).toEqual([[{ $1: 'k', $2: 5 }, ['k', pid, 5]]]);
    expect(() => select([['k', pid, 5]], [{ match: [_, _, _], body: () => { throw new TypeError('x'); } }])).toThrow(TypeError);
  });

  it('$$ orders $<n> names numerically, then other names by code unit', () => {
    const names = ['b', '$10', 'a', '$2', '$1', 'B'];
    const c = compileMatchSpec([{ match: [names.map((n) => v(n)), _, _], body: $$ }], 'select');
    expect(c.apply(['vb', 'v10', 'va', 'v2', 'v1', 'vB'], 1, 1).result).toEqual(['v1', 'v2', 'v10', 'vB', 'va', 'vb']);
  });

  it('test() and apply() agree and do not run bodies for test', () => {
    let ran = 0;
    const c = compileMatchSpec([{ match: [_, _, $1], guards: [['>', $1, 1]], body: () => ++ran }], 'select');
    expect(c.test('k', 1, 2)).toBe(true);
    expect(c.test('k', 1, 1)).toBe(false);
    expect(ran).toBe(0);
    expect(c.apply('k', 1, 2)).toEqual({ matched: true, result: 1 });
    expect(c.apply('k', 1, 1)).toEqual({ matched: false });
    expect(c.apply('k', 1, 1).result).toBeUndefined();
  });

  it('an empty spec matches nothing', () => {
    expect(select(entries, [])).toEqual([]);
    expect(countSelect(entries, [])).toBe(0);
  });
});

describe('invalid specifications throw ROSTER_ERR_MATCH_SPEC at compile time', () => {
  const bad: [string, unknown][] = [
    ['not an array', { match: [_, _, _] }],
    ['null', null],
    ['clause not an object', [[[_, _, _], [], []]]],
    ['#54/#58: head not 3 elements', [{ match: _, guards: [], body: [] }]],
    ['head of 2', [{ match: [_, _] }]],
    ['head of 4', [{ match: [_, _, _, _] }]],
    ['no head', [{ body: $_ }]],
    ['guards not an array', [{ match: [_, _, _], guards: ['>', $1, 1] }]],
    ['guard not array/function', [{ match: [$1, _, _], guards: [true] }]],
    ['guard is a var', [{ match: [$1, _, _], guards: [$1] }]],
    ['unknown op', [{ match: [$1, _, _], guards: [['~=', $1, 1]] }]],
    ['op not a string', [{ match: [$1, _, _], guards: [[$1, 1]] }]],
    ['empty guard', [{ match: [$1, _, _], guards: [[]] }]],
    ['nested unknown op', [{ match: [$1, _, _], guards: [['===', $1, [1, 2]]] }]],
    ['arity >', [{ match: [$1, _, _], guards: [['>', $1]] }]],
    ['arity not', [{ match: [$1, _, _], guards: [['not', $1, $1]] }]],
    ['arity and', [{ match: [$1, _, _], guards: [['and']] }]],
    ['arity element', [{ match: [$1, _, _], guards: [['element', 1]] }]],
    ['arity is_nil', [{ match: [$1, _, _], guards: [['is_nil']] }]],
    ['arity -', [{ match: [$1, _, _], guards: [['-', 1, 2, 3]] }]],
    ['_ in guard', [{ match: [$1, _, _], guards: [['===', $1, _]] }]],
    ['function inside guard', [{ match: [$1, _, _], guards: [['===', $1, () => 1]] }]],
    ['$_ in pattern', [{ match: [$_, _, _] }]],
    ['$$ in pattern', [{ match: [_, _, [$$]] }]],
    ['function in pattern', [{ match: [_, _, () => 1] }]],
    ['symbol in pattern', [{ match: [_, _, { a: Symbol('x') }] }]],
    ['unknown marker', [{ match: [_, _, { [Symbol.for('roster.pattern')]: 'bogus' }] }]],
    ['unbound var in body', [{ match: [$1, _, _], body: [$1, $2] }]],
    ['_ in body', [{ match: [$1, _, _], body: _ }]],
  ];
  for (const [name, spec] of bad) {
    it(name, () => {
      expect(codeOf(() => compileMatchSpec(spec, 'select'))).toBe(kCode);
    });
  }

  it('count_select validates heads and guards but ignores bodies', () => {
    expect(codeOf(() => compileMatchSpec([{ match: [_, _] }], 'countSelect'))).toBe(kCode);
    expect(codeOf(() => compileMatchSpec([{ match: [$1, _, _], guards: [['nope', $1]] }], 'countSelect'))).toBe(kCode);
    expect(() => compileMatchSpec([{ match: [_, _, _], body: [$4] }], 'countSelect')).not.toThrow();
  });

  it('cyclic patterns and bodies', () => {
    const cyc: unknown[] = [1];
    cyc.push(cyc);
    expect(codeOf(() => compileValueMatcher(cyc))).toBe(kCode);
    expect(codeOf(() => compileMatchSpec([{ match: [_, _, _], body: cyc }], 'select'))).toBe(kCode);
  });

  it('value matchers validate pattern and guards eagerly', () => {
    expect(codeOf(() => compileValueMatcher([_, $_]))).toBe(kCode);
    expect(codeOf(() => compileValueMatcher($1, [['bogus', $1]] as unknown as Guard[]))).toBe(kCode);
    expect(codeOf(() => compileValueMatcher($1, 'x' as unknown as Guard[]))).toBe(kCode);
    expect(codeOf(() => compileValueMatcher($1, [5 as unknown as Guard]))).toBe(kCode);
    expect(codeOf(() => compileValueMatcher({ f: Math.max }))).toBe(kCode);
    expect(codeOf(() => compileValueMatcher($1, [['>', $1]] as unknown as Guard[], 'countMatch'))).toBe(kCode);
  });

  it('the message names the function', () => {
    const msg = (fn: () => unknown): string => {
      try {
        fn();
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    expect(msg(() => compileMatchSpec([{ match: _ }], 'select'))).toContain('select');
    expect(msg(() => compileMatchSpec([{ match: _ }], 'countSelect'))).toContain('countSelect');
  });
});

describe('deepEqual', () => {
  it('primitives: exact types, -0 is 0, NaN is NaN', () => {
    expect(deepEqual(1, 1)).toBe(true);
    expect(deepEqual('1', 1)).toBe(false);
    expect(deepEqual(1n, 1)).toBe(false);
    expect(deepEqual(10n ** 30n, 10n ** 30n)).toBe(true);
    expect(deepEqual(-0, 0)).toBe(true);
    expect(deepEqual(NaN, NaN)).toBe(true);
    expect(deepEqual(NaN, 'NaN')).toBe(false);
    expect(deepEqual(null, undefined)).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
    expect(deepEqual('\uD800', '\uFFFD')).toBe(false);
  });

  it('arrays, plain objects, typed arrays and buffers', () => {
    expect(deepEqual([1, [2, 'x']], [1, [2, 'x']])).toBe(true);
    expect(deepEqual([1, 2], [1, 2, 3])).toBe(false);
    expect(deepEqual([1], { 0: 1 })).toBe(false);
    expect(deepEqual({ a: 1, b: [2] }, { b: [2], a: 1 })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(deepEqual({ a: undefined }, { b: undefined })).toBe(false);
    expect(deepEqual(Object.assign(Object.create(null) as object, { a: 1 }), { a: 1 })).toBe(true);
    expect(deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(deepEqual(new Uint8Array([1, 2]), Buffer.from([1, 2]))).toBe(true);
    expect(deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(deepEqual(new Uint8Array([1, 2]), [1, 2])).toBe(false);
    expect(deepEqual(new Uint8Array([1, 0]), new Uint16Array([1]))).toBe(false);
    expect(deepEqual(new Uint8Array([9, 1, 2]).subarray(1), new Uint8Array([1, 2]))).toBe(true);
    expect(deepEqual(new Uint8Array([1, 2]).buffer, new Uint8Array([1, 2]).buffer)).toBe(true);
    expect(deepEqual(new Float64Array([1.5]), new Float64Array([1.5]))).toBe(true);
  });

  it('structured-clonable classes', () => {
    expect(deepEqual(new Date(1), new Date(1))).toBe(true);
    expect(deepEqual(new Date(1), new Date(2))).toBe(false);
    expect(deepEqual(new Date(NaN), new Date(NaN))).toBe(true);
    expect(deepEqual(new Date(1), { })).toBe(false);
    expect(deepEqual(/a/g, /a/g)).toBe(true);
    expect(deepEqual(/a/g, /a/i)).toBe(false);
    expect(deepEqual(new Map([[1, { a: 1 }]]), new Map([[1, { a: 1 }]]))).toBe(true);
    expect(deepEqual(new Map([[[1], 'x']]), new Map([[[1], 'x']]))).toBe(true);
    expect(deepEqual(new Map([[1, 'x']]), new Map([[1, 'y']]))).toBe(false);
    expect(deepEqual(new Set([1, [2]]), new Set([1, [2]]))).toBe(true);
    expect(deepEqual(new Set([1, 2]), new Set([1, 3]))).toBe(false);
    expect(deepEqual(new Error('x'), new Error('x'))).toBe(true);
    expect(deepEqual(new Error('x'), new TypeError('x'))).toBe(false);
    expect(deepEqual(Object(1n) as object, Object(1n) as object)).toBe(true);
    expect(deepEqual(Object('a') as object, Object('b') as object)).toBe(false);
    class P { constructor(readonly x: number) {} }
    expect(deepEqual(new P(1), new P(1))).toBe(false);
    const p = new P(1);
    expect(deepEqual(p, p)).toBe(true);
  });

  it('structured clones of a value equal it', () => {
    const val = { a: [1, 'x', { b: new Uint8Array([1]) }], m: new Map([['k', [1n]]]), d: new Date(3), n: NaN };
    expect(deepEqual(val, structuredClone(val))).toBe(true);
  });

  it('cyclic values terminate', () => {
    const a: Record<string, unknown> = { x: 1 };
    a['self'] = a;
    const b: Record<string, unknown> = { x: 1 };
    b['self'] = b;
    expect(deepEqual(a, b)).toBe(true);
    expect(deepEqual(a, structuredClone(a))).toBe(true);
    const c: Record<string, unknown> = { x: 2 };
    c['self'] = c;
    expect(deepEqual(a, c)).toBe(false);
    expect(compileValueMatcher([$1, $1])([a, b])).toBe(true);
  });
});
