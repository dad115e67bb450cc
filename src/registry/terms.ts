/**
 * What patterns (pattern.ts), guards and bodies (guards.ts) share: the tag that marks `_`, `$_`, `$$`
 * and Vars, the scope that numbers a clause's Vars into slots, and the compile error.
 *
 * Threads: any. Pure; touches no shared memory.
 *
 * @module
 */
import { InvalidMatchSpecError } from '../errors.js';
import { isPlainObject } from './deep-equal.js';

/** Marks the pattern markers; recognised by this tag, not by identity, so two copies of Roster interoperate. */
export const kTag: unique symbol = Symbol.for('roster.pattern');

/** The values a clause binds, one slot per Var, in `$$` order. */
export type Slots = unknown[];
/** A compiled guard expression or body: evaluated against the slots and the entry. */
export type Ev = (s: Slots, k: unknown, p: unknown, v: unknown) => unknown;
/** A compiled list of guards: true when every guard yields `true`. */
export type GuardFn = (s: Slots, k: unknown, p: unknown, v: unknown) => boolean;
/** The Vars of one pattern or clause and their slots. */
export interface Scope {
  readonly fn: string;
  readonly names: readonly string[];
  readonly slots: ReadonlyMap<string, number>;
  /** true in select (`$_` is `[key, pid, value]`), false in match (`$_` is the value). */
  readonly entry: boolean;
}

/** Throws the `InvalidMatchSpecError` of a malformed pattern, guard or body, naming the caller `fn`. */
export function fail(fn: string, detail: string): never {
  throw new InvalidMatchSpecError(`invalid match specification in ${fn}: ${detail}`);
}

export const tagOf = (x: unknown): unknown => (typeof x === 'object' && x !== null ? (x as { [kTag]?: unknown })[kTag] : undefined);
export const varName = (x: unknown): string => (x as { name: string }).name;

/** `{ const: x }`: exactly one own key, `const`. */
export function isConst(x: unknown): x is { const: unknown } {
  return isPlainObject(x) && Object.hasOwn(x, 'const') && Object.keys(x).length === 1;
}
