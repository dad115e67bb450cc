/**
 * Membership: this node's heartbeat (its lease), the sweep that declares lapsed nodes down, and the
 * local view of live members.
 *
 * - Every `heartbeatMs` the node renews its lease (a heartbeat key with a TTL of `leaseMs`).
 * - Every `sweepMs` it runs the sweep script, which atomically declares down every member whose key has
 *   expired (releasing its names), and returns the live members. Keyspace expiry notifications are not
 *   used: Redis does not promise when they fire. A node that stops heartbeating is therefore declared
 *   down within `leaseMs + sweepMs` (plus a round trip) of its last renewal.
 * - The `down` message the sweep script publishes reaches the other nodes at once; the sweep result
 *   is the truth that catches any message lost on the way.
 * - If the heartbeat finds the lease gone, the node's own clock said when it was sent that the lease
 *   cannot have run out, and the store's epoch changed (Redis lost its data: a restart without
 *   persistence), the node writes its lease and names back. The epoch check matters: a node paused
 *   between taking the time and sending the heartbeat would otherwise write back a lease that ran out. For one lease after the connection comes back, members missing from Redis are not declared
 *   down, so that they can do the same.
 * - If the lease did run out (the node was paused, or cut off from Redis, past it), the node has lost
 *   its names: each holder gets a `name_conflict`, and the node joins again under a new incarnation.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { NodeNameTakenError } from './errors.js';
import type { HeartbeatReply, Member } from './engine.js';
import type { NodeState } from './node-state.js';
import type { MemberEvent } from './types.js';

/** What membership tells the rest of the node. */
export interface MembershipHooks {
  event(e: MemberEvent): void;
  /** `node` was declared down. */
  down(node: string): void;
  /** This node's lease was lost; it rejoined as `incarnation` (or could not: `null`). */
  lost(previous: number, incarnation: number | null, error?: unknown): Promise<void>;
  /** Redis lost its data and this node's lease was written back: names must be too. */
  reasserted(): Promise<void>;
}

/** Membership of one node. */
export class Membership {
  readonly #state: NodeState;
  readonly #hooks: MembershipHooks;
  readonly #view = new Map<string, number>();
  /** When each view entry was added, by `#seq`: a sweep sent before an entry was added cannot see it. */
  readonly #addedAt = new Map<string, number>();
  #seq = 0;
  readonly #downed = new Set<string>();
  #heartbeat: NodeJS.Timeout | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #beating = false;
  #sweeping = false;
  #graceUntil = 0;

  constructor(state: NodeState, hooks: MembershipHooks) {
    this.#state = state;
    this.#hooks = hooks;
  }

  /** Joins under a new incarnation; throws `NodeNameTakenError` if a live member has the name. */
  async join(): Promise<void> {
    const s = this.#state;
    const sentAt = Date.now();
    const r = await s.engine.join(s.node, s.timing.leaseMs, randomUUID());
    if (!r.ok) throw new NodeNameTakenError(`a live member of the cluster is already named ${s.node}`, s.node);
    s.incarnation = r.incarnation;
    s.epoch = r.epoch;
    s.leaseUntil = 0;
    s.renewed(sentAt);
    this.#view.set(s.node, r.incarnation);
  }

  /** Starts the heartbeat and sweep timers and takes a first view. */
  async start(): Promise<void> {
    await this.sweep();
    const t = this.#state.timing;
    this.#heartbeat = setInterval(() => void this.beat(), t.heartbeatMs);
    this.#sweeper = setInterval(() => void this.sweep(), t.sweepMs);
    // The timers keep the process alive while it is a member, as a server socket would.
  }

  stop(): void {
    clearInterval(this.#heartbeat);
    clearInterval(this.#sweeper);
  }

  /** 'up', 'down' (declared down) or 'unknown'. */
  status(node: string, incarnation: number): 'up' | 'down' | 'unknown' {
    const v = this.#view.get(node);
    if (v === incarnation) return 'up';
    if (this.#downed.has(`${node} ${incarnation}`)) return 'down';
    if (v !== undefined && v > incarnation) return 'down';
    return 'unknown';
  }

  /** The live members as this node sees them. */
  members(): Member[] {
    return [...this.#view].map(([node, incarnation]) => ({ node, incarnation }));
  }

  /** The connection came back: hold down-declarations for one lease. */
  reconnected(): void {
    this.#graceUntil = Date.now() + this.#state.timing.leaseMs;
  }

  /** Renews the lease once. */
  async beat(): Promise<void> {
    const s = this.#state;
    if (this.#beating || s.closed) return;
    this.#beating = true;
    try {
      const sentAt = Date.now();
      const valid = s.leaseValid(sentAt);
      let r: HeartbeatReply;
      try {
        r = await s.engine.heartbeat(s.node, s.incarnation, s.timing.leaseMs, valid, s.fenceFloor, s.epoch, randomUUID());
      } catch {
        return; // unreachable: the lease runs out by the local clock if this lasts
      }
      if (s.closed) return;
      if (r.status === 'ok' || r.status === 'reasserted') {
        s.renewed(sentAt);
        if (r.status === 'reasserted') {
          s.epoch = r.epoch;
          this.reconnected();
          await this.#hooks.reasserted();
        }
        return;
      }
      await this.#lost();
    } finally {
      this.#beating = false;
    }
  }

  async #lost(): Promise<void> {
    const s = this.#state;
    const previous = s.incarnation;
    s.leaseUntil = 0;
    this.#downed.add(`${s.node} ${previous}`);
    this.#view.delete(s.node);
    try {
      await this.join();
      await this.#hooks.lost(previous, s.incarnation);
    } catch (err) {
      await this.#hooks.lost(previous, null, err);
    }
  }

  /** Runs the sweep once and reconciles the view. */
  async sweep(): Promise<void> {
    const s = this.#state;
    if (this.#sweeping || s.closed) return;
    this.#sweeping = true;
    try {
      let live: Member[];
      // RACE: an `up` message (subscription connection) can overtake the reply of a sweep that Redis
      // ran before that join (command connection). Only entries added before this sweep was sent may
      // be declared down by its result.
      const sentSeq = this.#seq;
      try {
        live = await s.engine.sweep();
      } catch {
        return;
      }
      if (s.closed) return;
      const seen = new Map(live.map((m) => [m.node, m.incarnation]));
      const grace = Date.now() < this.#graceUntil;
      for (const [node, inc] of [...this.#view]) {
        if (node === s.node || (this.#addedAt.get(node) ?? 0) > sentSeq) continue;
        const now = seen.get(node);
        if (now === inc || (now === undefined && grace)) continue;
        this.declareDown(node, inc);
      }
      for (const [node, inc] of seen) {
        if (node !== s.node) this.declareUp(node, inc);
      }
    } finally {
      this.#sweeping = false;
    }
  }

  /** Records `node`@`inc` as live (from a sweep or an `up` message). */
  declareUp(node: string, inc: number): void {
    if (this.#downed.has(`${node} ${inc}`)) return;
    const cur = this.#view.get(node);
    if (cur === inc) return;
    if (cur !== undefined) {
      if (cur > inc) return;
      this.declareDown(node, cur);
    }
    this.#view.set(node, inc);
    this.#addedAt.set(node, ++this.#seq);
    this.#hooks.event({ type: 'up', node, incarnation: inc });
  }

  /** Records `node`@`inc` as down, once. */
  declareDown(node: string, inc: number): void {
    const key = `${node} ${inc}`;
    if (this.#downed.has(key)) return;
    this.#downed.add(key);
    if (node === this.#state.node) return; // this node's own old incarnation: handled by #lost
    if (this.#view.get(node) === inc) this.#view.delete(node);
    this.#hooks.down(node);
    this.#hooks.event({ type: 'down', node, incarnation: inc });
  }
}
