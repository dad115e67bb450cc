/**
 * What the parts of a `Cluster` share about the local node: its engine, name, current incarnation,
 * lease deadline by the local clock, options and counters.
 *
 * **The lease by the local clock.** `leaseUntil` is the send time of the last heartbeat Redis accepted,
 * plus the lease, minus a margin. Redis expires the heartbeat key no earlier than the lease after it ran
 * the renewal, which is after the send; so while `Date.now() < leaseUntil` no other node can have taken
 * this node's names (with clocks that advance at the same rate to within the margin). A node paused past
 * its lease sees the deadline passed as soon as it runs again, before it reads any message.
 *
 * @module
 */
import type { Pid } from '../index.js';
import type { ClusterEngine } from './engine.js';
import type { ClusterStats, GlobalPid } from './types.js';

/** Timing options, after checks. */
export interface Timing {
  readonly heartbeatMs: number;
  readonly leaseMs: number;
  readonly sweepMs: number;
}

/** The local node. */
export class NodeState {
  readonly engine: ClusterEngine;
  readonly node: string;
  readonly timing: Timing;
  incarnation = 0;
  leaseUntil = 0;
  /** The store's epoch as of this node's join or last write-back (see the JOIN script). */
  epoch = '';
  /** The highest fencing token seen: a floor for tokens issued after Redis lost its data. */
  fenceFloor = 0;
  closed = false;
  readonly stats: ClusterStats = { received: 0, malformed: 0, expired: 0, misaddressed: 0, cacheHits: 0, cacheMisses: 0, conflicts: 0 };

  constructor(engine: ClusterEngine, node: string, timing: Timing) {
    this.engine = engine;
    this.node = node;
    this.timing = timing;
  }

  /** Margin taken off the lease for clock-rate differences: 2% plus 5 ms. */
  get margin(): number {
    return Math.ceil(this.timing.leaseMs * 0.02) + 5;
  }

  /** True while this node's lease certainly holds (by the local clock). */
  leaseValid(now = Date.now()): boolean {
    return now < this.leaseUntil;
  }

  /** Records a heartbeat or join sent at `sentAt` that Redis accepted. */
  renewed(sentAt: number): void {
    this.leaseUntil = Math.max(this.leaseUntil, sentAt + this.timing.leaseMs - this.margin);
  }

  /** The global pid of local pid `pid`. */
  gpid(pid: Pid): GlobalPid {
    return { node: this.node, incarnation: this.incarnation, pid };
  }

  /** True if `g` is a process of this node's current incarnation. */
  isLocal(g: GlobalPid): boolean {
    return g.node === this.node && g.incarnation === this.incarnation;
  }

  /** Raises the fence floor. */
  sawFence(fence: number): void {
    if (fence > this.fenceFloor) this.fenceFloor = fence;
  }
}
