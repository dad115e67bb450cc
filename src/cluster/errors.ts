/**
 * The cluster's errors: `RosterError`s with stable codes, like the core's. `clusterErrorFrom` rebuilds
 * them (and the core's) from `{ code, message }` after they crossed a node boundary.
 *
 * @module
 */
import { RosterError } from '../index.js';

/** The target's node is not a live member (declared down, never joined, or left). */
export class NodeDownError extends RosterError {
  static readonly code = 'ROSTER_ERR_NODE_DOWN';
  /** The node's name. */
  readonly node: string;
  constructor(message: string, node: string) {
    super(NodeDownError.code, message);
    this.node = node;
  }
}

/** The engine's server could not be reached (or the connection dropped while a command ran). */
export class ClusterConnectError extends RosterError {
  static readonly code = 'ROSTER_ERR_CLUSTER_CONNECT';
  /** The address that was tried, e.g. `redis://127.0.0.1:6390`. */
  readonly address: string;
  constructor(message: string, address: string, options?: { cause?: unknown }) {
    super(ClusterConnectError.code, message, options);
    this.address = address;
  }
}

/** A write carried a fencing token that is no longer the name's: the caller lost the name. Nothing changed. */
export class FencedError extends RosterError {
  static readonly code = 'ROSTER_ERR_FENCED';
  /** The token the write carried. */
  readonly fence: number;
  /** The name's token now, or `null` if nobody holds it. */
  readonly current: number | null;
  constructor(message: string, fence: number, current: number | null) {
    super(FencedError.code, message);
    this.fence = fence;
    this.current = current;
  }
}

/** `Cluster.join` with a node name that a live member already uses. */
export class NodeNameTakenError extends RosterError {
  static readonly code = 'ROSTER_ERR_NODE_NAME_TAKEN';
  readonly node: string;
  constructor(message: string, node: string) {
    super(NodeNameTakenError.code, message);
    this.node = node;
  }
}

/** The cluster handle was closed with `leave()`. */
export class ClusterClosedError extends RosterError {
  static readonly code = 'ROSTER_ERR_CLUSTER_CLOSED';
  constructor(message: string) {
    super(ClusterClosedError.code, message);
  }
}

/** Rebuilds an error that crossed nodes as `{ code, message, reason? }`. */
export function clusterErrorFrom(body: { code?: unknown; message?: unknown; reason?: unknown; node?: unknown }): RosterError {
  const message = typeof body.message === 'string' ? body.message : '';
  const node = typeof body.node === 'string' ? body.node : '';
  let err: RosterError;
  switch (body.code) {
    case NodeDownError.code: err = new NodeDownError(message, node); break;
    case ClusterClosedError.code: err = new ClusterClosedError(message); break;
    default: err = RosterError.from(body);
  }
  if (typeof body.reason === 'string') (err as { reason?: string }).reason = body.reason;
  return err;
}
