/**
 * Roster: Elixir's Registry for Node.js worker threads. Public exports only.
 *
 * @module
 */
export { Registry } from './registry/registry.js';
export { KeyRef } from './registry/key-ref.js';
export type { RegistryHandle } from './registry/options.js';
export { self } from './domain/process.js';
export { Coordinator, type CoordinatorOptions } from './recovery/coordinator.js';
export { supervise, type SuperviseOptions } from './recovery/supervise.js';
export { _, $_, $$, $1, $2, $3, $4, $5, $6, $7, $8, $9, v, Var } from './registry/pattern.js';
export type { Guard, MatchSpec, MatchSpecClause, Bindings } from './registry/pattern.js';
export { Runtime, type RuntimeOptions, type RuntimeHandle, type RuntimeEvent } from './runtime/runtime.js';
export { DynamicSupervisor } from './runtime/supervisor.js';
export type { ChildSpec, Restart, SupervisorOptions } from './runtime/child-spec.js';
export type { SupervisorStats, SupervisorEvent } from './runtime/supervisor-ledger.js';
export { EventBus } from './runtime/bus.js';
export {
  spawn, call, cast, send, reply, monitor, demonitor, stopProcess, via, type Via, type Target, type SpawnOptions,
} from './runtime/api.js';
export {
  behaviour, ref, withState, noReply, stop, type Behaviour, type BehaviourRef, type From, type Down, type ExitReason,
} from './runtime/behaviour.js';
export type { Placement } from './runtime/placement.js';
export type { SchedulerControl, ActorRow, SchedulerInfo } from './runtime/control-api.js';
export type { SchedulerStats } from './runtime/scheduler-stats.js';
export {
  RosterError, InvalidOptionError, InvalidKeyError, InvalidValueError, KeyTooLargeError, ValueTooLargeError,
  CapacityError, InvalidMatchSpecError, UnsupportedError, UnknownRegistryError, StaleIncarnationError, TimeoutError,
  NoProcError, CallTimeoutError, ExitError, SpawnError, AlreadyStartedError, MailboxFullError,
  InvalidMessageError,
} from './errors.js';
export type {
  Pid, Key, KeysKind, Entry, RegisterResult, UpdateResult, MetaResult, RegistryEvent, RegistryOptions,
} from './types.js';
