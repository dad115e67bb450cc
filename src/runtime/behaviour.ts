/**
 * Behaviours: what an actor is. A behaviour is a plain object of callbacks exported by a module (code
 * cannot cross threads, so a spawn names the module and the export; the scheduler thread imports it).
 *
 * ```ts
 * // room.ts
 * export const Room = behaviour({
 *   init: (topic: string) => ({ topic, members: new Set<number>() }),
 *   handleCall: (msg: { join: number }, from, state) => { state.members.add(msg.join); return state.members.size; },
 *   handleCast: (msg, state) => { … },
 * });
 * // anywhere
 * const pid = await spawn(ref(import.meta.resolve('./room.js'), 'Room'), 'chess', { name: via(rooms, 'chess') });
 * ```
 *
 * A handler's return value is its reply (`handleCall`) or its new state (`handleCast`, `handleInfo`:
 * `undefined` keeps the state). Directives say more: `withState(state, reply?)`, `noReply(state?)`
 * (reply later with `reply(from, value)`), `stop(reason, { reply?, state? })`.
 *
 * @module
 */
import type { Pid } from '../types.js';

/** Who a call came from: pass it to `reply(from, value)` to answer later. Plain data; may be stored. */
export interface From {
  readonly pid: Pid;
  readonly ref: number;
}

/** Why an actor exited: `'normal'`, `'shutdown'`, a reason given to `stop`, or `'error: <message>'`. */
export type ExitReason = string;

/** A message delivered to `handleInfo` when a monitored process exits. */
export interface Down {
  readonly type: 'down';
  readonly ref: number;
  readonly pid: Pid;
  readonly reason: ExitReason;
}

/** The callbacks of an actor; every one may be async. Only `init` is required. */
export interface Behaviour<S = unknown, A = unknown> {
  /** Builds the initial state. Runs after the actor is registered under its name, so it can look itself up. */
  init(args: A): S | Promise<S>;
  /** A `call`: returns the reply, or a directive. */
  handleCall?(msg: unknown, from: From, state: S): unknown;
  /** A `cast`: returns the new state (`undefined` keeps it), or a directive. */
  handleCast?(msg: unknown, state: S): unknown;
  /** A `send`, or a `Down` of a monitor: returns the new state (`undefined` keeps it), or a directive. */
  handleInfo?(msg: unknown, state: S): unknown;
  /** Runs once when the actor exits normally or by `stop` (not when its thread dies). */
  terminate?(reason: ExitReason, state: S): unknown;
}

/** Checks and returns a behaviour (an identity function for typing: `export const Room = behaviour({...})`). */
export function behaviour<S, A>(b: Behaviour<S, A>): Behaviour<S, A> {
  return b;
}

/** Where a behaviour lives: a module URL (`import.meta.resolve('./room.js')`) and its export name. */
export interface BehaviourRef {
  readonly module: string;
  readonly export: string;
}

/** Names a behaviour for `spawn`: the module's URL or path, and the export (default `'default'`). */
export function ref(module: string | URL, exportName = 'default'): BehaviourRef {
  return { module: typeof module === 'string' ? module : module.href, export: exportName };
}

const kDirective = Symbol('roster.directive');

/** A handler's instruction beyond a plain reply or state. */
export interface Directive {
  readonly [kDirective]: true;
  readonly kind: 'state' | 'noreply' | 'stop';
  readonly hasState: boolean;
  readonly state: unknown;
  readonly hasReply: boolean;
  readonly reply: unknown;
  readonly reason: ExitReason;
}

function directive(kind: Directive['kind'], o: { state?: unknown; reply?: unknown; reason?: ExitReason }, has: { state: boolean; reply: boolean }): Directive {
  return { [kDirective]: true, kind, hasState: has.state, state: o.state, hasReply: has.reply, reply: o.reply, reason: o.reason ?? 'normal' };
}

/** Sets the new state; in `handleCall`, `reply` (if given) is the reply. */
export function withState(state: unknown, ...reply: [unknown?]): Directive {
  return directive('state', { state, reply: reply[0] }, { state: true, reply: reply.length > 0 });
}

/** From `handleCall`: no reply now (answer later with `reply(from, value)`); optionally a new state. */
export function noReply(...state: [unknown?]): Directive {
  return directive('noreply', { state: state[0] }, { state: state.length > 0, reply: false });
}

/** Stops the actor with `reason` after this handler; in `handleCall`, `reply` (if given) answers first. */
export function stop(reason: ExitReason = 'normal', opts: { reply?: unknown; state?: unknown } = {}): Directive {
  return directive('stop', { state: opts.state, reply: opts.reply, reason }, { state: 'state' in opts, reply: 'reply' in opts });
}

/** True if `x` is a directive. */
export function isDirective(x: unknown): x is Directive {
  return typeof x === 'object' && x !== null && (x as { [kDirective]?: unknown })[kDirective] === true;
}
