/**
 * Guards and select bodies, compiled to closures over a clause's slots (the language is described in
 * pattern.ts). A guard holds only when it yields `true`; one that throws, meets mismatched types or an
 * unbound Var is just false, as a failing ETS guard is. A body is a template whose Vars, `$_`, `$$`
 * and `{ const: x }` are filled in (a Var the head does not bind is a compile error), or a function.
 *
 * Threads: any. Pure; touches no shared memory.
 *
 * @module
 */
import { describe } from '../errors.js';
import { deepEqual, isPlainObject } from './deep-equal.js';
import { fail, isConst, tagOf, varName, type Ev, type GuardFn, type Scope, type Slots } from './terms.js';

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

/** Thrown inside guard evaluation to make the guard false; preallocated, never escapes. */
const kGuardFailed = new Error('guard failed');

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

export function bindingsOf(s: Slots, names: readonly string[]): Bindings {
  const b = Object.create(null) as Bindings;
  for (let i = 0; i < names.length; i++) b[names[i] as string] = s[i];
  return b;
}

/** All guards must yield exactly `true`; a guard that throws is just false (ETS). */
export function compileGuards(guards: unknown, sc: Scope): GuardFn | undefined {
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

export function compileBody(body: unknown, sc: Scope): Ev {
  if (body === undefined) return (_s, k, p, v) => [k, p, v];
  if (typeof body !== 'function') return compileTemplate(body, sc, []);
  const f = body as SelectBodyFn;
  return (s, k, p, v) => f(bindingsOf(s, sc.names), [k, p, v]);
}
