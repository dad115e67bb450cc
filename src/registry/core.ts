/**
 * One registry instance's state in one thread, and the steps every call shares: the closed check,
 * preparing a key for probing, routing it to its partition, posting events, the announcement to the
 * coordinator, and the receivers `close()` releases. `Registry` (registry.ts) holds one in a private
 * field, so none of it is reachable from the public API; the calls themselves live in lookups.ts,
 * select.ts, writes.ts, meta.ts and sweep.ts.
 *
 * @module
 */
import { encodeKeyBytes } from '../memory/codec.js';
import { announce, forget } from '../domain/control.js';
import { Domain, pidInc, pidLocal } from '../domain/domain.js';
import { InvalidOptionError, KeyTooLargeError, RosterError, UnknownRegistryError } from '../errors.js';
import { LookupCache } from '../memory/lookup-cache.js';
import { EventSink, listenerChannel, receive, subscriberChannel } from './events.js';
import { hashBytes, hashPid, hashString, partitionOf } from '../memory/hash.js';
import { kCAnnounced, kCClosed, kCSubscribers, kCoordStarting } from '../layout.js';
import type { RegistryHandle } from './options.js';
import { Table, type Hit, type KeyQuery } from '../memory/table.js';
import type { Key, Pid, RegistryEvent } from '../types.js';

/** The state of one registry instance in the calling thread. Internal: reached only through `Registry`. */
export class RegistryCore {
  readonly handle: RegistryHandle;
  /** The registry's name (used in events and errors). */
  readonly name: string;
  /** Number of partitions. */
  readonly partitions: number;
  readonly domain: Domain;
  readonly tables: Table[];
  readonly meta: Table;
  readonly locks: Table;
  readonly control: Int32Array;
  readonly sink = new EventSink();
  readonly q: KeyQuery = { isString: true, str: '', bytes: new Uint8Array(0), len: 0, hash: 0 };
  readonly alive: (inc: number) => boolean;
  readonly unique: boolean;
  readonly byPid: boolean;
  readonly hit: Hit = { epoch: 0, slot: 0, off: 0, inc: 0, local: 0, serial: 0, value: undefined, modHi: -1, modLo: 0 };
  readonly cache: LookupCache | null;
  /** This instance's listen/subscribe receivers, released by close(). */
  readonly receivers = new Set<() => void>();

  constructor(handle: RegistryHandle) {
    this.handle = handle;
    this.name = handle.name;
    this.partitions = handle.partitions.length;
    this.domain = Domain.adopt(handle.domain);
    this.tables = handle.partitions.map((sab) => new Table(sab, this.domain));
    this.meta = new Table(handle.meta, this.domain);
    this.locks = new Table(handle.locks, this.domain);
    this.control = new Int32Array(handle.control);
    const domain = this.domain;
    this.alive = (inc) => domain.isAlive(inc);
    this.unique = handle.kind === 'unique';
    this.byPid = handle.kind === 'duplicate';
    this.cache = this.unique && handle.lookupCache > 0 ? new LookupCache(handle.lookupCache) : null;
  }

  /**
   * Tells the coordinator about this registry and, if one runs, waits (blocking, beating this thread's
   * heartbeat, ≤ 5 s) until it has swept and recorded it: otherwise a death declared in between could
   * be marked swept before this registry was swept. A coordinator that is still starting learns of it
   * when it greets every thread (control.ts); until then it marks no death swept.
   */
  announce(domain: Domain): void {
    announce(this.handle);
    const coordinator = domain.coordinator();
    if (coordinator === 0 || coordinator === kCoordStarting || !domain.isAlive(coordinator) || coordinator === domain.inc) return;
    const deadline = Date.now() + 5000;
    // ORDER: the coordinator stores 1 (and notifies) after attaching and sweeping this registry.
    while (Atomics.load(this.control, kCAnnounced) === 0 && Date.now() < deadline && domain.isAlive(coordinator)) {
      domain.beat();
      Atomics.wait(this.control, kCAnnounced, 0, 20);
    }
  }

  check(): void {
    // ORDER: a plain read is enough: close() is a one-way flag that orders nothing else, and another
    // thread's close is seen at its next call or soon after.
    if (this.control[kCClosed] !== 0) {
      throw new UnknownRegistryError(`unknown registry: ${this.name} (it was closed)`);
    }
  }

  /** Prepares `key` for probing into `q` (the instance's scratch query unless given). */
  prep(key: Key, q: KeyQuery = this.q): KeyQuery {
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
  partition(q: KeyQuery): number {
    return this.partitions === 1 ? 0 : partitionOf(q.hash, this.partitions);
  }

  /** A query of the caller's own, kept across awaits or calls (the scratch `q` is not). */
  ownQuery(key: Key): KeyQuery {
    const q = this.prep(key);
    return { ...q, bytes: q.isString ? q.bytes : q.bytes.slice(0, q.len) };
  }

  /** The table that holds `q` (key-routed kinds) or `pid`'s entries (`'duplicate'`). */
  tableFor(q: KeyQuery, pid: Pid): Table {
    if (!this.byPid) return this.tables[this.partition(q)] as Table;
    return this.tables[this.partitions === 1 ? 0 : partitionOf(hashPid(pidInc(pid), pidLocal(pid)), this.partitions)] as Table;
  }

  /** Tables that may hold entries under `q`. */
  tablesFor(q: KeyQuery): readonly Table[] {
    return this.byPid || this.partitions === 1 ? this.tables : [this.tables[this.partition(q)] as Table];
  }

  emit(event: RegistryEvent): void {
    for (const l of this.handle.listeners) this.sink.post(listenerChannel(this.handle.id, l), event);
    if (Atomics.load(this.control, kCSubscribers) > 0) this.sink.post(subscriberChannel(this.handle.id), event);
  }

  hasListeners(): boolean {
    return this.handle.listeners.length > 0 || Atomics.load(this.control, kCSubscribers) > 0;
  }

  /** `registry.listen`: receives events as the named listener `listener`. */
  listen(listener: string, handler: (e: RegistryEvent) => void): () => void {
    this.check();
    if (!this.handle.listeners.includes(listener)) {
      throw new InvalidOptionError(`${JSON.stringify(listener)} is not a listener of ${this.name}; listeners: ${this.handle.listeners.join(', ')}`);
    }
    return this.#track(receive(listenerChannel(this.handle.id, listener), handler));
  }

  /** Keeps `stop` so that `close()` releases it; returns a stop that also forgets it. */
  #track(stop: () => void): () => void {
    this.receivers.add(stop);
    return () => {
      this.receivers.delete(stop);
      stop();
    };
  }

  /** `registry.subscribe`: every event of this registry from now on. */
  subscribe(handler: (e: RegistryEvent) => void): () => void {
    this.check();
    Atomics.add(this.control, kCSubscribers, 1);
    const stop = receive(subscriberChannel(this.handle.id), handler);
    let on = true;
    return this.#track(() => {
      if (!on) return;
      on = false;
      stop();
      Atomics.sub(this.control, kCSubscribers, 1);
    });
  }

  /** `registry.close`: closes the registry for every thread and releases this instance's receivers. */
  close(): void {
    // ORDER: one CAS, so the domain's open-registry count drops exactly once whoever closes.
    if (Atomics.compareExchange(this.control, kCClosed, 0, 1) === 0) this.domain.registryOpened(-1);
    forget(this.handle.id);
    for (const stop of [...this.receivers]) stop();
    this.receivers.clear();
    this.sink.close();
  }
}
