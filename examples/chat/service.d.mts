// Types of service.mjs, for TypeScript callers (the benchmark).

/** Options of `runChat` (each optional; `defaults` holds the values used when one is left out). */
export interface ChatOptions {
  /** Scheduler threads (default: one per core). */
  schedulers?: number;
  users?: number;
  rooms?: number;
  /** How long the traffic runs, in seconds. */
  seconds?: number;
  /** Kill one scheduler thread midway (default true). */
  kill?: boolean;
  seed?: number;
  /** Rooms each user joins (default 3). */
  perUser?: number;
  /** Mean time between a user's actions, in ms (default 1000), plus twice its last call's latency. */
  thinkMs?: number;
  /** Share of actions that are posts; the rest read a room's history (default 0.8). */
  postShare?: number;
  /** How long the final drain may take before the check fails, in ms. */
  drainMs?: number;
  /** No progress line (default false). */
  quiet?: boolean;
  /**
   * Called once the runtime runs (to start an observer, say); may return a function that is called
   * before the runtime stops.
   */
  onStart?: ((ctx: { runtime: unknown; registries: unknown[]; supervisors: unknown[] }) => unknown) | null;
}

export interface SupervisorFigures {
  name: string;
  children: number;
  started: number;
  restarts: number;
  gaveUp: number;
  exited: number;
}

/** A scheduler's death during the run: the planned kill, or another (reason `stalled`, …). */
export interface ChatDeath {
  index: number;
  reason: string;
  atMs: number;
  children: number;
  recoveredMs: number | null;
}

export interface ChatResults {
  schedulers: number;
  users: number;
  rooms: number;
  seconds: number;
  seed: number;
  postsPerSec: number;
  deliveriesPerSec: number;
  /** Call latency of the traffic (posts and history reads) of the users alive at the end, in µs. */
  callP50Us: number;
  callP99Us: number;
  calls: number;
  /** Latency of the joins (each a call that starts its room on demand, most while the users start), in µs. */
  joinP50Us: number;
  joinP99Us: number;
  joins: number;
  /** Failed calls by error code. */
  failedCalls: Record<string, number>;
  /** Restarts counted by the two supervisors. */
  restarts: number;
  /** From the killed scheduler's death to every child of it running again (the runtime's `recovered` event). */
  recoveryMs: number | null;
  killed: { index: number; atMs: number; actors: number; children: number | null } | null;
  deaths: ChatDeath[];
  supervisors: { users: SupervisorFigures; rooms: SupervisorFigures };
  actorsPerScheduler: Array<{ actors: number; users: number; rooms: number }>;
  roomsAlive: number;
  checked: Record<string, number>;
  /** The verdict of the consistency check; `problems` lists what failed (the first 20). */
  consistent: boolean;
  problems: string[];
}

export const defaults: Readonly<Required<Omit<ChatOptions, 'onStart'>>> & { readonly onStart: null };

/** Runs the chat service: starts a runtime, runs the traffic, checks, stops the runtime. */
export function runChat(options?: ChatOptions): Promise<ChatResults>;
