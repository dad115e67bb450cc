/**
 * The supervisors' ledger, in the runtime's thread (the thread that called `Runtime.start`). Every
 * scheduler's supervisor partition reports to it what it starts, restarts and gives up on; it keeps a
 * copy of each live child's spec (a `Map` write per report: the starts themselves never pass through
 * here; each partition sends its reports in bursts, one message each). When a scheduler thread dies, the ledger reads the reports still in that thread's ring (shared
 * memory survives the thread), then restarts the dead thread's permanent and transient children on the
 * surviving schedulers, counting each as a restart against its intensity.
 *
 * It also keeps the counters and events of `DynamicSupervisor.stats()` and `.on()`.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { makePid, pidInc } from '../domain/domain.js';
import type { Pid } from '../types.js';
import type { Caller } from './caller.js';
import type { ChildRequest } from './child-spec.js';
import { kLedger, kStartChildren } from './kinds.js';
import { pickScheduler } from './placement.js';
import type { LedgerReport } from './supervisor-partition.js';

/** Counters of one supervisor (by name), across every scheduler. */
export interface SupervisorStats {
  readonly name: string;
  /** Children alive now (started, or being restarted after their scheduler died). */
  readonly children: number;
  /** Children started (first starts, not restarts). */
  readonly started: number;
  /** Restarts, after a crash or after their scheduler died. */
  readonly restarts: number;
  /** Children the supervisor gave up on (restart intensity exceeded). */
  readonly gaveUp: number;
  /** Children gone for good (a normal exit of a transient child, temporary children, terminateChild, passivation). */
  readonly exited: number;
}

/** Events of the ledger (`DynamicSupervisor.on`). */
export interface SupervisorEvent {
  readonly type: 'start' | 'restart' | 'exit' | 'gaveUp';
  readonly supervisor: string;
  /** The child's id (its first pid). */
  readonly id: Pid;
  /** The child's pid now (`start`, `restart`), or the pid that exited. */
  readonly pid: Pid;
  /** The pid a restart replaced (`restart`). */
  readonly previous?: Pid;
  /** Why the previous incarnation exited (`restart`, `exit`, `gaveUp`). */
  readonly reason?: string;
}

interface Entry {
  req: ChildRequest;
  pid: Pid;
}

/** Restarts per message to one scheduler. */
const kBatch = 256;

let active: Ledger | undefined;

/** The ledger of the runtime started in this thread, if any. */
export function activeLedger(): Ledger | undefined {
  return active;
}

/** Sets (or clears) this thread's ledger (`Runtime.start` / `stop`). */
export function setActiveLedger(l: Ledger | undefined): void {
  active = l;
}

type Counters = { -readonly [K in keyof SupervisorStats]: SupervisorStats[K] };

export class Ledger extends EventEmitter {
  readonly #caller: Caller;
  readonly #children = new Map<Pid, Entry>();
  readonly #stats = new Map<string, Counters>();
  /** Children being restarted after a scheduler death, and when that death was seen. */
  readonly #moving = new Map<Pid, number>();
  /** Restarts that found no live scheduler: sent when a replacement starts. */
  readonly #unplaced = new Map<Pid, ChildRequest>();

  constructor(caller: Caller) {
    super();
    this.setMaxListeners(0); // one listener per DynamicSupervisor.on: as many as there are supervisors
    this.#caller = caller;
    caller.onSystem(kLedger, (env) => {
      for (const r of env.body as LedgerReport[]) this.#on(r);
    });
  }

  #counters(sup: string): Counters {
    let c = this.#stats.get(sup);
    if (c === undefined) this.#stats.set(sup, (c = { name: sup, children: 0, started: 0, restarts: 0, gaveUp: 0, exited: 0 }));
    return c;
  }

  #on(r: LedgerReport): void {
    if (r.op === 'up') {
      const c = this.#counters(r.req.sup);
      const had = this.#children.has(r.req.id);
      this.#children.set(r.req.id, { req: r.req, pid: r.pid });
      if (!had) c.children++;
      if (r.restartOf === 0) {
        c.started++;
        if (this.listenerCount('event') > 0) this.emit('event', { type: 'start', supervisor: r.req.sup, id: r.req.id, pid: r.pid } satisfies SupervisorEvent);
      } else {
        c.restarts++;
        this.emit('event', { type: 'restart', supervisor: r.req.sup, id: r.req.id, pid: r.pid, previous: r.restartOf, reason: r.reason } satisfies SupervisorEvent);
      }
      this.#moved(r.req.id);
      return;
    }
    const e = this.#children.get(r.id);
    if (e !== undefined && e.pid === r.pid) {
      this.#children.delete(r.id);
      this.#counters(r.sup).children--;
    }
    const c = this.#counters(r.sup);
    if (r.op === 'gaveUp') c.gaveUp++;
    else c.exited++;
    this.emit('event', { type: r.op === 'gaveUp' ? 'gaveUp' : 'exit', supervisor: r.sup, id: r.id, pid: r.pid, reason: r.reason } satisfies SupervisorEvent);
    this.#moved(r.id);
  }

  #moved(id: Pid): void {
    if (!this.#moving.delete(id) || this.#moving.size > 0) return;
    this.emit('recovered');
  }

  /** Counters of supervisor `name` (all zero if it never started a child). */
  stats(name: string): SupervisorStats {
    return { ...this.#counters(name) };
  }

  /** Every supervisor's counters. */
  all(): SupervisorStats[] {
    return [...this.#stats.values()].map((c) => ({ ...c }));
  }

  /**
   * One row per supervisor for the observer: its counters, and the restarts left to the child nearest
   * to its intensity limit (intensity counts per child). Walks every live child: O(children).
   */
  rows(): Array<{ name: string; strategy: string; children: number; restarts: number; gaveUp: number; intensityLeft: number; maxRestarts: number; periodMs: number }> {
    const now = Date.now();
    const left = new Map<string, { left: number; max: number; period: number }>();
    for (const { req } of this.#children.values()) {
      const recent = (req.restarts ?? []).filter((t) => now - t < req.maxSeconds * 1000).length;
      const cur = left.get(req.sup);
      const l = req.maxRestarts - recent;
      if (cur === undefined || l < cur.left) left.set(req.sup, { left: l, max: req.maxRestarts, period: req.maxSeconds * 1000 });
    }
    return [...this.#stats.values()].map((c) => {
      const l = left.get(c.name);
      return {
        name: c.name, strategy: 'one_for_one', children: c.children, restarts: c.restarts, gaveUp: c.gaveUp,
        intensityLeft: l?.left ?? l?.max ?? 0, maxRestarts: l?.max ?? 0, periodMs: l?.period ?? 0,
      };
    });
  }

  /** Children being restarted after a scheduler died. */
  get moving(): number {
    return this.#moving.size;
  }

  /**
   * Scheduler incarnation `inc` died with `reason`: reads its last reports, then restarts its
   * permanent and transient children on the schedulers alive now (placement by hash of the child's
   * name, round robin without one), each counted as a restart. Temporary children are gone. Returns
   * how many children it restarts; the ledger emits `'recovered'` once every one is running again or
   * given up. Runtime's thread only.
   */
  schedulerDied(inc: number, reason: string): number {
    this.#caller.drainNow();
    const now = Date.now();
    let n = 0;
    const batch: Array<{ req: ChildRequest; old: Pid }> = [];
    for (const [id, e] of this.#children) {
      if (pidInc(e.pid) !== inc) continue;
      const { req } = e;
      const c = this.#counters(req.sup);
      if (req.restart === 'temporary') {
        this.#children.delete(id);
        c.children--;
        c.exited++;
        this.emit('event', { type: 'exit', supervisor: req.sup, id, pid: e.pid, reason } satisfies SupervisorEvent);
        continue;
      }
      const recent = (req.restarts ?? []).filter((t) => now - t < req.maxSeconds * 1000);
      if (recent.length >= req.maxRestarts) {
        this.#children.delete(id);
        c.children--;
        c.gaveUp++;
        this.emit('event', { type: 'gaveUp', supervisor: req.sup, id, pid: e.pid, reason } satisfies SupervisorEvent);
        continue;
      }
      this.#moving.set(id, now);
      n++;
      batch.push({ req: { ...req, restarts: [...recent, now], restartOf: e.pid, reason, getOrStart: false }, old: e.pid });
    }
    this.#restart(batch);
    return n;
  }

  /**
   * Sends restarts to the schedulers alive now, grouped by target, kBatch per message. A restart that
   * finds its scheduler dead too goes to the next one; one that fails otherwise (the name was taken by
   * a get-or-start meanwhile, or init failed) is the child's exit.
   */
  #restart(items: ReadonlyArray<{ req: ChildRequest; old: Pid }>, attempt = 0): void {
    const byTarget = new Map<number, Array<{ req: ChildRequest; old: Pid }>>();
    for (const it of items) {
      let target: number;
      try {
        target = pickScheduler('hash', it.req.name?.key);
      } catch {
        // No scheduler alive: sent when a replacement starts (restartPending).
        this.#unplaced.set(it.old, it.req);
        continue;
      }
      let list = byTarget.get(target);
      if (list === undefined) byTarget.set(target, (list = []));
      list.push(it);
    }
    const self = makePid(this.#caller.domain.inc, 0);
    for (const [target, list] of byTarget) {
      for (let i = 0; i < list.length; i += kBatch) {
        const chunk = list.slice(i, i + kBatch);
        this.#caller.call(makePid(target, 0), chunk.map((c) => c.req), 60_000, self, kStartChildren).then(
          (out) => {
            const again: Array<{ req: ChildRequest; old: Pid }> = [];
            (out as Array<Pid | { code: string; message: string }>).forEach((o, j) => {
              const c = chunk[j] as { req: ChildRequest; old: Pid };
              if (typeof o === 'number') return; // its 'up' report settles it
              if (o.code === 'ROSTER_ERR_NOPROC' && attempt < 8) again.push(c);
              else this.#lost(c.req, c.old, o.message);
            });
            if (again.length > 0) this.#restart(again, attempt + 1);
          },
          (err: unknown) => {
            const code = (err as { code?: unknown }).code;
            // That scheduler died too: the next one.
            if ((code === 'ROSTER_ERR_NOPROC' || code === 'ROSTER_ERR_EXIT') && attempt < 8) this.#restart(chunk, attempt + 1);
            else for (const c of chunk) this.#lost(c.req, c.old, String((err as Error).message));
          },
        );
      }
    }
  }

  /** A restart that could not be done: the child is gone. */
  #lost(req: ChildRequest, old: Pid, why: string): void {
    const e = this.#children.get(req.id);
    if (e !== undefined && e.pid === old) {
      this.#children.delete(req.id);
      this.#counters(req.sup).children--;
    }
    this.#counters(req.sup).exited++;
    this.emit('event', { type: 'exit', supervisor: req.sup, id: req.id, pid: old, reason: why } satisfies SupervisorEvent);
    this.#moved(req.id);
  }

  /** Restarts children that found no live scheduler (every scheduler had died). */
  restartPending(): void {
    const waiting = [...this.#unplaced].map(([old, req]) => ({ req, old }));
    this.#unplaced.clear();
    this.#restart(waiting);
  }

  /** Stops listening (the runtime stops). */
  close(): void {
    this.#caller.onSystem(kLedger, null);
    this.removeAllListeners();
  }
}
