/**
 * Roster's observer (`roster-threads/observer`): a live page and a JSON API over a running system.
 * A separate entry, so that worker threads importing `roster-threads` never load `node:http` or the
 * page's text.
 *
 * @module
 */
export { Observer } from './observer.js';
export type {
  ObserverOptions, ObserverSources, SupervisorRow, TopicRow, TopicRowOut, SchedulerRow, RegistryRow, PartitionRow, OwnerCount, ActorRowOut,
  TimelineEvent, TimelineKind,
} from './types.js';
