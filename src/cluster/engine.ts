/**
 * The engine-neutral interface between `Cluster` and the store that backs it. `Cluster` keeps every
 * policy (caching, leases by the local clock, calls, monitors, topics); an engine only offers atomic
 * operations on names and members, and three kinds of delivery: to one node, to the nodes subscribed to a
 * topic, and invalidations. The Redis engine (`redis-engine.ts`) is the one shipped; a NATS JetStream
 * engine would implement the same interface (KV create/update-with-revision for names and fences, a
 * KV bucket with TTL for heartbeats, subjects for delivery) without changing users' code.
 *
 * @module
 */

/** Who holds, or asks for, a name: a node incarnation and a local pid. */
export interface Owner {
  readonly node: string;
  readonly incarnation: number;
  readonly pid: number;
}

/** A name's holder as the engine stores it. `value` is the codec's string; `ttlMs` the lease left when read. */
export interface NameRecord extends Owner {
  readonly fence: number;
  readonly value: string;
  readonly ttlMs: number;
}

/** The outcome of an acquisition. `lost`: the caller's own lease lapsed, it holds nothing. */
export type AcquireReply =
  | { readonly ok: true; readonly fence: number }
  | { readonly ok: false; readonly reason: 'taken'; readonly holder: NameRecord }
  | { readonly ok: false; readonly reason: 'lost' };

/** The outcome of a fenced write: refused when `fence` is not the name's token (`current`, or null). */
export type FencedReply = { readonly ok: true } | { readonly ok: false; readonly current: number | null };

/** The outcome of a heartbeat. */
export type HeartbeatReply = { readonly status: 'ok' | 'lost' } | { readonly status: 'reasserted'; readonly epoch: string };

/** A member of the cluster as the store sees it. */
export interface Member {
  readonly node: string;
  readonly incarnation: number;
}

/** What the engine calls back with. Every callback runs on the node's main thread, in arrival order. */
export interface EngineHandlers {
  /** A frame sent to this node with `sendTo`. */
  frame(payload: Buffer): void;
  /** A frame published on a topic this node subscribed to. */
  topic(topic: string, payload: Buffer): void;
  /** A name changed holder or value: drop it from caches. */
  invalidate(name: string): void;
  /** A member joined or was declared down (a hint: `sweep()` is the truth). */
  membership(kind: 'up' | 'down', member: Member): void;
  /** The delivery connection came back after a loss: invalidations may have been missed. */
  reconnected(): void;
  /** The command connection failed or came back (`up`). */
  connection(up: boolean): void;
}

/** The store behind a cluster. Methods reject with `ClusterConnectError` when the store is unreachable. */
export interface ClusterEngine {
  /** Where the store is, for error messages (`redis://127.0.0.1:6390`). */
  readonly address: string;
  /** Connects; rejects with `ClusterConnectError` (with the address) if the store cannot be reached. */
  open(handlers: EngineHandlers): Promise<void>;
  /** Disconnects. */
  close(): Promise<void>;

  /**
   * Adds `node` with a new incarnation under a lease of `leaseMs`, unless a live member has the name.
   * Also returns the store's epoch: an id that changes only when the store lost its data
   * (`epochCandidate` becomes it if there is none yet).
   */
  join(node: string, leaseMs: number, epochCandidate: string): Promise<{ ok: true; incarnation: number; epoch: string } | { ok: false }>;
  /**
   * Renews the lease (`ok`). If it is gone, `reassert` is true and the store's epoch is not `epoch`
   * (the store lost its data), writes it back (`reasserted`, with the epoch now); otherwise `lost`.
   */
  heartbeat(node: string, incarnation: number, leaseMs: number, reassert: boolean, fenceFloor: number, epoch: string, epochCandidate: string): Promise<HeartbeatReply>;
  /** Declares down every member whose lease lapsed, releasing its names; returns the live members. */
  sweep(): Promise<Member[]>;
  /** Removes the member and releases its names. */
  leave(node: string, incarnation: number): Promise<void>;

  /** Takes `name` for `owner` unless a live holder has it; fencing tokens never go below `fenceFloor`. */
  acquire(name: string, owner: Owner, value: string, fenceFloor: number): Promise<AcquireReply>;
  /** Writes back a name held under `fence` after the store lost it; true if `owner` holds it afterwards. */
  reassert(name: string, owner: Owner, fence: number, value: string): Promise<boolean>;
  /** Sets the value (or deletes the name: `value` null) if `fence` is still the name's token. */
  fenced(name: string, owner: Owner, fence: number, value: string | null): Promise<FencedReply>;
  /** The live holder of `name`, or null. */
  lookup(name: string): Promise<NameRecord | null>;

  /** Delivers `payload` to `node`; false if no node of that name listens. FIFO per sender→node. */
  sendTo(node: string, payload: Buffer): Promise<boolean>;
  /** Delivers `payload` once to every node subscribed to `topic`; returns how many nodes got it. */
  publish(topic: string, payload: Buffer): Promise<number>;
  /** Starts receiving `topic`'s frames. */
  subscribe(topic: string): Promise<void>;
  /** Stops receiving `topic`'s frames. */
  unsubscribe(topic: string): Promise<void>;
  /** Starts receiving frames for `node` (after `join`). */
  listen(node: string): Promise<void>;
}
