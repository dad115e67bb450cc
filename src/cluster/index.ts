/**
 * `roster-threads/cluster`: Roster beyond one machine (names, messaging, pub-sub across nodes on
 * Redis). Public exports only; see `cluster.ts` for what lives in this folder.
 *
 * @module
 */
export { Cluster, type ClusterEvents } from './cluster.js';
export type { ClusterOptions } from './options.js';
export { RedisEngine, type RedisEngineOptions } from './redis-engine.js';
export type {
  ClusterEngine, EngineHandlers, Owner, NameRecord, AcquireReply, FencedReply, HeartbeatReply, Member,
} from './engine.js';
export type {
  GlobalPid, ClusterName, ClusterTarget, Holder, ClusterRegisterResult, NameConflict, ClusterDown, MemberEvent, ClusterStats,
} from './types.js';
export type { PublishResult } from './topics.js';
export { NodeDownError, ClusterConnectError, FencedError, NodeNameTakenError, ClusterClosedError } from './errors.js';
