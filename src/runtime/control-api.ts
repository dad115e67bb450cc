/**
 * The control plane between the main thread and its schedulers, over comlink: one interface, used by
 * both ends (the scheduler exposes it in workers/scheduler.ts; `Runtime` wraps it). Control calls are
 * rare (listing, stats, spawn from the main thread's tools, stop, ping) and travel by `postMessage`;
 * actor messages never do.
 *
 * @module
 */
import { transferHandlers } from 'comlink/dist/esm/comlink.mjs';
import { RosterError } from '../errors.js';
import type { MailStats } from './mailroom.js';
import type { SpawnRequest } from './scheduler.js';
import type { SchedulerStats } from './scheduler-stats.js';
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

let installed = false;

/**
 * Makes comlink carry a thrown `RosterError` whole (class, `code`, `message`, `reason`, `holder`)
 * instead of only its message. Both ends install it (the runtime and each scheduler).
 */
export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const base = transferHandlers.get('throw');
  if (base === undefined) return;
  transferHandlers.set('throw', {
    canHandle: base.canHandle,
    serialize(v: unknown) {
      const e = (v as { value?: unknown }).value as { code?: unknown; message?: unknown; reason?: unknown; holder?: unknown } | undefined;
      if (e instanceof RosterError) {
        return [{ roster: true, code: e.code, message: e.message, reason: (e as { reason?: unknown }).reason, holder: (e as { holder?: unknown }).holder }, []];
      }
      return base.serialize(v);
    },
    deserialize(v: unknown) {
      const r = v as { roster?: unknown; code?: string; message?: string; reason?: unknown; holder?: unknown };
      if (r?.roster !== true) return base.deserialize(v);
      const err = RosterError.from({ code: r.code, message: r.message });
      if (typeof r.reason === 'string') (err as { reason?: string }).reason = r.reason;
      if (typeof r.holder === 'number') (err as { holder?: number }).holder = r.holder;
      throw err;
    },
  });
}
