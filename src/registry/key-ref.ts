/**
 * A resolved key: `registry.ref(key)` hashes and routes a unique key once, and remembers where its
 * entry was found. Every later `whereis()` or `lookup()` re-validates that place against shared memory
 * (the partition's modification seqlock, else the slot itself, plus the owner's liveness) and probes
 * again, without re-hashing, only when the entry changed. The form for hot paths that look the same
 * key up again and again: an actor messaging a peer, a router resolving a room.
 *
 * Threads: the thread that made it (it holds a thread-local view). Consistency: as `lookup`.
 *
 * @module
 */
import type { Domain } from '../domain/domain.js';
import { makePid } from '../domain/domain.js';
import { UnknownRegistryError } from '../errors.js';
import { kCClosed } from '../layout.js';
import type { Hit, KeyQuery, Table } from '../memory/table.js';
import type { Entry, Key, Pid } from '../types.js';

/** A unique key resolved once; see the module doc. Create with `registry.ref(key)`. */
export class KeyRef<V = unknown> {
  /** The key, as given. */
  readonly key: Key;
  readonly #table: Table;
  readonly #domain: Domain;
  readonly #control: Int32Array;
  readonly #q: KeyQuery;
  /** True while the fields below describe a found entry whose value may be handed out again (a primitive). */
  #valid = false;
  // @internal The place and entry `find` fills in. They live on the ref itself, not in a separate
  // object, so the hot path touches one object. Not part of the API.
  /** @internal */ epoch = 0;
  /** @internal */ slot = 0;
  /** @internal */ off = 0;
  /** @internal */ inc = 0;
  /** @internal */ local = 0;
  /** @internal */ serial = 0;
  /** @internal */ value: unknown = undefined;
  /** @internal */ modHi = -1;
  /** @internal */ modLo = 0;

  /** @internal Use `registry.ref(key)`. */
  constructor(key: Key, q: KeyQuery, table: Table, domain: Domain, control: Int32Array) {
    this.key = key;
    this.#q = q;
    this.#table = table;
    this.#domain = domain;
    this.#control = control;
  }

  #resolve(): boolean {
    // ORDER: a plain read of the closed flag, as in Registry.
    if (this.#control[kCClosed] !== 0) throw new UnknownRegistryError('unknown registry (it was closed)');
    const hit = this as unknown as Hit;
    if (this.#valid && this.#table.still(hit) && this.#domain.isAlive(this.inc)) return true;
    const found = this.#table.find(this.#q, this.#domain, hit);
    // An object value is decoded afresh on each probe, so callers never share one.
    this.#valid = found && (typeof this.value !== 'object' || this.value === null);
    return found;
  }

  /** The owner's pid, or undefined. Lock-free; on an unchanged entry, four atomic loads of hot words. */
  whereis(): Pid | undefined {
    return this.#resolve() ? makePid(this.inc, this.local) : undefined;
  }

  /** `[[pid, value]]`, or `[]`: as `registry.lookup(key)`. */
  lookup(): Array<Entry<V>> {
    return this.#resolve() ? [[makePid(this.inc, this.local), this.value as V]] : [];
  }
}
