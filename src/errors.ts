/**
 * Errors. Each failure has its own class and a stable `code`; the code is the contract, the message
 * may change. Every error is thrown before any shared state changes. A class is lost when an error
 * crosses a thread boundary by structured clone, so `RosterError.from(obj)` rebuilds it from `code`.
 *
 * @module
 */

/** Base class of every error Roster throws. */
export class RosterError extends Error {
  /** Stable machine-readable code, e.g. `'ROSTER_ERR_INVALID_KEY'`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** Rebuilds a typed error from `{ code, message }` received from another thread. */
  static from(obj: { code?: unknown; message?: unknown }): RosterError {
    const message = typeof obj.message === 'string' ? obj.message : obj.message === undefined ? '' : String(obj.message);
    const code = typeof obj.code === 'string' ? obj.code : 'ROSTER_ERR';
    // Runs the base constructor with the class's prototype and name: message, code and stack are set
    // as a thrown error's are (copying properties would drop `message`, which is not enumerable).
    const ctor = kByCode.get(code) ?? RosterError;
    return Reflect.construct(RosterError, [code, message], ctor) as RosterError;
  }
}

/** A registry option is missing or has the wrong type or range. */
export class InvalidOptionError extends RosterError {
  static readonly code = 'ROSTER_ERR_INVALID_OPTION';
  constructor(message: string) {
    super(InvalidOptionError.code, message);
  }
}

/** A key is not a string, number, bigint, boolean, Uint8Array or array of these. */
export class InvalidKeyError extends RosterError {
  static readonly code = 'ROSTER_ERR_INVALID_KEY';
  constructor(message: string) {
    super(InvalidKeyError.code, message);
  }
}

/** A value cannot be structured-cloned (a function, a symbol, a SharedArrayBuffer...). */
export class InvalidValueError extends RosterError {
  static readonly code = 'ROSTER_ERR_INVALID_VALUE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(InvalidValueError.code, message, options);
  }
}

/** An encoded key is larger than `maxKeyBytes`. */
export class KeyTooLargeError extends RosterError {
  static readonly code = 'ROSTER_ERR_KEY_TOO_LARGE';
  constructor(message: string) {
    super(KeyTooLargeError.code, message);
  }
}

/** An encoded value is larger than `maxValueBytes`. */
export class ValueTooLargeError extends RosterError {
  static readonly code = 'ROSTER_ERR_VALUE_TOO_LARGE';
  constructor(message: string) {
    super(ValueTooLargeError.code, message);
  }
}

/** A partition would have to grow past `maxPartitionBytes`. Nothing was written. */
export class CapacityError extends RosterError {
  static readonly code = 'ROSTER_ERR_CAPACITY';
  constructor(message: string) {
    super(CapacityError.code, message);
  }
}

/** A match pattern, guard or match specification is malformed. */
export class InvalidMatchSpecError extends RosterError {
  static readonly code = 'ROSTER_ERR_MATCH_SPEC';
  constructor(message: string) {
    super(InvalidMatchSpecError.code, message);
  }
}

/** The call is not supported by this registry's key kind (e.g. `updateValue` on duplicate keys). */
export class UnsupportedError extends RosterError {
  static readonly code = 'ROSTER_ERR_UNSUPPORTED';
  constructor(message: string) {
    super(UnsupportedError.code, message);
  }
}

/** The registry was closed, or the handle does not describe a registry. Elixir's "unknown registry". */
export class UnknownRegistryError extends RosterError {
  static readonly code = 'ROSTER_ERR_UNKNOWN_REGISTRY';
  constructor(message: string) {
    super(UnknownRegistryError.code, message);
  }
}

/** A write by an incarnation already declared dead was rejected (fencing). */
export class StaleIncarnationError extends RosterError {
  static readonly code = 'ROSTER_ERR_STALE_INCARNATION';
  constructor(message: string) {
    super(StaleIncarnationError.code, message);
  }
}

/** A bounded wait ran out: a lock stayed held by a live owner past the deadline. */
export class TimeoutError extends RosterError {
  static readonly code = 'ROSTER_ERR_TIMEOUT';
  constructor(message: string) {
    super(TimeoutError.code, message);
  }
}

/**
 * A message cannot cross threads (a function, a symbol, a SharedArrayBuffer...). Thrown at the
 * sender, before anything is sent.
 */
export class InvalidMessageError extends RosterError {
  static readonly code = 'ROSTER_ERR_INVALID_MESSAGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(InvalidMessageError.code, message, options);
  }
}

/** No process has this pid (it exited, or its thread died), or no process is registered under the name. */
export class NoProcError extends RosterError {
  static readonly code = 'ROSTER_ERR_NOPROC';
  constructor(message: string) {
    super(NoProcError.code, message);
  }
}

/** A `call` got no reply within its timeout (the request may still run if it was already taken). */
export class CallTimeoutError extends RosterError {
  static readonly code = 'ROSTER_ERR_CALL_TIMEOUT';
  constructor(message: string) {
    super(CallTimeoutError.code, message);
  }
}

/** The callee exited (or its thread died) before it replied; `reason` is its exit reason. */
export class ExitError extends RosterError {
  static readonly code = 'ROSTER_ERR_EXIT';
  /** The exit reason: `'normal'`, `'shutdown'`, a stop reason, `'error: …'`, or the thread's death reason. */
  readonly reason: string;
  constructor(message: string, reason: string) {
    super(ExitError.code, message);
    this.reason = reason;
  }
}

/** A spawn failed: its `init` threw or rejected (`reason` says how); nothing of it remains. */
export class SpawnError extends RosterError {
  static readonly code = 'ROSTER_ERR_SPAWN';
  readonly reason: string;
  constructor(message: string, reason: string) {
    super(SpawnError.code, message);
    this.reason = reason;
  }
}

/** A spawn's name is taken by a live process (`holder`); the new actor's `init` never ran. */
export class AlreadyStartedError extends RosterError {
  static readonly code = 'ROSTER_ERR_ALREADY_STARTED';
  /** The pid that holds the name. */
  readonly holder: number;
  constructor(message: string, holder: number) {
    super(AlreadyStartedError.code, message);
    this.holder = holder;
  }
}

/** A `call` found the callee's mailbox full (see the actor's `mailboxLimit`); the request was not queued. */
export class MailboxFullError extends RosterError {
  static readonly code = 'ROSTER_ERR_MAILBOX_FULL';
  constructor(message: string) {
    super(MailboxFullError.code, message);
  }
}

const kByCode = new Map<string, abstract new (...args: never[]) => RosterError>([
  [InvalidOptionError.code, InvalidOptionError],
  [InvalidKeyError.code, InvalidKeyError],
  [InvalidValueError.code, InvalidValueError],
  [KeyTooLargeError.code, KeyTooLargeError],
  [ValueTooLargeError.code, ValueTooLargeError],
  [CapacityError.code, CapacityError],
  [InvalidMatchSpecError.code, InvalidMatchSpecError],
  [UnsupportedError.code, UnsupportedError],
  [UnknownRegistryError.code, UnknownRegistryError],
  [StaleIncarnationError.code, StaleIncarnationError],
  [TimeoutError.code, TimeoutError],
  [InvalidMessageError.code, InvalidMessageError],
  [NoProcError.code, NoProcError],
  [CallTimeoutError.code, CallTimeoutError],
  [ExitError.code, ExitError],
  [SpawnError.code, SpawnError],
  [AlreadyStartedError.code, AlreadyStartedError],
  [MailboxFullError.code, MailboxFullError],
]);

/** Formats a received value for an error message: `got: 3 (number)`. */
export function describe(value: unknown): string {
  let shown: string;
  try {
    shown = typeof value === 'bigint' ? `${value}n` : typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `${shown} (${type})`;
}
