/**
 * Match patterns, guards and match specifications: the JavaScript form of the patterns Elixir's
 * `Registry.match/4` takes and of the ETS match specs `select/2` takes.
 *
 * - Pattern: `_` matches anything; a `Var` (`$1`..`$9`, `v('x')`) matches anything and binds it,
 *   and a repeated Var must bind a deep-equal value. Arrays match same-length arrays element by
 *   element (tuples). Plain objects match partially (Elixir map patterns: every pattern property
 *   must exist and match, extra properties are allowed). Anything else is a literal compared with
 *   `deepEqual` (`'1'` is not `1`, `-0` is `0`, `NaN` is `NaN`, `Uint8Array` by content).
 * - Guard: a function of the bindings record, or a data expression `[op, ...args]`. A guard holds
 *   only when it yields `true`; one that throws, meets mismatched types or an unbound Var is just
 *   false, as a failing ETS guard is.
 * - Body (select only): a template whose Vars, `$_`, `$$` and `{ const: x }` are filled in (a Var
 *   the head does not bind is a compile error, as in ETS), or a function.
 *
 * Threads: any thread. Everything here is pure and touches no shared memory; patterns are
 * evaluated in the calling thread, so markers need not survive structured clone. Markers are
 * recognised by the `Symbol.for('roster.pattern')` tag, not by identity, so two copies of this
 * module interoperate.
 *
 * Cost: compiling walks the pattern once, validates it and builds closures; a malformed pattern
 * throws `InvalidMatchSpecError` before the registry reads any partition. Evaluating one entry runs
 * the closures only and allocates one slot array when the pattern has Vars.
 *
 * @module
 */
import { InvalidMatchSpecError, describe } from '../errors.js';
import { bytesEqual, deepEqual, isPlainObject } from './deep-equal.js';
import { compileBody, compileGuards, type Guard, type SelectBody } from './guards.js';
import { fail, kTag, tagOf, varName, type Ev, type Scope, type Slots } from './terms.js';

export { deepEqual } from './deep-equal.js';
export type { Bindings, Guard, GuardExpr, GuardOp, SelectBody, SelectBodyFn, SelectEntry } from './guards.js';

/** The wildcard marker `_`. */
export interface Wildcard { readonly [kTag]: 'any' }
/** The `$_` marker: the whole `[key, pid, value]` entry (the value itself in `match`). */
export interface EntryMarker { readonly [kTag]: 'entry' }
/** The `$$` marker: the array of bound values, in Var order. */
export interface BindingsMarker { readonly [kTag]: 'all' }

/** Matches anything and binds nothing. Threads: any. */
export const _: Wildcard = Object.freeze({ [kTag]: 'any' } as const);
/** In a select body or guard: the whole entry `[key, pid, value]`. Threads: any. */
export const $_: EntryMarker = Object.freeze({ [kTag]: 'entry' } as const);
/** In a select body or guard: bound values ordered `$1`, `$2`, … numerically, then other names. */
export const $$: BindingsMarker = Object.freeze({ [kTag]: 'all' } as const);

/**
 * A pattern variable. Matches anything and binds it under `name`. Frozen.
 * Threads: any. Throws `InvalidMatchSpecError` for an empty name or the reserved `'$_'`, `'$$'`.
 */
export class Var {
  readonly [kTag] = 'var' as const;
  readonly name: string;
  constructor(name: string) {
    if (typeof name !== 'string' || name === '' || name === '$_' || name === '$$') {
      throw new InvalidMatchSpecError(`invalid match specification: bad variable name, got: ${describe(name)}`);
    }
    this.name = name;
    Object.freeze(this);
  }
  toString(): string {
    return this.name;
  }
}

/** Creates a named Var, e.g. `v('pid')`. Threads: any. */
export function v(name: string): Var {
  return new Var(name);
}
export const $1 = v('$1'), $2 = v('$2'), $3 = v('$3'), $4 = v('$4'), $5 = v('$5');
export const $6 = v('$6'), $7 = v('$7'), $8 = v('$8'), $9 = v('$9');

/** One clause of a match specification. The default body is `$_`. */
export interface MatchSpecClause {
  readonly match: readonly [key: unknown, pid: unknown, value: unknown];
  readonly guards?: readonly Guard[];
  readonly body?: SelectBody;
}
/** A match specification: clauses tried in order; the first that matches an entry wins. */
export type MatchSpec = readonly MatchSpecClause[];

/** A compiled match specification. Threads: any; pure. Cost: one clause walk per call. */
export interface CompiledSpec {
  /** Whether some clause matches the entry (its body is not evaluated). */
  test(key: unknown, pid: unknown, value: unknown): boolean;
  /** The first matching clause's body result, or `{ matched: false }`. */
  apply(key: unknown, pid: unknown, value: unknown): { matched: boolean; result?: unknown };
}

type PatFn = (x: unknown, s: Slots) => boolean;

const kNoSlots: Slots = Object.freeze([]) as unknown as Slots;
const slotsFor = (n: number): Slots => (n === 0 ? kNoSlots : new Array<unknown>(n));
const kTrue: PatFn = () => true;
const kNoMatch = Object.freeze({ matched: false });

/** Validates a pattern (markers, no functions or symbols, no cycles) and collects its Var names. */
function collectVars(p: unknown, fn: string, out: Set<string>, path: object[]): void {
  const tag = tagOf(p);
  if (tag === 'var') out.add(varName(p));
  else if (tag === 'entry' || tag === 'all') fail(fn, `${tag === 'entry' ? '$_' : '$$'} is not allowed in a pattern`);
  else if (tag !== undefined && tag !== 'any') fail(fn, `unknown pattern marker ${describe(tag)}`);
  else if (typeof p === 'function' || typeof p === 'symbol') fail(fn, `a pattern cannot contain ${describe(p)}`);
  else if (Array.isArray(p) || isPlainObject(p)) {
    if (path.includes(p)) fail(fn, 'a pattern cannot be cyclic');
    path.push(p);
    for (const child of Object.values(p)) collectVars(child, fn, out, path);
    path.pop();
  }
}

/** Slot order is `$$` order: `$<n>` names by number, then the others by code unit. */
function scopeOf(patterns: readonly unknown[], fn: string, entry: boolean): Scope {
  const found = new Set<string>();
  for (const p of patterns) collectVars(p, fn, found, []);
  const num = (name: string): number => (/^\$\d+$/.test(name) ? Number(name.slice(1)) : Infinity);
  const names = [...found].sort((x, y) => num(x) - num(y) || (x < y ? -1 : x > y ? 1 : 0));
  return { fn, names, slots: new Map(names.map((name, i) => [name, i])), entry };
}

/** Compiles a validated pattern. `bound` holds the Vars an earlier part binds (match order). */
function compilePattern(p: unknown, sc: Scope, bound: Set<string>): PatFn {
  const tag = tagOf(p);
  if (tag === 'any') return kTrue;
  if (tag === 'var') {
    const name = varName(p);
    const i = sc.slots.get(name) as number;
    if (bound.has(name)) return (x, s) => deepEqual(x, s[i]);
    bound.add(name);
    return (x, s) => ((s[i] = x), true);
  }
  if (Array.isArray(p)) {
    const ms = p.map((c) => compilePattern(c, sc, bound));
    const n = ms.length;
    return (x, s) => {
      if (!Array.isArray(x) || x.length !== n) return false;
      for (let i = 0; i < n; i++) if (!(ms[i] as PatFn)(x[i], s)) return false;
      return true;
    };
  }
  if (isPlainObject(p)) {
    const keys = Object.keys(p);
    const ms = keys.map((k) => compilePattern(p[k], sc, bound));
    return (x, s) => {
      if (!isPlainObject(x)) return false;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        if (!Object.hasOwn(x, k) || !(ms[i] as PatFn)(x[k], s)) return false;
      }
      return true;
    };
  }
  if (typeof p === 'number') return p !== p ? (x) => x !== x : p === 0 ? (x) => x === 0 : (x) => x === p;
  if (typeof p !== 'object' || p === null) return (x) => x === p;
  if (p instanceof Uint8Array) return (x) => x instanceof Uint8Array && bytesEqual(x, p);
  return (x) => deepEqual(x, p);
}

/**
 * Compiles a value pattern and guards for `match`, `countMatch` and `unregisterMatch`. Bindings
 * start empty for each value; in guards `$_` is the value. `fn` names the caller in error messages.
 * Threads: any; pure, touches no shared memory. Cost: compile O(pattern + guards); each call
 * O(pattern) plus the guards. Throws `InvalidMatchSpecError` for a malformed pattern or guard.
 */
export function compileValueMatcher(pattern: unknown, guards?: readonly Guard[], fn = 'match'): (value: unknown) => boolean {
  const sc = scopeOf([pattern], fn, false);
  const m = compilePattern(pattern, sc, new Set());
  const g = compileGuards(guards, sc);
  const n = sc.names.length;
  if (g === undefined) return m === kTrue ? () => true : (x) => m(x, slotsFor(n));
  return (x) => {
    const s = slotsFor(n);
    return m(x, s) && g(s, undefined, undefined, x);
  };
}

interface Clause {
  readonly n: number;
  readonly test: (k: unknown, p: unknown, v: unknown, s: Slots) => boolean;
  readonly body: Ev;
}

function compileClause(c: unknown, i: number, fn: 'select' | 'countSelect'): Clause {
  const where = `clause ${i}`;
  if (!isPlainObject(c)) fail(fn, `${where} must be an object { match, guards?, body? }, got: ${describe(c)}`);
  const head = c['match'];
  if (!Array.isArray(head) || head.length !== 3) fail(fn, `${where}: match must be a [key, pid, value] array, got: ${describe(head)}`);
  const sc = scopeOf(head, `${fn} (${where})`, true);
  const bound = new Set<string>();
  const [mk, mp, mv] = head.map((h) => compilePattern(h, sc, bound)) as [PatFn, PatFn, PatFn];
  const g = compileGuards(c['guards'], sc);
  return {
    n: sc.names.length,
    test: (k, p, v, s) => mk(k, s) && mp(p, s) && mv(v, s) && (g === undefined || g(s, k, p, v)),
    body: fn === 'countSelect' ? () => true : compileBody(c['body'], sc), // count_select ignores bodies
  };
}

/**
 * Compiles a match specification for `select` (`fn = 'select'`) or `countSelect` (bodies are not
 * compiled). Clauses are tried in order and the first match wins, as in ETS.
 * Threads: any; pure, touches no shared memory. Cost: compile O(spec); each entry tries the
 * clauses in order. Throws `InvalidMatchSpecError` (naming `fn`) when `spec` is not an array of
 * `{ match: [k, p, v], guards?, body? }` clauses or a pattern, guard or body is malformed.
 */
export function compileMatchSpec(spec: unknown, fn: 'select' | 'countSelect'): CompiledSpec {
  if (!Array.isArray(spec)) fail(fn, `expected an array of clauses, got: ${describe(spec)}`);
  const clauses = spec.map((c, i) => compileClause(c, i, fn));
  return {
    test(key, pid, value) {
      for (const c of clauses) if (c.test(key, pid, value, slotsFor(c.n))) return true;
      return false;
    },
    apply(key, pid, value) {
      for (const c of clauses) {
        const s = slotsFor(c.n);
        if (c.test(key, pid, value, s)) return { matched: true, result: c.body(s, key, pid, value) };
      }
      return kNoMatch;
    },
  };
}
