/**
 * `src/cluster/`: Roster beyond one machine. A **node** is one Node.js process running Roster; nodes
 * form a cluster through a shared store (Redis 7 today) and get cluster-wide unique names with leases
 * and fencing tokens, membership with node-down detection, `call`/`cast`/`send`/`monitor` to processes
 * of other nodes, and pub-sub across nodes. Loaded only through the `roster-threads/cluster` entry point,
 * so a process that never clusters never loads the Redis client.
 *
 * The folder, one concept per module:
 * - `cluster.ts`: `Cluster`, the public handle (this module): wiring and targets; `options.ts`: its options.
 * - `engine.ts`: the engine-neutral `ClusterEngine` interface; `redis-engine.ts` and `redis-scripts.ts`
 *   implement it on Redis.
 * - `node-state.ts`: the local node (incarnation, lease by the local clock, counters).
 * - `membership.ts`: heartbeat, sweep, the member view; `names.ts`: names, fencing, the lookup cache;
 *   `messenger.ts`: cross-node messaging and monitors; `topics.ts`: pub-sub; `wire.ts`: frames.
 * - `errors.ts`, `types.ts`: the cluster's errors and public types.
 *
 * The cluster API runs on the node's main thread (the thread that joined); it delivers into local
 * actors with the core's public `call`, `cast` and `send`.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import {
  InvalidOptionError, NoProcError, call as localCall, cast as localCast, send as localSend, monitor as localMonitor,
  demonitor as localDemonitor, type Pid,
} from '../index.js';
import type { Member } from './engine.js';
import { ClusterClosedError, ClusterConnectError, NodeDownError } from './errors.js';
import { Membership } from './membership.js';
import { Messenger } from './messenger.js';
import { Names, checkName } from './names.js';
import { NodeState } from './node-state.js';
import { checkOptions, type ClusterOptions } from './options.js';
import { Topics, type PublishResult } from './topics.js';
import type { ClusterDown, ClusterRegisterResult, ClusterStats, ClusterTarget, GlobalPid, Holder, MemberEvent } from './types.js';

/** Events of a `Cluster`. */
export interface ClusterEvents {
  /** A node joined. */
  up: [MemberEvent];
  /** A node was declared down: its names are released, its monitors fired, calls to it failed. */
  down: [MemberEvent];
  /**
   * This node lost its lease (paused or cut off past it): its names are gone and it rejoined as
   * `incarnation`; `null` if it could not (a live member took its name, or Redis was unreachable), in
   * which case this handle has left the cluster.
   */
  lost: [{ readonly previous: number; readonly incarnation: number | null }];
}

function isName(t: unknown): t is { name: string } {
  return typeof t === 'object' && t !== null && typeof (t as { name?: unknown }).name === 'string' && !('node' in t);
}

function checkGlobalPid(t: unknown): GlobalPid {
  const g = t as Partial<GlobalPid> | null;
  if (typeof g !== 'object' || g === null || typeof g.node !== 'string' || !Number.isSafeInteger(g.incarnation) || !Number.isSafeInteger(g.pid) || (g.pid as number) < 0) {
    throw new InvalidOptionError(`expected a global pid { node, incarnation, pid } or a cluster name { name }, got: ${JSON.stringify(t) ?? String(t)}`);
  }
  return g as GlobalPid;
}

function timeoutOf(opts: { timeout?: unknown } | undefined): number {
  const t = opts?.timeout ?? 5000;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > 2 ** 31) throw new InvalidOptionError(`expected timeout to be a number of ms > 0, got: ${String(t)}`);
  return t;
}

/**
 * A node's membership in a cluster. `Cluster.join(options)` connects, joins and starts the node's
 * heartbeat; `leave()` releases its names and disconnects. Main thread of the node.
 */
export class Cluster extends EventEmitter<ClusterEvents> {
  readonly #state: NodeState;
  readonly #membership: Membership;
  readonly #names: Names;
  readonly #messenger: Messenger;
  readonly #topics: Topics;

  private constructor(state: NodeState) {
    super();
    this.#state = state;
    this.#names = new Names(state);
    this.#topics = new Topics(state);
    this.#membership = new Membership(state, {
      event: (e) => this.emit(e.type, e),
      down: (node) => {
        this.#messenger.nodeDown(node);
        this.#names.dropCache(node);
      },
      lost: async (previous, incarnation) => {
        await this.#names.loseAll();
        this.emit('lost', { previous, incarnation });
        // Could not rejoin: a live member took this node's name meanwhile. This handle is done.
        if (incarnation === null) await this.leave();
      },
      reasserted: () => this.#names.reassertAll(),
    });
    this.#messenger = new Messenger(state, this.#membership, () => this.#names.claims());
  }

  /**
   * Connects to the store, joins as `options.node`, and starts heartbeats and sweeps. Rejects with
   * `InvalidOptionError` (bad options, before connecting), `ClusterConnectError` (unreachable, with its
   * `address`), or `NodeNameTakenError` (a live member has this name).
   */
  static async join(options: ClusterOptions): Promise<Cluster> {
    const { engine, node, timing } = checkOptions(options);
    const state = new NodeState(engine, node, timing);
    const c = new Cluster(state);
    await engine.open({
      frame: (p) => c.#messenger.receive(p),
      topic: (t, p) => c.#topics.receive(t, p),
      invalidate: (name) => c.#names.invalidate(name),
      membership: (kind, m) => (kind === 'up' ? c.#membership.declareUp(m.node, m.incarnation) : c.#membership.declareDown(m.node, m.incarnation)),
      reconnected: () => c.#names.dropCache(),
      connection: (up) => {
        if (up) c.#membership.reconnected();
      },
    });
    try {
      await engine.listen(node);
      await c.#membership.join();
      await c.#membership.start();
    } catch (err) {
      c.#membership.stop();
      await engine.close();
      throw err;
    }
    return c;
  }

  /** This node's name. */
  get node(): string {
    return this.#state.node;
  }

  /** This node's incarnation (a new one after it lost its lease). */
  get incarnation(): number {
    return this.#state.incarnation;
  }

  /** The global pid of local pid `pid` (an actor of this node) in this node's current incarnation. */
  pid(pid: Pid): GlobalPid {
    if (!Number.isSafeInteger(pid) || pid < 0) throw new InvalidOptionError(`expected a local pid, got: ${String(pid)}`);
    return this.#state.gpid(pid);
  }

  /** The live members as this node sees them (itself included). */
  members(): Member[] {
    return this.#membership.members();
  }

  /** Counters of this node. */
  stats(): ClusterStats {
    return { ...this.#state.stats };
  }

  #open(): void {
    if (this.#state.closed) throw new ClusterClosedError('the cluster handle was closed with leave()');
  }

  // ---- names ----

  /**
   * Registers local process `pid` (an actor of this node) under cluster-wide `name`, with `value`.
   * Resolves `{ ok: true, owner, fence }`, or `{ ok: false, reason: 'already_registered', holder }`.
   * The name is released when the actor exits, when `unregister` is called, or when the node loses its lease.
   */
  async register(name: string, pid: Pid, value?: unknown): Promise<ClusterRegisterResult> {
    this.#open();
    return this.#names.register(name, pid, value);
  }

  /** Releases `name` if this node holds it; resolves true if it did. */
  async unregister(name: string): Promise<boolean> {
    this.#open();
    return this.#names.unregister(name);
  }

  /**
   * Sets `name`'s value, carrying this node's fencing token for it (or `opts.fence`). Rejects with
   * `FencedError` if that token is not the name's current one: the write is refused by the store.
   */
  async updateValue(name: string, value: unknown, opts?: { fence?: number }): Promise<void> {
    this.#open();
    return this.#names.updateValue(name, value, opts?.fence);
  }

  /** The holder of `name` (pid, fence, value), or undefined. Cached; see the staleness bound in the README. */
  lookup(name: string): Promise<Holder | undefined> {
    try {
      this.#open();
      return this.#names.lookup(name);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The global pid holding `name`, or undefined. Cached, as `lookup`. */
  whereis(name: string): Promise<GlobalPid | undefined> {
    try {
      this.#open();
      const hit = this.#names.cached(checkName(name));
      if (hit !== null) return Promise.resolve(hit?.pid);
      return this.#names.lookup(name).then((h) => h?.pid);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** True while this node believes it holds `name` (registered, and its lease holds by its clock). */
  owns(name: string): boolean {
    return this.#names.owns(checkName(name));
  }

  /** The names node `node` (default: this one) believes it holds now. */
  async claims(node?: string, opts?: { timeout?: number }): Promise<string[]> {
    this.#open();
    if (node === undefined || node === this.#state.node) return this.#names.claims();
    const inc = this.#membership.members().find((m) => m.node === node)?.incarnation;
    if (inc === undefined) throw new NodeDownError(`node ${node} is not a live member`, node);
    return await this.#messenger.call({ node, incarnation: inc, pid: 0 }, null, timeoutOf(opts), 'claims') as string[];
  }

  // ---- messaging ----

  async #resolve(target: ClusterTarget): Promise<GlobalPid> {
    if (isName(target)) {
      const h = await this.#names.lookup(target.name);
      if (h === undefined) throw new NoProcError(`no process holds the cluster name ${JSON.stringify(target.name)}`);
      return h.pid;
    }
    return checkGlobalPid(target);
  }

  /**
   * Calls `target` (a global pid or `{ name }`) and resolves with its reply. Rejects with `NoProcError`,
   * `NodeDownError` (its node is down, at once or when declared), `CallTimeoutError` (default 5000 ms),
   * `ExitError`, `MailboxFullError`, `InvalidMessageError`, or `ClusterConnectError`.
   */
  async call<R = unknown>(target: ClusterTarget, msg: unknown, opts?: { timeout?: number }): Promise<R> {
    this.#open();
    const timeout = timeoutOf(opts);
    const g = await this.#resolve(target);
    if (this.#state.isLocal(g)) return localCall<R>(g.pid, msg, { timeout });
    return await this.#messenger.call(g, msg, timeout) as R;
  }

  /** Casts to `target`; resolves true if the message reached its node (false: no such name, node unreachable). */
  async cast(target: ClusterTarget, msg: unknown): Promise<boolean> {
    return this.#post(target, 'cast', msg);
  }

  /** As `cast`, to `handleInfo`. */
  async send(target: ClusterTarget, msg: unknown): Promise<boolean> {
    return this.#post(target, 'info', msg);
  }

  async #post(target: ClusterTarget, kind: 'cast' | 'info', msg: unknown): Promise<boolean> {
    this.#open();
    let g: GlobalPid;
    try {
      g = await this.#resolve(target);
    } catch (err) {
      if (err instanceof NoProcError || err instanceof ClusterConnectError) return false;
      throw err;
    }
    if (this.#state.isLocal(g)) return (kind === 'cast' ? localCast : localSend)(g.pid, msg);
    try {
      return await this.#messenger.post(g, kind, msg);
    } catch (err) {
      if (err instanceof NodeDownError) return false;
      throw err;
    }
  }

  /**
   * Monitors `target`: `down` resolves with `{ type: 'down', ref, pid, reason }` when it exits (its exit
   * reason), when it does not exist (`'noproc'`), or when its node is declared down (`'node_down'`).
   * `opts.notify`, a local actor's pid, also receives that message at its `handleInfo`.
   */
  async monitor(target: ClusterTarget, opts?: { notify?: Pid }): Promise<{ ref: number; down: Promise<ClusterDown> }> {
    this.#open();
    const notify = opts?.notify;
    if (notify !== undefined && (!Number.isSafeInteger(notify) || notify < 0)) throw new InvalidOptionError(`expected notify to be a local pid, got: ${String(notify)}`);
    let g: GlobalPid;
    try {
      g = await this.#resolve(target);
    } catch (err) {
      if (!(err instanceof NoProcError)) throw err;
      const d: ClusterDown = { type: 'down', ref: 0, pid: { node: '', incarnation: 0, pid: 0 }, reason: 'noproc' };
      if (notify !== undefined) localSend(notify, d);
      return { ref: 0, down: Promise.resolve(d) };
    }
    if (this.#state.isLocal(g)) {
      const m = localMonitor(g.pid);
      const pid = g;
      return {
        ref: -m.ref, down: m.down.then((d) => {
          const cd: ClusterDown = { type: 'down', ref: -m.ref, pid, reason: d.reason };
          if (notify !== undefined) localSend(notify, cd);
          return cd;
        }),
      };
    }
    return this.#messenger.monitor(g, notify);
  }

  /** Cancels a monitor. */
  demonitor(ref: number): void {
    if (ref < 0) localDemonitor(-ref);
    else this.#messenger.demonitor(ref);
  }

  // ---- pub-sub ----

  /** Subscribes local actor `pid` to `topic`: every message published on it, on any node, reaches its `handleInfo`. */
  async subscribe(topic: string, pid: Pid): Promise<void> {
    this.#open();
    return this.#topics.subscribe(topic, pid);
  }

  /** Unsubscribes `pid` from `topic`. */
  async unsubscribe(topic: string, pid: Pid): Promise<void> {
    this.#open();
    return this.#topics.unsubscribe(topic, pid);
  }

  /** Publishes `msg` on `topic`: local subscribers at once, each other node with subscribers by one message. */
  async publish(topic: string, msg: unknown): Promise<PublishResult> {
    this.#open();
    return this.#topics.publish(topic, msg);
  }

  /** Leaves the cluster: releases this node's names, fails its pending calls, disconnects. Idempotent. */
  async leave(): Promise<void> {
    const s = this.#state;
    if (s.closed) return;
    s.closed = true;
    this.#membership.stop();
    this.#messenger.close();
    try {
      await s.engine.leave(s.node, s.incarnation);
    } catch {
      // Unreachable: the lease runs out and the other nodes declare this one down.
    }
    this.#names.clear();
    this.#topics.clear();
    await s.engine.close();
  }
}
