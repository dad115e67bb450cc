/**
 * The public registry: Elixir's `Registry` over partitioned shared-memory tables.
 *
 * Every method may be called from any thread holding an instance (`Registry.create` or
 * `Registry.attach(handle)`). Reads take no lock and send no message. Writes take one partition's lock
 * for a few hundred nanoseconds and never run user code while holding it.
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { decodeSerialized, encodeKeyBytes, encodeValue, type EncodedValue } from '../memory/codec.js';
import { announce, forget, remember } from '../domain/control.js';
import { Domain, incSlot, makePid, pidInc, pidLocal, isPid, type DeadThread } from '../domain/domain.js';
import { InvalidKeyError, InvalidOptionError, KeyTooLargeError, RosterError, UnknownRegistryError, UnsupportedError, describe } from '../errors.js';
import { KeyRef } from './key-ref.js';
import { withLock } from './lock.js';
import { kRowInc, kRowLocal, kRowPartition, kRowWords, LookupCache } from '../memory/lookup-cache.js';
import { EventSink, listenerChannel, receive, subscriberChannel } from './events.js';
import { hashBytes, hashPid, hashString, partitionOf } from '../memory/hash.js';
import { kCAnnounced, kCClosed, kCSubscribers, kControlWords, kCoordStarting, kValSerialized } from '../layout.js';
import { checkHandle, kKinds, resolveOptions, type RegistryHandle } from './options.js';
import { compileMatchSpec, compileValueMatcher, type Guard, type MatchSpec } from './pattern.js';
import { self } from '../domain/process.js';
import { allocatePartition, kAnyOwner, Table, type Hit, type KeyQuery, type RawEntry } from '../memory/table.js';
import type {
  Entry, Key, KeysKind, MetaResult, Pid, RegisterResult, RegistryEvent, RegistryOptions, UpdateResult,
} from '../types.js';


/** `#resolve` results besides a cache row. */
const kInHit = -1;
const kNotFound = -2;

/**
 * `lock()` holds of the current async context: a nested `lock()` of a key still held throws. A hold
 * is marked released when its `fn` settles, so continuations that outlive it are not refused.
 */
const heldLocks = new AsyncLocalStorage<ReadonlyArray<{ readonly id: string; held: boolean }>>();

/** Internal (actor runtime): told of every registration made by an actor (a process with local ≠ 0). */
let ownerHook: ((reg: Registry<unknown>, key: Key, pid: Pid) => void) | null = null;

/** Internal: installs the actor runtime's registration hook (it removes an actor's entries when it exits). */
export function setOwnerHook(hook: ((reg: Registry<unknown>, key: Key, pid: Pid) => void) | null): void {
  ownerHook = hook;
}

/** Internal hooks, set in the class's static block (they reach private state; not exported by index.ts). */
let sweepImpl: (reg: Registry<unknown>, dead: readonly DeadThread[] | null) => boolean;
let tablesImpl: (reg: Registry<unknown>) => readonly Table[];

/**
 * Internal (coordinator): sweeps the entries of stopped owners from every table of `reg`, recovering
 * locks of stopped holders on the way; `dead` lists the incarnations (their slots narrow the scan), or
 * null for a full sweep by liveness. Never blocks. Returns false if a table was busy (retry later).
 */
export function sweepRegistry(reg: Registry<unknown>, dead: readonly DeadThread[] | null): boolean {
  return sweepImpl(reg, dead);
}

/** Internal (tests, tools): the partition tables of `reg`. */
export function tablesOf<V>(reg: Registry<V>): readonly Table[] {
  return tablesImpl(reg as Registry<unknown>);
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

  readonly #domain: Domain;
  readonly #tables: Table[];
  readonly #meta: Table;
  readonly #locks: Table;
  readonly #control: Int32Array;
  readonly #sink = new EventSink();
  readonly #q: KeyQuery = { isString: true, str: '', bytes: new Uint8Array(0), len: 0, hash: 0 };
  readonly #alive: (inc: number) => boolean;
  readonly #unique: boolean;
  readonly #byPid: boolean;
  readonly #hit: Hit = { epoch: 0, slot: 0, off: 0, inc: 0, local: 0, serial: 0, value: undefined, modHi: -1, modLo: 0 };
  readonly #cache: LookupCache | null;
  /** This instance's listen/subscribe receivers, released by close(). */
  readonly #receivers = new Set<() => void>();

  private constructor(handle: RegistryHandle) {
    this.handle = handle;
    this.name = handle.name;
    this.kind = handle.kind;
    this.partitions = handle.partitions.length;
    this.#domain = Domain.adopt(handle.domain);
    this.#tables = handle.partitions.map((sab) => new Table(sab, this.#domain));
    this.#meta = new Table(handle.meta, this.#domain);
    this.#locks = new Table(handle.locks, this.#domain);
    this.#control = new Int32Array(handle.control);
    const domain = this.#domain;
    this.#alive = (inc) => domain.isAlive(inc);
    this.#unique = handle.kind === 'unique';
    this.#byPid = handle.kind === 'duplicate';
    this.#cache = this.#unique && handle.lookupCache > 0 ? new LookupCache(handle.lookupCache) : null;
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
    reg.#announce(domain);
    return reg;
  }

  /**
   * Tells the coordinator about this registry and, if one runs, waits (blocking, beating this thread's
   * heartbeat, ≤ 5 s) until it has swept and recorded it: otherwise a death declared in between could
   * be marked swept before this registry was swept. A coordinator that is still starting learns of it
   * when it greets every thread (control.ts); until then it marks no death swept.
   */
  #announce(domain: Domain): void {
    announce(this.handle);
    const coordinator = domain.coordinator();
    if (coordinator === 0 || coordinator === kCoordStarting || !domain.isAlive(coordinator) || coordinator === domain.inc) return;
    const deadline = Date.now() + 5000;
    // ORDER: the coordinator stores 1 (and notifies) after attaching and sweeping this registry.
    while (Atomics.load(this.#control, kCAnnounced) === 0 && Date.now() < deadline && domain.isAlive(coordinator)) {
      domain.beat();
      Atomics.wait(this.#control, kCAnnounced, 0, 20);
    }
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

  #check(): void {
    // ORDER: a plain read is enough: close() is a one-way flag that orders nothing else, and another
    // thread's close is seen at its next call or soon after.
    if (this.#control[kCClosed] !== 0) {
      throw new UnknownRegistryError(`unknown registry: ${this.name} (it was closed)`);
    }
  }

  /** Prepares `key` for probing into `q` (the instance's scratch query unless given). */
  #prep(key: Key, q: KeyQuery = this.#q): KeyQuery {
    if (typeof key === 'string') {
      if (key.length * 2 > this.handle.maxKeyBytes) {
        throw new KeyTooLargeError(`${this.name}: key is larger than maxKeyBytes (${this.handle.maxKeyBytes} bytes)`);
      }
      q.isString = true;
      q.str = key;
      q.hash = hashString(key);
      return q;
    }
    let enc: { bytes: Uint8Array; len: number };
    try {
      enc = encodeKeyBytes(key, this.handle.maxKeyBytes);
    } catch (err) {
      if (err instanceof RosterError) err.message = `${this.name}: ${err.message}`;
      throw err;
    }
    const { bytes, len } = enc;
    q.isString = false;
    q.bytes = bytes;
    q.len = len;
    q.hash = hashBytes(bytes, len);
    return q;
  }

  /** The partition of `q` by key (every kind but `'duplicate'` routes this way). */
  #partition(q: KeyQuery): number {
    return this.partitions === 1 ? 0 : partitionOf(q.hash, this.partitions);
  }

  /** A query of the caller's own, kept across awaits or calls (the scratch `#q` is not). */
  #ownQuery(key: Key): KeyQuery {
    const q = this.#prep(key);
    return { ...q, bytes: q.isString ? q.bytes : q.bytes.slice(0, q.len) };
  }

  /** The table that holds `q` (key-routed kinds) or `pid`'s entries (`'duplicate'`). */
  #tableFor(q: KeyQuery, pid: Pid): Table {
    if (!this.#byPid) return this.#tables[this.#partition(q)] as Table;
    return this.#tables[this.partitions === 1 ? 0 : partitionOf(hashPid(pidInc(pid), pidLocal(pid)), this.partitions)] as Table;
  }

  /** Tables that may hold entries under `q`. */
  #tablesFor(q: KeyQuery): readonly Table[] {
    return this.#byPid || this.partitions === 1 ? this.#tables : [this.#tables[this.#partition(q)] as Table];
  }

  #emit(event: RegistryEvent): void {
    for (const l of this.handle.listeners) this.#sink.post(listenerChannel(this.handle.id, l), event);
    if (Atomics.load(this.#control, kCSubscribers) > 0) this.#sink.post(subscriberChannel(this.handle.id), event);
  }

  #hasListeners(): boolean {
    return this.handle.listeners.length > 0 || Atomics.load(this.#control, kCSubscribers) > 0;
  }

  /**
   * Registers the calling process under `key` with `value`. Any thread.
   * Unique: `{ ok: false, reason: 'already_registered', holder }` when a live process holds the key
   * (the holder may be the caller); a holder already declared dead is replaced at once.
   * Duplicate kinds always succeed. Listeners get a `register` event on success.
   * Cost: one partition lock. Throws on a bad key or value before anything changes.
   */
  register(key: Key, value: V): RegisterResult {
    this.#check();
    const v = encodeValue(value, this.handle.maxValueBytes);
    const q = this.#prep(key);
    const pid = self();
    const holder = this.#tableFor(q, pid).insert(q, v, pidInc(pid), pidLocal(pid), this.#unique ? 'unique' : 'duplicate');
    if (holder !== null) return { ok: false, reason: 'already_registered', holder: makePid(holder.inc, holder.local) };
    if (ownerHook !== null && pidLocal(pid) !== 0) ownerHook(this as Registry<unknown>, key, pid);
    if (this.#hasListeners()) this.#emit({ type: 'register', registry: this.name, key, pid, value: stored(v, value) });
    return { ok: true, owner: pid };
  }

  /**
   * Removes every entry of the calling process under `key`. Listeners get an `unregister` event even
   * when there was none (Elixir). Any thread; cost: one partition lock.
   */
  unregister(key: Key): void {
    this.#check();
    const q = this.#prep(key);
    const pid = self();
    const inc = pidInc(pid);
    const local = pidLocal(pid);
    this.#tableFor(q, pid).remove(q, inc, local);
    if (this.#hasListeners()) this.#emit({ type: 'unregister', registry: this.name, key, pid });
  }

  /**
   * Removes the calling process's entries under `key` whose value matches `pattern` and `guards`.
   * Listeners get an `unregister` event only when every entry of the caller under the key went (or
   * there was none), as in Elixir. Patterns and guards run in the caller, outside any lock.
   */
  unregisterMatch(key: Key, pattern: unknown, guards?: readonly Guard[]): void {
    this.#check();
    const test = compileValueMatcher(pattern, guards, 'unregisterMatch');
    const q = this.#prep(key);
    const pid = self();
    const inc = pidInc(pid);
    const local = pidLocal(pid);
    const table = this.#tableFor(q, pid);
    const mine = table.all(q, (i) => i === inc).filter((e) => e.local === local);
    const serials = new Set(mine.filter((e) => test(e.value)).map((e) => e.serial));
    if (serials.size > 0) this.#prep(key, q);
    const removed = serials.size === 0 ? 0 : table.remove(q, inc, local, serials);
    if ((mine.length === 0 || removed === mine.length) && this.#hasListeners()) {
      this.#emit({ type: 'unregister', registry: this.name, key, pid });
    }
  }

  /**
   * Entries under `key`: `[pid, value]` pairs, `[]` when none. Duplicates come in insertion order.
   * Never returns an owner already declared dead. Any thread; lock-free, no message.
   * Cost: one probe in one partition (`'duplicate'`: one probe in every partition).
   */
  lookup(key: Key): Array<Entry<V>> {
    this.#check();
    if (this.#unique) {
      const row = this.#resolve(key);
      if (row >= 0) {
        const c = this.#cache as LookupCache;
        const b = row * kRowWords;
        return [[makePid(c.rows[b + kRowInc] as number, c.rows[b + kRowLocal] as number), c.values[row] as V]];
      }
      return row === kInHit ? [[makePid(this.#hit.inc, this.#hit.local), this.#hit.value as V]] : [];
    }
    return this.#entries(this.#prep(key)).map((e) => [makePid(e.inc, e.local), e.value as V]);
  }

  /**
   * Finds a unique key's entry, through the lookup cache (lookup-cache.ts) when the key is a string or
   * a number. V8 keeps a string's hash inside the string, so the cache's `Map.get` skips hashing; the
   * row is then re-validated in shared memory (three loads of the partition's modification seqlock,
   * else the slot), plus one load for the owner's liveness. An entry that moved or changed is probed
   * again and its row refreshed in place.
   * Returns the cache row (≥ 0), kInHit (found, in `#hit`), or kNotFound.
   */
  #resolve(key: Key): number {
    const cache = this.#cache;
    const cacheable = cache !== null && (typeof key === 'string' || typeof key === 'number');
    if (cacheable) {
      const row = cache.map.get(key);
      if (row !== undefined) {
        const rows = cache.rows;
        const b = row * kRowWords;
        const p = rows[b + kRowPartition] as number;
        const t = this.#tables[p] as Table;
        if (t.stillAt(rows, b) && this.#domain.isAlive(rows[b + kRowInc] as number)) return row;
        const hit = this.#hit;
        if (!t.find(this.#prep(key), this.#domain, hit)) {
          cache.drop(key);
          return kNotFound;
        }
        if (typeof hit.value === 'object' && hit.value !== null) {
          cache.drop(key);
          return kInHit;
        }
        cache.write(row, p, hit);
        return row;
      }
    }
    const p = this.#findUnique(key);
    if (p < 0) return kNotFound;
    const hit = this.#hit;
    if (cacheable && (typeof hit.value !== 'object' || hit.value === null)) cache.put(key, p, hit);
    return kInHit;
  }

  /** Probes for a unique key without the cache; leaves the entry in `#hit` and returns its partition, or -1. */
  #findUnique(key: Key): number {
    const q = this.#prep(key);
    const p = this.#partition(q);
    return (this.#tables[p] as Table).find(q, this.#domain, this.#hit) ? p : -1;
  }

  #entries(q: KeyQuery): RawEntry[] {
    const tables = this.#tablesFor(q);
    if (tables.length === 1) return (tables[0] as Table).all(q, this.#alive);
    const out: RawEntry[] = [];
    for (const t of tables) for (const e of t.all(q, this.#alive)) out.push(e);
    return out;
  }

  /** The pid registered under a unique `key`, or undefined (Elixir's `whereis_name`). Lock-free. */
  whereis(key: Key): Pid | undefined {
    this.#check();
    if (!this.#unique) throw new UnsupportedError(`whereis (via names) is not supported for ${this.kind} registries`);
    const row = this.#resolve(key);
    if (row >= 0) {
      const rows = (this.#cache as LookupCache).rows;
      return makePid(rows[row * kRowWords + kRowInc] as number, rows[row * kRowWords + kRowLocal] as number);
    }
    return row === kInHit ? makePid(this.#hit.inc, this.#hit.local) : undefined;
  }

  /**
   * Resolves a unique `key` once, for repeated `whereis()` / `lookup()` without hashing or a cache
   * lookup (see key-ref.ts). Any thread; the ref is used by the thread that made it.
   */
  ref(key: Key): KeyRef<V> {
    this.#check();
    if (!this.#unique) throw new UnsupportedError(`ref is only supported for unique registries, not ${this.kind}`);
    const q = this.#ownQuery(key);
    return new KeyRef<V>(key, q, this.#tables[this.#partition(q)] as Table, this.#domain, this.#control);
  }

  /** Entries under `key` whose value matches `pattern` and `guards` (the key is literal). Lock-free. */
  match(key: Key, pattern: unknown, guards?: readonly Guard[]): Array<Entry<V>> {
    this.#check();
    const test = compileValueMatcher(pattern, guards, 'match');
    return this.lookup(key).filter((e) => test(e[1]));
  }

  /** How many entries under `key` match. Lock-free. */
  countMatch(key: Key, pattern: unknown, guards?: readonly Guard[]): number {
    this.#check();
    const test = compileValueMatcher(pattern, guards, 'countMatch');
    let n = 0;
    for (const e of this.lookup(key)) if (test(e[1])) n++;
    return n;
  }

  /**
   * Runs a match specification over every entry `[key, pid, value]` and returns the bodies of the
   * matches. Lock-free; cost: every partition. Each partition is read at one moment; there is no
   * snapshot across partitions.
   */
  select(spec: MatchSpec): unknown[] {
    this.#check();
    const compiled = compileMatchSpec(spec, 'select');
    const out: unknown[] = [];
    for (const t of this.#tables) {
      for (const e of t.scan(this.#alive)) {
        const r = compiled.apply(e.key, makePid(e.inc, e.local), e.value);
        if (r.matched) out.push(r.result);
      }
    }
    return out;
  }

  /** How many entries a match specification matches. Lock-free; cost: every partition. */
  countSelect(spec: MatchSpec): number {
    this.#check();
    const compiled = compileMatchSpec(spec, 'countSelect');
    let n = 0;
    for (const t of this.#tables) for (const e of t.scan(this.#alive)) if (compiled.test(e.key, makePid(e.inc, e.local), e.value)) n++;
    return n;
  }

  /**
   * Number of entries (each duplicate registration counts). One atomic load per partition. Includes
   * entries of owners declared dead until they are swept (as Elixir counts dead pids until cleanup).
   */
  count(): number {
    this.#check();
    let n = 0;
    for (const t of this.#tables) n += t.live();
    return n;
  }

  /**
   * Keys `pid` is registered under (unique: each once; duplicate: once per registration), `[]` for a
   * dead or unknown pid. Lock-free; cost: every partition (`'duplicate'`: the pid's partition).
   */
  keys(pid: Pid): Key[] {
    this.#check();
    if (typeof pid !== 'number') throw new InvalidKeyError(`${this.name}: expected a pid, got: ${describe(pid)}`);
    if (!isPid(pid)) return []; // a number no process ever had
    const inc = pidInc(pid);
    const local = pidLocal(pid);
    if (!this.#domain.isAlive(inc)) return [];
    const tables = this.#byPid && this.partitions > 1 ? [this.#tables[partitionOf(hashPid(inc, local), this.partitions)] as Table] : this.#tables;
    const out: Key[] = [];
    const slot = incSlot(inc);
    for (const t of tables) {
      if (t.ownerCount(slot) === 0) continue;
      for (const e of t.scan((i, l) => i === inc && l === local, false)) out.push(e.key);
    }
    return out;
  }

  /** Values `pid` registered under `key`. Lock-free. */
  values(key: Key, pid: Pid): V[] {
    this.#check();
    return this.lookup(key).filter((e) => e[0] === pid).map((e) => e[1]);
  }

  /**
   * Replaces the calling process's value under a unique `key` with `fn(old)`. `{ ok: false }` without
   * calling `fn` when the caller holds no entry under the key. `fn` runs in the caller, outside any lock;
   * the write is applied only if the entry is unchanged meanwhile (else `fn` runs again). No event.
   */
  updateValue<T extends V = V>(key: Key, fn: (old: T) => T): UpdateResult<T> {
    this.#check();
    if (!this.#unique) throw new UnsupportedError(`updateValue is not supported for ${this.kind} registries`);
    const pid = self();
    const inc = pidInc(pid);
    const local = pidLocal(pid);
    for (;;) {
      const p = this.#findUnique(key);
      const e = this.#hit;
      if (p < 0 || e.inc !== inc || e.local !== local) return { ok: false };
      const previous = e.value as T;
      const serial = e.serial;
      const next = fn(previous);
      const v = encodeValue(next, this.handle.maxValueBytes);
      if ((this.#tables[p] as Table).replace(this.#prep(key), v, inc, local, serial)) return { ok: true, value: next, previous };
    }
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
    this.#check();
    if (opts !== undefined && (typeof opts !== 'object' || opts === null)) {
      throw new InvalidOptionError(`expected dispatch options to be an object, got: ${describe(opts)}`);
    }
    const q = this.#prep(key);
    const groups: Array<Array<Entry<V>>> = [];
    for (const t of this.#tablesFor(q)) {
      const es = t.all(q, this.#alive);
      if (es.length > 0) groups.push(es.map((e) => [makePid(e.inc, e.local), e.value as V]));
    }
    if (opts?.parallel === true) return Promise.all(groups.map(async (g) => fn(g))).then(() => undefined);
    for (const g of groups) fn(g);
    return undefined;
  }

  /** Reads registry metadata. Lock-free. */
  meta(key: Key): MetaResult {
    this.#check();
    const hit = this.#hit;
    return this.#meta.find(this.#prep(key), null, hit) ? { ok: true, value: hit.value } : { ok: false };
  }

  /** Stores registry metadata, visible to every thread. One lock on the metadata table. */
  putMeta(key: Key, value: unknown): void {
    this.#check();
    const v = encodeValue(value, this.handle.maxValueBytes);
    this.#meta.insert(this.#prep(key), v, 0, 0, 'upsert');
  }

  /** Deletes registry metadata. */
  deleteMeta(key: Key): void {
    this.#check();
    this.#meta.remove(this.#prep(key), kAnyOwner, 0);
  }

  /**
   * Runs `fn` while holding the out-of-band lock `lockKey`, across every thread attached to this
   * registry. Lock keys are separate from registry keys. Released when `fn` settles (returns, throws or
   * rejects) or when the holder's thread is declared dead. Waiting never blocks the event loop
   * (`Atomics.waitAsync`, re-checked every 50 ms). Not reentrant. Waiters are not served in FIFO order.
   */
  async lock<T>(lockKey: Key, fn: () => T | Promise<T>): Promise<T> {
    this.#check();
    if (typeof fn !== 'function') throw new InvalidOptionError(`expected lock's fn to be a function, got: ${describe(fn)}`);
    const q = this.#ownQuery(lockKey);
    const id = `${this.handle.id}\u0000${q.isString ? `s${q.str}` : `b${Buffer.from(q.bytes.subarray(0, q.len)).toString('base64')}`}`;
    const held = (heldLocks.getStore() ?? []).filter((h) => h.held);
    if (held.some((h) => h.id === id)) {
      throw new RosterError('ROSTER_ERR_REENTRANT', `${this.name}: lock(${describe(lockKey)}) called again inside its own fn; lock() is not reentrant`);
    }
    const hold = { id, held: true };
    const inner = [...held, hold];
    return withLock(this.#locks, q, self(), async () => {
      try {
        return await heldLocks.run(inner, fn);
      } finally {
        hold.held = false;
      }
    }, () => this.#check());
  }

  /** Receives events as the named listener `listener` (see the `listeners` option). Any thread. */
  listen(listener: string, handler: (e: RegistryEvent) => void): () => void {
    this.#check();
    if (!this.handle.listeners.includes(listener)) {
      throw new InvalidOptionError(`${JSON.stringify(listener)} is not a listener of ${this.name}; listeners: ${this.handle.listeners.join(', ')}`);
    }
    return this.#track(receive(listenerChannel(this.handle.id, listener), handler));
  }

  /** Keeps `stop` so that `close()` releases it; returns a stop that also forgets it. */
  #track(stop: () => void): () => void {
    this.#receivers.add(stop);
    return () => {
      this.#receivers.delete(stop);
      stop();
    };
  }

  /** Subscribes to every event of this registry from now on (Roster's addition). Any thread. */
  subscribe(handler: (e: RegistryEvent) => void): () => void {
    this.#check();
    Atomics.add(this.#control, kCSubscribers, 1);
    const stop = receive(subscriberChannel(this.handle.id), handler);
    let on = true;
    return this.#track(() => {
      if (!on) return;
      on = false;
      stop();
      Atomics.sub(this.#control, kCSubscribers, 1);
    });
  }

  /**
   * Closes the registry for every thread: later calls anywhere throw `UnknownRegistryError`. Also
   * releases what this instance holds in the calling thread (its `listen` and `subscribe` receivers
   * and event channels), so a thread whose only remaining work was listening can exit. Idempotent.
   */
  close(): void {
    // ORDER: one CAS, so the domain's open-registry count drops exactly once whoever closes.
    if (Atomics.compareExchange(this.#control, kCClosed, 0, 1) === 0) this.#domain.registryOpened(-1);
    forget(this.handle.id);
    for (const stop of [...this.#receivers]) stop();
    this.#receivers.clear();
    this.#sink.close();
  }

  /** The sweep (see `sweepRegistry`). Coordinator thread. */
  #sweepDead(dead: readonly DeadThread[] | null): boolean {
    if (Atomics.load(this.#control, kCClosed) !== 0) throw new UnknownRegistryError(`unknown registry: ${this.name} (it was closed)`);
    const domain = this.#domain;
    const gone = (inc: number): boolean => domain.isStopped(inc) && !domain.isAlive(inc);
    const slots = dead === null ? null : dead.map((d) => incSlot(d.inc));
    const listeners = this.#hasListeners();
    let complete = true;
    for (const t of [...this.#tables, this.#meta, this.#locks]) {
      if (t === this.#meta) {
        // Metadata has no owner to die; only a lock left by a stopped writer needs recovering.
        const owner = t.lockOwner();
        if (owner !== 0) t.recover(owner);
        continue;
      }
      const removed = t.sweep(gone, listeners && t !== this.#locks, slots);
      if (removed === null) {
        // Busy: done anyway if none of the dead threads has entries here; else try again later.
        if (slots === null || !t.quietFor(slots)) complete = false;
        continue;
      }
      for (const g of removed) this.#emit({ type: 'unregister', registry: this.name, key: g.key, pid: makePid(g.inc, g.local) });
    }
    if (complete && listeners && dead !== null) {
      for (const d of dead) this.#emit({ type: 'down', registry: this.name, pid: makePid(d.inc, 0), reason: d.reason });
    }
    return complete;
  }

  static {
    sweepImpl = (reg, dead) => reg.#sweepDead(dead);
    tablesImpl = (reg) => reg.#tables;
  }

  /**
   * Table counters per partition, for invariant checks and monitoring. `lock` is the incarnation
   * holding the partition lock (0 when free) and `lockHolder` its state: a lock held by a `'fenced'`
   * thread stays held, and writes to that partition time out, until the thread is seen to exit.
   * Lock-free.
   */
  stats(): PartitionStats[] {
    this.#check();
    return this.#tables.map((t) => {
      const st = t.stats();
      return { ...st, lockHolder: st.lock === 0 ? 'none' : this.#domain.isAlive(st.lock) ? 'alive' : this.#domain.isStopped(st.lock) ? 'dead' : 'fenced' };
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

/** The value a listener sees: what was stored (decoded from its encoding), not a second read of the caller's object. */
function stored(v: EncodedValue, value: unknown): unknown {
  return v.tag === kValSerialized && v.bytes !== null ? decodeSerialized(v.bytes) : value;
}
