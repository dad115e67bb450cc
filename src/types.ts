/**
 * Public types of Roster. Everything here is plain data: it crosses threads by structured clone.
 *
 * @module
 */

/**
 * A process id. A plain number (safe integer) built from the owning thread's incarnation and a
 * local process index: `pid = incarnation * 2^31 + local`. The thread's own process has local 0;
 * the actor runtime hands out further local indexes. Pids are not reused within the horizons the
 * README states (2^31 − 1 per thread incarnation; ~4.2 million thread starts), so an old pid is not
 * mistaken for a new one (no ABA). Compare pids with `===`.
 */
export type Pid = number & { readonly __roster_pid?: never };

/**
 * A registry key. Keys compare exactly and by type: `'1'` is not `1`, `'\uD800'` is not `'\uFFFD'`,
 * `1n` is not `1`. Numbers compare like `Map` keys (`-0` is `0`, `NaN` is `NaN`). `Uint8Array`s compare
 * by content. Arrays are tuples and compare element by element.
 */
export type Key = string | number | bigint | boolean | Uint8Array | readonly Key[];

/** Key kinds, as Elixir's `:unique`, `{:duplicate, :pid}` and `{:duplicate, :key}`. */
export type KeysKind = 'unique' | 'duplicate' | 'duplicate-by-key';

/** One registration as `lookup` and `match` return it: the owner's pid and the stored value. */
export type Entry<V = unknown> = [pid: Pid, value: V];

/** What `register` returns. An expected outcome is a value; misuse throws a `RosterError`. */
export type RegisterResult =
  | { readonly ok: true; readonly owner: Pid }
  | { readonly ok: false; readonly reason: 'already_registered'; readonly holder: Pid };

/** What `updateValue` returns: the new and old values, or `{ ok: false }` when the caller holds no entry. */
export type UpdateResult<V = unknown> =
  | { readonly ok: true; readonly value: V; readonly previous: V }
  | { readonly ok: false };

/** What `meta` returns. */
export type MetaResult<V = unknown> = { readonly ok: true; readonly value: V } | { readonly ok: false };

/** A listener event. Register and unregister follow Elixir's rules; `down` is Roster's addition. */
export type RegistryEvent =
  | { readonly type: 'register'; readonly registry: string; readonly key: Key; readonly pid: Pid; readonly value: unknown }
  | { readonly type: 'unregister'; readonly registry: string; readonly key: Key; readonly pid: Pid }
  | { readonly type: 'down'; readonly registry: string; readonly pid: Pid; readonly reason: string };

/** Options for `Registry.create`. */
export interface RegistryOptions {
  /** Key kind. Required. */
  readonly keys: KeysKind;
  /** A name used in events and errors. Default: a generated `registry-<n>`. */
  readonly name?: string;
  /** Number of partitions, a positive integer ≤ 1024. Default 1. */
  readonly partitions?: number;
  /** Names of listeners that receive register/unregister events (see `Registry.listen`). Default []. */
  readonly listeners?: readonly string[];
  /** Initial metadata. Default {}. */
  readonly meta?: Readonly<Record<string, unknown>>;
  /** Largest encoded key, in bytes. Default 4096. */
  readonly maxKeyBytes?: number;
  /** Largest encoded value, in bytes. Default 1 MiB. */
  readonly maxValueBytes?: number;
  /** Largest size one partition's SharedArrayBuffer may grow to, in bytes. Default 256 MiB. */
  readonly maxPartitionBytes?: number;
  /**
   * Entries of the per-thread lookup cache for unique registries (string and number keys; 0 turns it
   * off). A cached entry is re-validated against shared memory on every hit, so it is never stale; it
   * only saves hashing and probing. Holds references to up to this many keys per thread. Default 131072.
   */
  readonly lookupCache?: number;
  /** Slots each partition starts with (rounded up to a power of two). Default 1024. */
  readonly initialCapacity?: number;
}
