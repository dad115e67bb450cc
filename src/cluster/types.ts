/**
 * The cluster's public types: global pids, targets, the messages actors receive from the cluster, and
 * the events of a `Cluster`.
 *
 * @module
 */
import type { Pid } from '../index.js';

/**
 * A process anywhere in the cluster: its node's name and incarnation (a node that rejoins gets a new
 * one, so a global pid is never reused), and its local pid on that node. Plain data: it can travel in
 * messages and be stored.
 */
export interface GlobalPid {
  readonly node: string;
  readonly incarnation: number;
  readonly pid: Pid;
}

/** A cluster-wide name used as a target: `{ name: 'room:42' }`. */
export interface ClusterName {
  readonly name: string;
}

/** What `call`, `cast`, `send` and `monitor` accept: a global pid or a cluster-wide name. */
export type ClusterTarget = GlobalPid | ClusterName;

/** Where a name is held, with its fencing token and value. */
export interface Holder<V = unknown> {
  readonly pid: GlobalPid;
  readonly fence: number;
  readonly value: V;
}

/** The outcome of `cluster.register`, as the local registry's. */
export type ClusterRegisterResult =
  | { readonly ok: true; readonly owner: GlobalPid; readonly fence: number }
  | { readonly ok: false; readonly reason: 'already_registered'; readonly holder: GlobalPid };

/**
 * Sent to an actor's `handleInfo` when its node learns that the actor lost a cluster name: its node's
 * lease lapsed (a pause, a partition from Redis) or a fenced write was refused. `winner` is the new
 * holder if one was found.
 */
export interface NameConflict {
  readonly type: 'name_conflict';
  readonly name: string;
  /** The token the actor held the name under; writes carrying it are refused. */
  readonly fence: number;
  readonly winner: GlobalPid | null;
}

/** Resolution of a cluster monitor; `reason` is the exit reason, `'noproc'`, or `'node_down'`. */
export interface ClusterDown {
  readonly type: 'down';
  readonly ref: number;
  readonly pid: GlobalPid;
  readonly reason: string;
}

/** A membership event: a node joined (`up`) or was declared down (`down`). */
export interface MemberEvent {
  readonly type: 'up' | 'down';
  readonly node: string;
  readonly incarnation: number;
}

/** Counters of one node (`cluster.stats()`). */
export interface ClusterStats {
  /** Frames received and handled. */
  received: number;
  /** Frames dropped as malformed. */
  malformed: number;
  /** Calls dropped because their deadline had passed on arrival. */
  expired: number;
  /** Frames for an older incarnation of this node, or an unknown pid, dropped. */
  misaddressed: number;
  /** Cached lookups answered without a round trip. */
  cacheHits: number;
  /** Lookups that went to the engine. */
  cacheMisses: number;
  /** Names this node lost (`name_conflict` sent). */
  conflicts: number;
}
