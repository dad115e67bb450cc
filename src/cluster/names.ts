/**
 * Cluster-wide unique names: acquisition under a fencing token, fenced writes, lookups with a local
 * cache, and the `name_conflict` a local actor receives when it loses a name.
 *
 * **Cache and its staleness bound.** A lookup's answer (holder or absence) is kept until the earliest
 * of: an invalidation for the name (published by the very script that changed it), the lease left on
 * the holder's node when it was read (absence: one lease), or a reconnection of the subscription
 * connection (which may have missed invalidations: the whole cache is dropped). An answer read while an
 * invalidation arrived is not cached (the invalidation may concern the state read). So a hit is stale by
 * at most the time an invalidation takes to reach this node, and never longer than a lease even if the
 * invalidation is lost.
 *
 * A name held by a local actor is released when the actor exits (a monitor of the core runtime), as
 * the local registry does.
 *
 * @module
 */
import { InvalidKeyError, InvalidOptionError, InvalidValueError, monitor, demonitor, send, type Pid } from '../index.js';
import type { NameRecord, Owner } from './engine.js';
import { FencedError, NodeDownError } from './errors.js';
import type { NodeState } from './node-state.js';
import type { ClusterRegisterResult, GlobalPid, Holder, NameConflict } from './types.js';
import { decodeValue, encodeValue } from './wire.js';

interface Held {
  readonly pid: Pid;
  readonly fence: number;
  value: string;
  readonly monitorRef: number;
}

interface Cached {
  readonly holder: Holder | undefined;
  readonly until: number;
}

const kMaxName = 1024;

/** Checks a cluster name: a non-empty string of at most 1024 UTF-16 units. */
export function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > kMaxName) {
    throw new InvalidKeyError(`expected a cluster name to be a non-empty string of at most ${kMaxName} characters, got: ${typeof name === 'string' ? JSON.stringify(name.slice(0, 40)) : typeof name}`);
  }
  return name;
}

function encodeNameValue(value: unknown): string {
  try {
    return encodeValue(value);
  } catch (err) {
    throw new InvalidValueError(`a cluster name's value must be structured-cloneable: ${(err as Error).message}`, { cause: err });
  }
}

function holderOf(r: NameRecord): Holder {
  return Object.freeze({ pid: Object.freeze({ node: r.node, incarnation: r.incarnation, pid: r.pid }), fence: r.fence, value: decodeValue(r.value) });
}

/** The names of one node. */
export class Names {
  readonly #state: NodeState;
  readonly #held = new Map<string, Held>();
  readonly #cache = new Map<string, Cached>();
  /** Invalidations this node expects for its own writes, per name (they need no check). */
  readonly #own = new Map<string, number>();
  #invalidations = 0;

  constructor(state: NodeState) {
    this.#state = state;
  }

  #owner(pid: Pid): Owner {
    return { node: this.#state.node, incarnation: this.#state.incarnation, pid };
  }

  #expectOwn(name: string): void {
    this.#own.set(name, (this.#own.get(name) ?? 0) + 1);
  }

  /** Registers local process `pid` under `name`. */
  async register(name: string, pid: Pid, value: unknown): Promise<ClusterRegisterResult> {
    checkName(name);
    if (!Number.isSafeInteger(pid) || pid <= 0) throw new InvalidOptionError(`expected a local pid, got: ${String(pid)}`);
    const encoded = encodeNameValue(value);
    const s = this.#state;
    const mine = this.#held.get(name);
    if (mine !== undefined && s.leaseValid()) return { ok: false, reason: 'already_registered', holder: s.gpid(mine.pid) };
    if (!s.leaseValid()) throw new NodeDownError(`node ${s.node} does not hold its lease now; it is rejoining`, s.node);
    // Monitors first: a bad pid throws here, before anything changes; a dead one releases the name.
    const m = monitor(pid);
    const box: { exited: boolean; held?: Held } = { exited: false };
    void m.down.then(() => {
      box.exited = true;
      if (box.held !== undefined && this.#held.get(name) === box.held) void this.unregister(name).catch(() => {});
    });
    this.#expectOwn(name);
    let r: Awaited<ReturnType<typeof s.engine.acquire>>;
    try {
      r = await s.engine.acquire(name, this.#owner(pid), encoded, s.fenceFloor);
    } catch (err) {
      this.#settleOwn(name);
      demonitor(m.ref);
      throw err;
    }
    this.#cache.delete(name);
    if (!r.ok) {
      this.#settleOwn(name);
      demonitor(m.ref);
      if (r.reason === 'lost') throw new NodeDownError(`node ${s.node} lost its lease; it is rejoining`, s.node);
      s.sawFence(r.holder.fence);
      return { ok: false, reason: 'already_registered', holder: { node: r.holder.node, incarnation: r.holder.incarnation, pid: r.holder.pid } };
    }
    s.sawFence(r.fence);
    box.held = { pid, fence: r.fence, value: encoded, monitorRef: m.ref };
    this.#held.set(name, box.held);
    if (box.exited) void this.unregister(name).catch(() => {});
    return { ok: true, owner: s.gpid(pid), fence: r.fence };
  }

  #settleOwn(name: string): void {
    const n = (this.#own.get(name) ?? 0) - 1;
    if (n > 0) this.#own.set(name, n);
    else this.#own.delete(name);
  }

  /** Releases `name` if this node holds it; true if it was released. */
  async unregister(name: string): Promise<boolean> {
    checkName(name);
    const held = this.#held.get(name);
    if (held === undefined) return false;
    this.#held.delete(name);
    demonitor(held.monitorRef);
    this.#cache.delete(name);
    this.#expectOwn(name);
    const r = await this.#state.engine.fenced(name, this.#owner(held.pid), held.fence, null);
    if (!r.ok) this.#settleOwn(name);
    return r.ok;
  }

  /**
   * Sets the value of `name` with the token this node holds (or `fence`, if given). Rejects with
   * `FencedError` when the token is not the name's now: nothing is written.
   */
  async updateValue(name: string, value: unknown, fence?: number): Promise<void> {
    checkName(name);
    if (fence !== undefined && (!Number.isSafeInteger(fence) || fence < 0)) throw new InvalidOptionError(`expected fence to be a non-negative integer, got: ${String(fence)}`);
    const encoded = encodeNameValue(value);
    const held = this.#held.get(name);
    const token = fence ?? held?.fence ?? 0;
    this.#expectOwn(name);
    const r = await this.#state.engine.fenced(name, this.#owner(held?.pid ?? 0), token, encoded);
    this.#cache.delete(name);
    if (r.ok) {
      if (held !== undefined && held.fence === token) held.value = encoded;
      return;
    }
    this.#settleOwn(name);
    if (held !== undefined && held.fence === token) void this.#lose(name, held);
    throw new FencedError(`write to ${JSON.stringify(name)} with fencing token ${token} refused: the name's token is ${r.current ?? 'none (nobody holds it)'}`, token, r.current);
  }

  /**
   * The holder of `name` if this node can answer without the engine (it holds the name, or the cache
   * has an answer): `undefined` for a cached absence, `null` when it must ask.
   */
  cached(name: string): Holder | undefined | null {
    const s = this.#state;
    const now = Date.now();
    const held = this.#held.get(name);
    if (held !== undefined && s.leaseValid(now)) {
      s.stats.cacheHits++;
      return { pid: s.gpid(held.pid), fence: held.fence, value: decodeValue(held.value) };
    }
    const c = this.#cache.get(name);
    if (c !== undefined && c.until > now) {
      s.stats.cacheHits++;
      return c.holder;
    }
    return null;
  }

  /** The holder of `name`, from the cache when it has an answer. */
  lookup(name: string): Promise<Holder | undefined> {
    checkName(name);
    const hit = this.cached(name);
    return hit !== null ? Promise.resolve(hit) : this.#fetch(name);
  }

  async #fetch(name: string): Promise<Holder | undefined> {
    const s = this.#state;
    const now = Date.now();
    s.stats.cacheMisses++;
    const seen = this.#invalidations;
    const r = await s.engine.lookup(name);
    const holder = r === null ? undefined : holderOf(r);
    if (r !== null) s.sawFence(r.fence);
    // An invalidation that arrived meanwhile may concern the state just read: do not cache it.
    if (seen === this.#invalidations) this.#cache.set(name, { holder, until: now + (r === null ? s.timing.leaseMs : r.ttlMs) });
    return holder;
  }

  /** True while this node believes it holds `name`: it registered it and its lease holds by its clock. */
  owns(name: string): boolean {
    return this.#held.has(name) && this.#state.leaseValid();
  }

  /** Every name this node believes it holds now. */
  claims(): string[] {
    return this.#state.leaseValid() ? [...this.#held.keys()] : [];
  }

  /** An invalidation from the engine. */
  invalidate(name: string): void {
    this.#invalidations++;
    this.#cache.delete(name);
    if (this.#own.has(name)) {
      this.#settleOwn(name);
      return;
    }
    const held = this.#held.get(name);
    // Somebody else changed a name this node holds: check who holds it now.
    if (held !== undefined) void this.#verify(name, held);
  }

  async #verify(name: string, held: Held): Promise<void> {
    try {
      const r = await this.#state.engine.lookup(name);
      if (r !== null && r.node === this.#state.node && r.incarnation === this.#state.incarnation && r.fence === held.fence) return;
      if (this.#held.get(name) === held) await this.#lose(name, held, r);
    } catch {
      // Unreachable store: the lease check decides.
    }
  }

  /** Drops every cached answer (invalidations may have been missed) and those naming `node`. */
  dropCache(node?: string): void {
    this.#invalidations++;
    if (node === undefined) {
      this.#cache.clear();
      this.#own.clear();
      return;
    }
    for (const [k, c] of this.#cache) if (c.holder?.pid.node === node) this.#cache.delete(k);
  }

  /** This node lost its lease: every name is lost; each holder gets a `name_conflict`. */
  async loseAll(): Promise<void> {
    const all = [...this.#held];
    await Promise.all(all.map(([name, held]) => this.#lose(name, held)));
  }

  /** After Redis lost its data while this node's lease held: writes every name back under its token. */
  async reassertAll(): Promise<void> {
    const s = this.#state;
    await Promise.all([...this.#held].map(async ([name, held]) => {
      this.#expectOwn(name);
      let ok = false;
      try {
        ok = await s.engine.reassert(name, this.#owner(held.pid), held.fence, held.value);
      } catch {
        return;
      }
      if (!ok) {
        this.#settleOwn(name);
        await this.#lose(name, held);
      }
    }));
  }

  async #lose(name: string, held: Held, known?: NameRecord | null): Promise<void> {
    if (this.#held.get(name) !== held) return;
    this.#held.delete(name);
    demonitor(held.monitorRef);
    let winner: GlobalPid | null = null;
    try {
      const r = known !== undefined ? known : await this.#state.engine.lookup(name);
      if (r !== null) winner = { node: r.node, incarnation: r.incarnation, pid: r.pid };
    } catch {
      // Unreachable store: the winner is unknown.
    }
    this.#state.stats.conflicts++;
    const msg: NameConflict = { type: 'name_conflict', name, fence: held.fence, winner };
    send(held.pid, msg);
  }

  /** Forgets every held name without releasing it (leave does it in one script). */
  clear(): void {
    for (const h of this.#held.values()) demonitor(h.monitorRef);
    this.#held.clear();
    this.#cache.clear();
  }
}
