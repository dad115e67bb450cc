/**
 * The observer's public types: its options, the provider interface for supervisors and topics, and the
 * rows its JSON API answers (the page renders the same rows). Every row is plain JSON.
 *
 * @module
 */
import type { Registry } from '../registry/registry.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Pid } from '../types.js';

/** Options of `Observer.start`. */
export interface ObserverOptions {
  /** The runtime to show (schedulers, actors, mailboxes). Its registries are shown too. */
  readonly runtime?: Runtime;
  /** Registries to show (besides the runtime's). */
  readonly registries?: ReadonlyArray<Registry<unknown>>;
  /** TCP port. Default 0: a free port, see `observer.url`. */
  readonly port?: number;
  /**
   * Address to bind. Default `'127.0.0.1'`. Any address other than loopback (`127.0.0.0/8`, `::1`,
   * `localhost`) needs `token`: `InvalidOptionError` otherwise.
   */
  readonly host?: string;
  /**
   * A shared secret (at least 16 characters). When set, every request must carry it, as
   * `Authorization: Bearer <token>` or as the query parameter `token` (the page passes it on to its API
   * and event-stream requests); others get 401.
   */
  readonly token?: string;
  /**
   * The coordinator's `stallMs`: a scheduler whose heartbeat is older than this is stalled (the page
   * and `/healthz`). Default 1000, the coordinator's default. A stall the coordinator reports (it asks
   * the supervisor to terminate the thread) teaches the observer the coordinator's value.
   */
  readonly stallMs?: number;
  /** How often the page and the event stream are refreshed, in ms (100 to 10000). Default 1000. */
  readonly intervalMs?: number;
  /** How much of `count()`'s history each registry keeps for its chart, in samples. Default 300. */
  readonly historySamples?: number;
  /** Optional row providers for the sections that other parts of Roster or the application feed. */
  readonly sources?: ObserverSources;
}

/**
 * Providers of the supervisors and topics sections. Each is called once per refresh, in the main
 * thread, and must return quickly and not throw (a throw is shown as that section's error). Absent: the
 * section says "none".
 */
export interface ObserverSources {
  readonly supervisors?: () => readonly SupervisorRow[];
  readonly topics?: () => readonly TopicRow[];
}

/** One supervisor, as a `sources.supervisors` provider reports it. */
export interface SupervisorRow {
  /** Its name (or pid as text). */
  readonly name: string;
  readonly pid?: Pid;
  /** `'one_for_one'`, `'one_for_all'`, `'rest_for_one'`, … */
  readonly strategy?: string;
  /** Children now running. */
  readonly children: number;
  /** Restarts so far. */
  readonly restarts: number;
  /** Restarts still allowed in the current intensity window before the supervisor gives up. */
  readonly intensityLeft: number;
  /** The intensity: at most `maxRestarts` in `periodMs`. */
  readonly maxRestarts?: number;
  readonly periodMs?: number;
}

/** One event-bus topic, as a `sources.topics` provider reports it. */
export interface TopicRow {
  readonly topic: string;
  readonly subscribers: number;
  /** Publishes so far (a counter: the observer derives the rate). */
  readonly publishes: number;
}

/** A topic row with its rate, as the API answers it. */
export interface TopicRowOut extends TopicRow {
  /** Publishes per second over the last refresh (null on the first). */
  readonly publishesPerSec: number | null;
}

/** One scheduler thread (`/api/schedulers`). */
export interface SchedulerRow {
  readonly index: number;
  readonly threadId: number;
  /** Its thread incarnation (pids of its actors start with it). */
  readonly inc: number;
  /** `'alive'`; `'stalled'` (heartbeat past the deadline); `'dead'` (exited; see `reason`). */
  readonly state: 'alive' | 'stalled' | 'dead';
  /** Why it died (`'terminated'`, `'stalled'`, `'error'`, …), when dead. */
  readonly reason: string | null;
  /** Time since its heartbeat last moved, in ms (sampled every 100 ms). */
  readonly heartbeatAgeMs: number;
  /** The stall deadline it is held to. */
  readonly stallMs: number;
  /** Event-loop utilization (0 to 1) over the last refresh; null while unknown (or dead). */
  readonly elu: number | null;
  readonly actors: number;
  /** Messages waiting in all its mailboxes. */
  readonly depth: number;
  readonly handled: number;
  readonly dropped: number;
  readonly expired: number;
  readonly spawned: number;
  readonly exited: number;
  /** Envelopes its thread received / sent, per second over the last refresh. */
  readonly inPerSec: number;
  readonly outPerSec: number;
  /** Call service time (handler start to reply), p50 and p99 over the last 10 s, in µs (bucket upper bounds). */
  readonly callP50Us: number | null;
  readonly callP99Us: number | null;
  /** Calls served over the last 10 s. */
  readonly calls: number;
  /** Its deepest mailboxes (at most five). */
  readonly top: ReadonlyArray<{ readonly pid: Pid; readonly depth: number }>;
  /** Times this scheduler slot was restarted with a new thread. */
  readonly restarts: number;
}

/** Entries held by one owner thread in a partition. */
export interface OwnerCount {
  /** Thread slot. */
  readonly slot: number;
  /** What the observer knows the thread as: `'scheduler 1'`, `'main'`, `'thread 7'`, or `'dead'`. */
  readonly thread: string;
  readonly entries: number;
}

/** One partition of a registry. */
export interface PartitionRow {
  readonly index: number;
  readonly entries: number;
  readonly capacity: number;
  readonly tombstones: number;
  readonly bytes: number;
  /** Incarnation holding the partition lock (0: free) and its state. */
  readonly lock: number;
  readonly lockHolder: 'none' | 'alive' | 'fenced' | 'dead';
  readonly growths: number;
  readonly compactions: number;
  readonly lockRecoveries: number;
  readonly owners: readonly OwnerCount[];
}

/** One registry (`/api/registries`). */
export interface RegistryRow {
  readonly name: string;
  readonly kind: string;
  /** `count()`: entries, those of dead owners not yet swept included. */
  readonly count: number;
  readonly capacity: number;
  readonly tombstones: number;
  readonly bytes: number;
  readonly growths: number;
  readonly compactions: number;
  readonly lockRecoveries: number;
  /** Set once the registry was closed (its other fields are then 0). */
  readonly closed: boolean;
  readonly partitions: readonly PartitionRow[];
  /** `count()` over time: `[epoch ms, count]`, oldest first. */
  readonly history: ReadonlyArray<readonly [number, number]>;
}

/** One actor (`/api/actors`). */
export interface ActorRowOut {
  readonly pid: Pid;
  readonly names: readonly string[];
  readonly scheduler: number;
  readonly behaviour: string;
  /** Messages waiting in its mailbox. */
  readonly mailbox: number;
  readonly handled: number;
  readonly dropped: number;
  readonly uptimeMs: number;
}

/** Kinds of timeline events. */
export type TimelineKind = 'death' | 'swept' | 'stall' | 'fenced' | 'lock_recovery' | 'restart' | 'warning';

/** One event of the coordinator's timeline (`/api/timeline`). */
export interface TimelineEvent {
  /** Sequence number (increasing). */
  readonly seq: number;
  /** When the observer saw it (epoch ms). */
  readonly at: number;
  readonly kind: TimelineKind;
  /** The thread concerned: `'scheduler 1'`, `'main'`, `'thread 7'`, or a registry partition. */
  readonly subject: string;
  /** A death's reason, a warning's code. */
  readonly reason: string | null;
  /** For `'swept'`: time from the death to the end of its sweep, in ms. */
  readonly ms: number | null;
  readonly detail: string;
}
