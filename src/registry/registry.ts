/**
 * The public registry: Elixir's `Registry` over partitioned shared-memory tables.
 *
 * Folder `src/registry/` (layer 3; imports memory and domain): the public Registry. This module is its
 * API; an instance's state is in core.ts and the calls in lookups.ts, select.ts, writes.ts and meta.ts,
 * the coordinator's sweep of it in sweep.ts. Patterns and match specs: pattern.ts, guards.ts, terms.ts,
 * deep-equal.ts. Also `registry.ref(key)` (key-ref.ts), `registry.lock(key, fn)` (lock.ts), listener
 * events (events.ts) and options and handles (options.ts).
 *
 * Every method may be called from any thread holding an instance (`Registry.create` or
 * `Registry.attach(handle)`). Reads take no lock and send no message. Writes take one partition's lock
 * for a few hundred nanoseconds and never run user code while holding it.
 *
 * @module
 */
import { remember } from '../domain/control.js';
import { Domain, type DeadThread } from '../domain/domain.js';
import type { KeyRef } from './key-ref.js';
import { runLocked } from './lock.js';
import { kControlWords } from '../layout.js';
import { checkHandle, kKinds, resolveOptions, type RegistryHandle } from './options.js';
import type { Guard, MatchSpec } from './pattern.js';
import { allocatePartition, type Table } from '../memory/table.js';
import { RegistryCore } from './core.js';
import { lookup, ref, whereis } from './lookups.js';
import { deleteMeta, meta, putMeta } from './meta.js';
import { count, countMatch, countSelect, dispatch, keys, match, select, values } from './select.js';
import { sweepDead } from './sweep.js';
import { register, unregister, unregisterMatch, updateValue } from './writes.js';
import type {
  Entry, Key, KeysKind, MetaResult, Pid, RegisterResult, RegistryEvent, RegistryOptions, UpdateResult,
} from '../types.js';

/** Internal (actor runtime): told of every registration made by an actor (a process with local ≠ 0). */
let ownerHook: ((reg: Registry<unknown>, key: Key, pid: Pid) => void) | null = null;

/** Internal: installs the actor runtime's registration hook (it removes an actor's entries when it exits). */
export function setOwnerHook(hook: ((reg: Registry<unknown>, key: Key, pid: Pid) => void) | null): void {
  ownerHook = hook;
}

/** Internal: an instance's core, set in the class's static block (it reaches private state; not exported by index.ts). */
let coreOf: (reg: Registry<unknown>) => RegistryCore;

/**
 * Internal (coordinator): sweeps the entries of stopped owners from every table of `reg`, recovering
 * locks of stopped holders on the way; `dead` lists the incarnations (their slots narrow the scan), or
 * null for a full sweep by liveness. Never blocks. Returns false if a table was busy (retry later).
 */
export function sweepRegistry(reg: Registry<unknown>, dead: readonly DeadThread[] | null): boolean {
  return sweepDead(coreOf(reg), dead);
}

/** Internal (tests, tools): the partition tables of `reg`. */
export function tablesOf<V>(reg: Registry<V>): readonly Table[] {
  return coreOf(reg as Registry<unknown>).tables;
}

/**
 * A registry instance in one thread. Create with `Registry.create`, share `handle`, `Registry.attach`
 * elsewhere. `V` types the values (`Registry.create<Room>(…)`); it is a compile-time promise only.
 */
export class Registry<V = unknown> {
  /** Structured-cloneable description; pass it to workers through `workerData` or `postMessage`. */
  readonly handle: RegistryHandle;
  /** The registry's name (used in events and errors). */
  readonly name: string;
  /** Key kind. */
  readonly kind: KeysKind;
  /** Number of partitions. */
  readonly partitions: number;
  readonly #c: RegistryCore;

  private constructor(handle: RegistryHandle) {
    this.handle = handle;
    this.name = handle.name;
    this.kind = handle.kind;
    this.partitions = handle.partitions.length;
    this.#c = new RegistryCore(handle);
  }

  /**
   * Creates a registry. Any thread. Validates every option before allocating (`InvalidOptionError`).
   * Cost: one SharedArrayBuffer per partition, plus two small ones for metadata and locks.
   */
  static create<V = unknown>(options: RegistryOptions): Registry<V> {
    const o = resolveOptions(options);
    const domain = Domain.current();
    const kind = kKinds.indexOf(o.keys);
    const handle: RegistryHandle = {
      roster: 1,
      id: `${o.name}#${domain.sab.byteLength}:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2)}`,
      name: o.name,
      kind: o.keys,
      listeners: o.listeners,
      maxKeyBytes: o.maxKeyBytes,
      maxValueBytes: o.maxValueBytes,
      lookupCache: o.lookupCache,
      domain: domain.sab,
      control: new SharedArrayBuffer(kControlWords * 4),
      partitions: Array.from({ length: o.partitions }, () => allocatePartition(o.initialCapacity, o.maxPartitionBytes, kind)),
      meta: allocatePartition(16, o.maxPartitionBytes, kind),
      locks: allocatePartition(16, o.maxPartitionBytes, kind),
    };
    const reg = new Registry<V>(handle);
    for (const [k, v] of o.meta) reg.putMeta(k, v);
    domain.registryOpened(1);
    reg.#c.announce(domain);
    return reg;
  }

  /**
   * Attaches to a registry from its handle. Any thread (worker, piscina task worker, main). The first
   * handle a thread attaches also decides its domain. Throws `UnknownRegistryError` for a non-handle.
   */
  static attach<V = unknown>(handle: RegistryHandle): Registry<V> {
    const reg = new Registry<V>(checkHandle(handle));
    remember(reg.handle);
    return reg;
  }

  /**
   * Registers the calling process under `key` with `value`. Any thread.
   * Unique: `{ ok: false, reason: 'already_registered', holder }` when a live process holds the key
   * (the holder may be the caller); a holder already declared dead is replaced at once.
   * Duplicate kinds always succeed. Listeners get a `register` event on success.
   * Cost: one partition lock. Throws on a bad key or value before anything changes.
   */
  register(key: Key, value: V): RegisterResult {
    return register(this.#c, key, value, this as Registry<unknown>, ownerHook);
  }

  /**
   * Removes every entry of the calling process under `key`. Listeners get an `unregister` event even
   * when there was none (Elixir). Any thread; cost: one partition lock.
   */
  unregister(key: Key): void {
    unregister(this.#c, key);
  }

  /**
   * Removes the calling process's entries under `key` whose value matches `pattern` and `guards`.
   * Listeners get an `unregister` event only when every entry of the caller under the key went (or
   * there was none), as in Elixir. Patterns and guards run in the caller, outside any lock.
   */
  unregisterMatch(key: Key, pattern: unknown, guards?: readonly Guard[]): void {
    unregisterMatch(this.#c, key, pattern, guards);
  }

  /**
   * Entries under `key`: `[pid, value]` pairs, `[]` when none. Duplicates come in insertion order.
   * Never returns an owner already declared dead. Any thread; lock-free, no message.
   * Cost: one probe in one partition (`'duplicate'`: one probe in every partition).
   */
  lookup(key: Key): Array<Entry<V>> {
    return lookup<V>(this.#c, key);
  }

  /** The pid registered under a unique `key`, or undefined (Elixir's `whereis_name`). Lock-free. */
  whereis(key: Key): Pid | undefined {
    return whereis(this.#c, key);
  }

  /**
   * Resolves a unique `key` once, for repeated `whereis()` / `lookup()` without hashing or a cache
   * lookup (see key-ref.ts). Any thread; the ref is used by the thread that made it.
   */
  ref(key: Key): KeyRef<V> {
    return ref<V>(this.#c, key);
  }

  /** Entries under `key` whose value matches `pattern` and `guards` (the key is literal). Lock-free. */
  match(key: Key, pattern: unknown, guards?: readonly Guard[]): Array<Entry<V>> {
    return match<V>(this.#c, key, pattern, guards);
  }

  /** How many entries under `key` match. Lock-free. */
  countMatch(key: Key, pattern: unknown, guards?: readonly Guard[]): number {
    return countMatch(this.#c, key, pattern, guards);
  }

  /**
   * Runs a match specification over every entry `[key, pid, value]` and returns the bodies of the
   * matches. Lock-free; cost: every partition. Each partition is read at one moment; there is no
   * snapshot across partitions.
   */
  select(spec: MatchSpec): unknown[] {
    return select(this.#c, spec);
  }

  /** How many entries a match specification matches. Lock-free; cost: every partition. */
  countSelect(spec: MatchSpec): number {
    return countSelect(this.#c, spec);
  }

  /**
   * Number of entries (each duplicate registration counts). One atomic load per partition. Includes
   * entries of owners declared dead until they are swept (as Elixir counts dead pids until cleanup).
   */
  count(): number {
    return count(this.#c);
  }

  /**
   * Keys `pid` is registered under (unique: each once; duplicate: once per registration), `[]` for a
   * dead or unknown pid. Lock-free; cost: every partition (`'duplicate'`: the pid's partition).
   */
  keys(pid: Pid): Key[] {
    return keys(this.#c, pid);
  }

  /** Values `pid` registered under `key`. Lock-free. */
  values(key: Key, pid: Pid): V[] {
    return values<V>(this.#c, key, pid);
  }

  /**
   * Replaces the calling process's value under a unique `key` with `fn(old)`. `{ ok: false }` without
   * calling `fn` when the caller holds no entry under the key. `fn` runs in the caller, outside any lock;
   * the write is applied only if the entry is unchanged meanwhile (else `fn` runs again). No event.
   */
  updateValue<T extends V = V>(key: Key, fn: (old: T) => T): UpdateResult<T> {
    return updateValue<T>(this.#c, key, fn);
  }

  /**
   * Calls `fn` with the entries under `key`, never with `[]`: once for unique and `'duplicate-by-key'`
   * registries, once per non-empty partition for `'duplicate'`. Serial by default, in the caller;
   * with `{ parallel: true }` the calls run concurrently (as promises) and the result is a promise.
   * Exceptions propagate.
   */
  dispatch(key: Key, fn: (entries: Array<Entry<V>>) => void, opts?: { parallel?: false }): void;
  dispatch(key: Key, fn: (entries: Array<Entry<V>>) => unknown, opts: { parallel: true }): Promise<void>;
  dispatch(key: Key, fn: (entries: Array<Entry<V>>) => unknown, opts?: { parallel?: boolean }): void | Promise<void> {
    return dispatch<V>(this.#c, key, fn, opts);
  }

  /** Reads registry metadata. Lock-free. */
  meta(key: Key): MetaResult {
    return meta(this.#c, key);
  }

  /** Stores registry metadata, visible to every thread. One lock on the metadata table. */
  putMeta(key: Key, value: unknown): void {
    putMeta(this.#c, key, value);
  }

  /** Deletes registry metadata. */
  deleteMeta(key: Key): void {
    deleteMeta(this.#c, key);
  }

  /**
   * Runs `fn` while holding the out-of-band lock `lockKey`, across every thread attached to this
   * registry. Lock keys are separate from registry keys. Released when `fn` settles (returns, throws or
   * rejects) or when the holder's thread is declared dead. Waiting never blocks the event loop
   * (`Atomics.waitAsync`, re-checked every 50 ms). Not reentrant. Waiters are not served in FIFO order.
   */
  lock<T>(lockKey: Key, fn: () => T | Promise<T>): Promise<T> {
    return runLocked(this.#c, lockKey, fn);
  }

  /** Receives events as the named listener `listener` (see the `listeners` option). Any thread. */
  listen(listener: string, handler: (e: RegistryEvent) => void): () => void {
    return this.#c.listen(listener, handler);
  }

  /** Subscribes to every event of this registry from now on (Roster's addition). Any thread. */
  subscribe(handler: (e: RegistryEvent) => void): () => void {
    return this.#c.subscribe(handler);
  }

  /**
   * Closes the registry for every thread: later calls anywhere throw `UnknownRegistryError`. Also
   * releases what this instance holds in the calling thread (its `listen` and `subscribe` receivers
   * and event channels), so a thread whose only remaining work was listening can exit. Idempotent.
   */
  close(): void {
    this.#c.close();
  }

  static {
    coreOf = (reg) => reg.#c;
  }

  /**
   * Table counters per partition, for invariant checks and monitoring. `lock` is the incarnation
   * holding the partition lock (0 when free) and `lockHolder` its state: a lock held by a `'fenced'`
   * thread stays held, and writes to that partition time out, until the thread is seen to exit.
   * Lock-free.
   */
  stats(): PartitionStats[] {
    const r = this.#c;
    r.check();
    return r.tables.map((t) => {
      const st = t.stats();
      return { ...st, lockHolder: st.lock === 0 ? 'none' : r.domain.isAlive(st.lock) ? 'alive' : r.domain.isStopped(st.lock) ? 'dead' : 'fenced' };
    });
  }
}

/** One partition's counters, from `registry.stats()`. */
export interface PartitionStats {
  /** Entries, including those of dead owners not yet swept. */
  readonly live: number;
  /** Occupied slots: entries plus tombstones. */
  readonly used: number;
  /** Slots (a power of two). */
  readonly capacity: number;
  /** Size of the partition's buffer. */
  readonly bytes: number;
  /** Bumped by every growth or compaction. */
  readonly epoch: number;
  /** Incarnation holding the partition lock, or 0. */
  readonly lock: number;
  /** State of the lock's holder. */
  readonly lockHolder: 'none' | 'alive' | 'fenced' | 'dead';
}
