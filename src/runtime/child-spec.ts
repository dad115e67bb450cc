/**
 * Child specifications of the dynamic supervisor, and the request that carries one to a scheduler.
 * Validation happens here, in the calling thread, before anything is sent: a bad spec throws
 * `InvalidOptionError` and changes nothing.
 *
 * @module
 */
import { InvalidOptionError, describe } from '../errors.js';
import type { Key, Pid } from '../types.js';
import type { BehaviourRef } from './behaviour.js';
import type { Placement } from './placement.js';
import type { Via } from './api.js';

/** When a supervisor restarts a child that exited (Elixir's restart values). */
export type Restart = 'permanent' | 'transient' | 'temporary';

/** What a supervisor starts, and how it treats the child's exits. */
export interface ChildSpec<A = unknown> {
  /** The child's behaviour: `ref(module, exportName)`. */
  readonly behaviour: BehaviourRef;
  /** The argument of `init`. */
  readonly args?: A;
  /**
   * `'permanent'` (default): restarted after any exit but passivation; `'transient'`: restarted only
   * after an abnormal exit (not `'normal'`, `'shutdown'` or `'idle'`); `'temporary'`: never restarted.
   */
  readonly restart?: Restart;
  /** How long `terminate` may run when the child is stopped (ms, default 5000); past it, the exit goes on. */
  readonly shutdown?: number;
  /** Register under this name before `init` (with `startChild`; `getOrStart` takes the name apart). */
  readonly name?: Via;
  /** Where the child runs: a scheduler index, `'local'` or `'hash'` (default: hash of the name). */
  readonly scheduler?: Placement;
  /** Mailbox bound (default 100,000). */
  readonly mailboxLimit?: number;
  /** Passivation: the child stops itself (reason `'idle'`, never restarted) after this long without messages. */
  readonly idleMs?: number;
}

/** Restart intensity of a supervisor. */
export interface SupervisorOptions {
  /** Restarts allowed per child within `maxSeconds` (default 3); one more and the supervisor gives up on it. */
  readonly maxRestarts?: number;
  /** The window of `maxRestarts`, in seconds (default 5). */
  readonly maxSeconds?: number;
}

/** A child spec as it travels to the scheduler that starts it (plain data). */
export interface ChildRequest {
  /** The supervisor's name. */
  readonly sup: string;
  /** The child's id, stable across restarts (0 for a new child: its first pid becomes its id). */
  readonly id: Pid;
  readonly behaviour: BehaviourRef;
  readonly args: unknown;
  readonly restart: Restart;
  readonly shutdown: number;
  readonly maxRestarts: number;
  readonly maxSeconds: number;
  readonly name?: { readonly registry: string; readonly key: Key };
  readonly mailboxLimit?: number;
  readonly idleMs?: number;
  /** get-or-start: a name held by an actor in `init` waits for it, and answers with its pid. */
  readonly getOrStart?: boolean;
  /** Times (ms) of the child's recent restarts, kept across a move to another scheduler. */
  readonly restarts?: readonly number[];
  /** A restart on another scheduler: the pid that died, and why. */
  readonly restartOf?: Pid;
  readonly reason?: string;
}

const kRestarts: readonly Restart[] = ['permanent', 'transient', 'temporary'];

function positive(name: string, v: unknown, dflt: number, max = 2 ** 31): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max) {
    throw new InvalidOptionError(`expected ${name} to be a number > 0, got: ${describe(v)}`);
  }
  return v;
}

/** Checks supervisor options; returns them with defaults. */
export function checkSupervisorOptions(o: unknown): Required<SupervisorOptions> {
  if (o === undefined) return { maxRestarts: 3, maxSeconds: 5 };
  if (typeof o !== 'object' || o === null) throw new InvalidOptionError(`expected supervisor options to be an object, got: ${describe(o)}`);
  const r = (o as SupervisorOptions).maxRestarts;
  if (r !== undefined && (!Number.isSafeInteger(r) || r < 0)) throw new InvalidOptionError(`expected maxRestarts to be an integer ≥ 0, got: ${describe(r)}`);
  return { maxRestarts: r ?? 3, maxSeconds: positive('maxSeconds', (o as SupervisorOptions).maxSeconds, 5, 86_400) };
}

/** Checks a child spec (not its name); returns the fields that travel. Throws `InvalidOptionError`. */
export function checkSpec(spec: unknown): Omit<ChildRequest, 'sup' | 'id' | 'maxRestarts' | 'maxSeconds'> {
  if (typeof spec !== 'object' || spec === null) throw new InvalidOptionError(`expected a child spec object, got: ${describe(spec)}`);
  const s = spec as ChildSpec;
  const b = s.behaviour as BehaviourRef | undefined;
  if (typeof b !== 'object' || b === null || typeof b.module !== 'string' || typeof b.export !== 'string') {
    throw new InvalidOptionError(`expected spec.behaviour to be ref(module, exportName), got: ${describe(b)}`);
  }
  const restart = s.restart ?? 'permanent';
  if (!kRestarts.includes(restart)) throw new InvalidOptionError(`expected restart to be 'permanent', 'transient' or 'temporary', got: ${describe(restart)}`);
  const limit = s.mailboxLimit;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) throw new InvalidOptionError(`expected mailboxLimit to be a positive integer, got: ${describe(limit)}`);
  const idle = s.idleMs === undefined ? undefined : positive('idleMs', s.idleMs, 0);
  return {
    behaviour: { module: b.module, export: b.export },
    args: s.args,
    restart,
    shutdown: positive('shutdown', s.shutdown, 5000),
    ...(limit !== undefined ? { mailboxLimit: limit } : {}),
    ...(idle !== undefined ? { idleMs: idle } : {}),
  };
}

/** Whether a child that exited with `reason` is restarted under `restart`. */
export function restarts(restart: Restart, reason: string): boolean {
  if (reason === 'idle') return false; // passivated: the next getOrStart starts it
  if (restart === 'permanent') return true;
  if (restart === 'temporary') return false;
  return reason !== 'normal' && reason !== 'shutdown' && !reason.startsWith('shutdown:');
}
