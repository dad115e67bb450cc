/**
 * The control plane between the main thread and its schedulers, over comlink: one interface, used by
 * both ends (the scheduler exposes it in workers/scheduler.ts; `Runtime` wraps it). Control calls are
 * rare (listing, stats, spawn from the main thread's tools, stop, ping) and travel by `postMessage`;
 * actor messages never do.
 *
 * @module
 */
import type { MailStats } from './mailroom.js';
import type { SchedulerStats, SpawnRequest } from './scheduler.js';
import type { Pid } from '../types.js';

/** One actor, as the control plane lists it. */
export interface ActorRow {
  readonly pid: Pid;
  readonly behaviour: string;
  /** Messages waiting in its mailbox. */
  readonly depth: number;
  /** Messages handled so far. */
  readonly handled: number;
  /** Messages dropped because its mailbox was full. */
  readonly dropped: number;
  readonly uptimeMs: number;
  /** `registry:key` for each name it registered. */
  readonly names: string[];
}

/** What a scheduler answers about itself. */
export interface SchedulerInfo {
  readonly index: number;
  readonly inc: number;
  readonly threadId: number;
  /** Its scheduler counters (`readSchedulerStats`), readable without messaging. */
  readonly stats: SharedArrayBuffer;
  /** Its mailroom counters (`Mailroom.readStats`). */
  readonly mail: SharedArrayBuffer;
}

/** The scheduler's control interface (every method returns a promise through comlink). */
export interface SchedulerControl {
  ping(): string;
  info(): SchedulerInfo;
  stats(): SchedulerStats & { mail: MailStats };
  listActors(): ActorRow[];
  spawn(req: SpawnRequest): Promise<Pid>;
  stopActor(pid: Pid, reason: string): Promise<boolean>;
  /** Stops every actor (reason, default 'shutdown') and the scheduler's loop. */
  shutdown(reason?: string): Promise<void>;
}
