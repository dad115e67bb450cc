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

const kTag: unique symbol = Symbol.for('roster.pattern');

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

/** Bound values keyed by Var name (`'$1'`, `'x'`). A null-prototype object. */
export type Bindings = Record<string, unknown>;
/** Operators of guard data expressions (`'=:='` and `'=/='` are Erlang aliases of `'==='`, `'!=='`). */
export type GuardOp =
  | '>' | '>=' | '<' | '<=' | '===' | '=:=' | '!==' | '=/=' | 'and' | 'or' | 'not'
  | 'is_number' | 'is_string' | 'is_boolean' | 'is_bigint' | 'is_array' | 'is_object' | 'is_nil'
  | '+' | '-' | '*' | '/' | 'element';
/**
 * `[op, ...args]`. An arg is a Var, `$_`, `$$`, `{ const: x }`, a nested expression (any array), or
 * another literal. `is_number` is `typeof 'number'` (bigints are `is_bigint`); `is_object` is a plain object.
 */
export type GuardExpr = readonly [GuardOp, ...unknown[]];
/** A guard: a predicate over the bindings, or a data expression. All guards of a list must hold. */
export type Guard = ((b: Bindings) => boolean) | GuardExpr;
/** The entry a select clause sees. */
export type SelectEntry = readonly [key: unknown, pid: unknown, value: unknown];
/** A function body: called once per matching entry; its return value is the result, what it throws propagates. */
export type SelectBodyFn = (b: Bindings, entry: SelectEntry) => unknown;
/** A select body: a template (any value; Vars, `$_`, `$$`, `{ const }` are filled in) or a function. */
export type SelectBody = SelectBodyFn | object | string | number | bigint | boolean | null | undefined;
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

type Slots = unknown[];
type PatFn = (x: unknown, s: Slots) => boolean;
type Ev = (s: Slots, k: unknown, p: unknown, v: unknown) => unknown;
type GuardFn = (s: Slots, k: unknown, p: unknown, v: unknown) => boolean;
interface Scope {
  readonly fn: string;
  readonly names: readonly string[];
  readonly slots: ReadonlyMap<string, number>;
  /** true in select (`$_` is `[key, pid, value]`), false in match (`$_` is the value). */
  readonly entry: boolean;
}

const kNoSlots: Slots = Object.freeze([]) as unknown as Slots;
const slotsFor = (n: number): Slots => (n === 0 ? kNoSlots : new Array<unknown>(n));
const kTrue: PatFn = () => true;
const kNoMatch = Object.freeze({ matched: false });
/** Thrown inside guard evaluation to make the guard false; preallocated, never escapes. */
const kGuardFailed = new Error('guard failed');

function fail(fn: string, detail: string): never {
  throw new InvalidMatchSpecError(`invalid match specification in ${fn}: ${detail}`);
}

const tagOf = (x: unknown): unknown => (typeof x === 'object' && x !== null ? (x as { [kTag]?: unknown })[kTag] : undefined);
const varName = (x: unknown): string => (x as { name: string }).name;

/** A plain object, also from another realm: its prototype is null or a root prototype. */
function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null;
}

/** `{ const: x }`: exactly one own key, `const`. */
function isConst(x: unknown): x is { const: unknown } {
  return isPlainObject(x) && Object.hasOwn(x, 'const') && Object.keys(x).length === 1;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
const bytesOf = (x: object): Uint8Array =>
  ArrayBuffer.isView(x) ? new Uint8Array(x.buffer, x.byteOffset, x.byteLength) : new Uint8Array(x as ArrayBufferLike);

/**
 * Structural equality as registry keys and ETS `=:=` see it: exact types (`'1'` is not `1`, `1n` is
 * not `1`), `-0` equals `0`, `NaN` equals `NaN`, arrays element-wise, plain objects by key set and
 * values, typed arrays and buffers by type and bytes, Dates by time, Maps and Sets by contents,
 * other classes by identity. Cyclic values are handled. Threads: any; pure. Cost: O(size).
 */
export const deepEqual: (a: unknown, b: unknown) => boolean = eq;
/** RegExp, Error and boxed primitives print exactly what makes them equal; other classes never do. */
const kPrintable = new Set(['RegExp', 'Error', 'Number', 'String', 'Boolean', 'BigInt'].map((t) => `[object ${t}]`));

function eq(a: unknown, b: unknown, as?: object[], bs?: object[]): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a !== a && b !== b;
  if (as === undefined || bs === undefined) return eq(a, b, [], []);
  // INVARIANT: a pair already being compared higher up is assumed equal (cycles terminate).
  for (let i = as.length - 1; i >= 0; i--) if (as[i] === a) return bs[i] === b;
  const tag = Object.prototype.toString.call(a);
  if (tag !== Object.prototype.toString.call(b)) return false;
  as.push(a);
  bs.push(b);
  const result = eqObject(a, b, tag, as, bs);
  as.pop();
  bs.pop();
  return result;
}

function eqObject(a: object, b: object, tag: string, as: object[], bs: object[]): boolean {
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!eq(a[i], b[i], as, bs)) return false;
    return true;
  }
  if (isPlainObject(a)) {
    const keys = Object.keys(a);
    if (!isPlainObject(b) || keys.length !== Object.keys(b).length) return false;
    for (const k of keys) if (!Object.hasOwn(b, k) || !eq(a[k], b[k], as, bs)) return false;
    return true;
  }
  if (ArrayBuffer.isView(a) || tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]') {
    return bytesEqual(bytesOf(a), bytesOf(b));
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, x] of a) {
      if (!(b.has(k) ? eq(x, b.get(k), as, bs) : [...b].some(([kb, y]) => eq(k, kb, as, bs) && eq(x, y, as, bs)))) return false;
    }
    return true;
  }
  if (a instanceof Set && b instanceof Set) {
    if (a.size !== b.size) return false;
    for (const x of a) if (!b.has(x) && ![...b].some((y) => eq(x, y, as, bs))) return false;
    return true;
  }
  if (tag === '[object Date]') return eq((a as Date).getTime(), (b as Date).getTime());
  return kPrintable.has(tag) && String(a) === String(b);
}

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

function guardFails(): never {
  throw kGuardFailed;
}
const bool = (x: unknown): boolean => (typeof x === 'boolean' ? x : guardFails());
const num = (x: unknown): number | bigint => (typeof x === 'number' || typeof x === 'bigint' ? x : guardFails());
/** Ordering needs operands of one type among number, string, bigint, boolean (JS semantics). */
function ord(x: unknown, y: unknown): true {
  const t = typeof x;
  return t === typeof y && (t === 'number' || t === 'string' || t === 'bigint' || t === 'boolean') ? true : guardFails();
}
/** Arithmetic needs two numbers or two bigints; division by zero fails the guard (ETS badarith). */
function arith(op: string, x: unknown, y: unknown): number | bigint {
  if (typeof num(x) !== typeof num(y) || (op === '/' && (y === 0 || y === 0n))) guardFails();
  const a = x as number, b = y as number; // or two bigints: the operators work alike
  return op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b;
}

const kUnary = new Map<string, (x: unknown) => unknown>([
  ['not', (x) => !bool(x)],
  ['is_number', (x) => typeof x === 'number'],
  ['is_string', (x) => typeof x === 'string'],
  ['is_boolean', (x) => typeof x === 'boolean'],
  ['is_bigint', (x) => typeof x === 'bigint'],
  ['is_array', (x) => Array.isArray(x)],
  ['is_object', (x) => isPlainObject(x)],
  ['is_nil', (x) => x === null || x === undefined],
  ['-', (x) => -num(x)],
  ['+', num],
]);

const kBinary = new Map<string, (x: unknown, y: unknown) => unknown>([
  ['>', (x, y) => ord(x, y) && (x as number) > (y as number)],
  ['>=', (x, y) => ord(x, y) && (x as number) >= (y as number)],
  ['<', (x, y) => ord(x, y) && (x as number) < (y as number)],
  ['<=', (x, y) => ord(x, y) && (x as number) <= (y as number)],
  ['===', deepEqual],
  ['=:=', deepEqual],
  ['!==', (x, y) => !deepEqual(x, y)],
  ['=/=', (x, y) => !deepEqual(x, y)],
  ['+', (x, y) => arith('+', x, y)],
  ['-', (x, y) => arith('-', x, y)],
  ['*', (x, y) => arith('*', x, y)],
  ['/', (x, y) => arith('/', x, y)],
  ['element', (n, t) => (Array.isArray(t) && Number.isInteger(n) && (n as number) >= 1 && (n as number) <= t.length ? t[(n as number) - 1] : guardFails())],
]);

function compileOp(e: readonly unknown[], sc: Scope): Ev {
  const op = e[0];
  const args = e.slice(1).map((a) => compileExpr(a, sc));
  const [a, b] = args as [Ev, Ev];
  if (op === 'and' || op === 'or') {
    if (args.length === 0) fail(sc.fn, `'${op}' needs at least one argument`);
    const stop = op === 'or'; // short-circuits like Elixir's and/or
    return (s, k, p, v) => {
      for (const f of args) if (bool(f(s, k, p, v)) === stop) return stop;
      return !stop;
    };
  }
  const unary = args.length === 1 ? kUnary.get(op as string) : undefined;
  if (unary !== undefined) return (s, k, p, v) => unary(a(s, k, p, v));
  const binary = args.length === 2 ? kBinary.get(op as string) : undefined;
  if (binary !== undefined) return (s, k, p, v) => binary(a(s, k, p, v), b(s, k, p, v));
  if (kUnary.has(op as string) || kBinary.has(op as string)) fail(sc.fn, `wrong number of arguments to '${String(op)}': ${args.length}`);
  return fail(sc.fn, `unknown guard operator ${describe(op)}`);
}

function compileExpr(e: unknown, sc: Scope): Ev {
  const tag = tagOf(e);
  if (tag === 'var') {
    const i = sc.slots.get(varName(e));
    if (i === undefined) return guardFails; // an unbound Var makes the guard false, as in ETS
    return (s) => s[i];
  }
  if (tag === 'entry') return sc.entry ? (_s, k, p, v) => [k, p, v] : (_s, _k, _p, v) => v;
  if (tag === 'all') return (s) => s.slice();
  if (tag !== undefined) return fail(sc.fn, '_ is not allowed in a guard or body');
  if (isConst(e)) return () => e.const;
  if (Array.isArray(e)) return compileOp(e, sc);
  if (typeof e === 'function' || typeof e === 'symbol') return fail(sc.fn, `a guard cannot contain ${describe(e)}`);
  return () => e;
}

function bindingsOf(s: Slots, names: readonly string[]): Bindings {
  const b = Object.create(null) as Bindings;
  for (let i = 0; i < names.length; i++) b[names[i] as string] = s[i];
  return b;
}

/** All guards must yield exactly `true`; a guard that throws is just false (ETS). */
function compileGuards(guards: unknown, sc: Scope): GuardFn | undefined {
  if (guards === undefined) return undefined;
  if (!Array.isArray(guards)) return fail(sc.fn, `guards must be an array, got: ${describe(guards)}`);
  const evs = guards.map((g: unknown): Ev => {
    if (typeof g === 'function') return (s) => Boolean((g as (b: Bindings) => unknown)(bindingsOf(s, sc.names)));
    if (Array.isArray(g)) return compileOp(g, sc);
    return fail(sc.fn, `a guard must be a function or an [op, ...args] array, got: ${describe(g)}`);
  });
  if (evs.length === 0) return undefined;
  return (s, k, p, v) => {
    try {
      for (const ev of evs) if (ev(s, k, p, v) !== true) return false;
      return true;
    } catch {
      return false;
    }
  };
}

/** Body template: Vars, `$_`, `$$` and `{ const }` are filled in; arrays and plain objects are rebuilt. */
function compileTemplate(t: unknown, sc: Scope, path: object[]): Ev {
  const tag = tagOf(t);
  if (tag === 'var' && !sc.slots.has(varName(t))) fail(sc.fn, `the body uses unbound variable ${varName(t)}`);
  if (tag !== undefined || isConst(t)) return compileExpr(t, sc);
  if (!Array.isArray(t) && !isPlainObject(t)) return () => t;
  if (path.includes(t)) fail(sc.fn, 'a body cannot be cyclic');
  path.push(t);
  const keys = Object.keys(t);
  const fs = Object.values(t).map((c) => compileTemplate(c, sc, path));
  path.pop();
  if (Array.isArray(t)) return (s, k, p, v) => fs.map((f) => f(s, k, p, v));
  if (keys.includes('__proto__')) return (s, k, p, v) => Object.fromEntries(keys.map((key, i) => [key, (fs[i] as Ev)(s, k, p, v)]));
  return (s, k, p, v) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) o[keys[i] as string] = (fs[i] as Ev)(s, k, p, v);
    return o;
  };
}

function compileBody(body: unknown, sc: Scope): Ev {
  if (body === undefined) return (_s, k, p, v) => [k, p, v];
  if (typeof body !== 'function') return compileTemplate(body, sc, []);
  const f = body as SelectBodyFn;
  return (s, k, p, v) => f(bindingsOf(s, sc.names), [k, p, v]);
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
