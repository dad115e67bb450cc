/**
 * Roster: Elixir's Registry for Node.js worker threads. Public exports only.
 *
 * @module
 */
export { Registry } from './registry.js';
export { KeyRef } from './key-ref.js';
export type { RegistryHandle } from './options.js';
export { self } from './process.js';
export { Coordinator, type CoordinatorOptions } from './coordinator.js';
export { supervise, type SuperviseOptions } from './supervise.js';
export { _, $_, $$, $1, $2, $3, $4, $5, $6, $7, $8, $9, v, Var } from './pattern.js';
export type { Guard, MatchSpec, MatchSpecClause, Bindings } from './pattern.js';
export {
  RosterError, InvalidOptionError, InvalidKeyError, InvalidValueError, KeyTooLargeError, ValueTooLargeError,
  CapacityError, InvalidMatchSpecError, UnsupportedError, UnknownRegistryError, StaleIncarnationError, TimeoutError,
  InvalidMessageError,
} from './errors.js';
export type {
  Pid, Key, KeysKind, Entry, RegisterResult, UpdateResult, MetaResult, RegistryEvent, RegistryOptions,
} from './types.js';
