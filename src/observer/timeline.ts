/**
 * The coordinator's timeline, as the observer sees it from the main thread: deaths with their reason,
 * the end of each sweep (with the time from the death), stalls, fences, lock recoveries, restarts and
 * Roster's process warnings.
 *
 * Sources, none of which messages a watched thread:
 * - the domain's thread slots (`ThreadWatch.scan`): a slot that turns Dead is a death (its reason word
 *   says why), Dead → Free is the end of its sweep, Alive → Fenced a fence. The scan runs every 100 ms
 *   and at once when the domain's `declared` or `swept` counter is notified (every death declaration and
 *   every sweep notifies), so times are those of the events, not of the polling;
 * - the domain's control channel: the coordinator's request to terminate a stalled thread (`stall`);
 * - `process.on('warning')` for `ROSTER_*` codes (the coordinator forwards its warnings to the thread
 *   that started it);
 * - the partition counters and the scheduler directory, compared by the sampler (`lock_recovery`,
 *   `restart`).
 *
 * @module
 */
import { onControl } from '../domain/control.js';
import { kReasons, type Domain } from '../domain/domain.js';
import {
  kDDeclared, kDSwept, kMaxThreads, kStateAlive, kStateBits, kStateDead, kStateFenced, kStateMask, kTLast, kTReason, kTState,
  threadBase,
} from '../layout.js';
import type { TimelineEvent, TimelineKind } from './types.js';

/** Events kept (the oldest are dropped). */
const kKeep = 1000;

/** The timeline's event list. */
export class Timeline {
  readonly #events: TimelineEvent[] = [];
  #seq = 0;

  add(kind: TimelineKind, subject: string, detail: string, reason: string | null = null, ms: number | null = null, at = Date.now()): void {
    this.#events.push({ seq: ++this.#seq, at, kind, subject, reason, ms, detail });
    if (this.#events.length > kKeep) this.#events.splice(0, this.#events.length - kKeep);
  }

  /** The first `limit` events after `since` (a `seq`), oldest first: a reader pages forward with `since`. */
  list(since = 0, limit = kKeep): TimelineEvent[] {
    const out: TimelineEvent[] = [];
    for (const e of this.#events) {
      if (e.seq <= since) continue;
      if (out.length === limit) break;
      out.push(e);
    }
    return out;
  }

  /** The newest `limit` events, oldest first (the page's snapshot). */
  latest(limit: number): TimelineEvent[] {
    return this.#events.slice(Math.max(0, this.#events.length - limit));
  }
}

interface Seen {
  inc: number;
  code: number;
  /** When it was seen Dead (`performance.now()`; 0: not yet). */
  deadT: number;
  threadId: number;
}

/** Names threads for the timeline and the owner tables: `'scheduler 1'`, `'main'`, `'thread 7'`. */
export type NameOf = (inc: number, threadId: number) => string;

/** Watches the domain's thread slots and reports deaths, sweeps and fences to a timeline. */
export class ThreadWatch {
  readonly #i32: Int32Array;
  readonly #timeline: Timeline;
  readonly #nameOf: NameOf;
  readonly #seen = new Map<number, Seen>();
  /** Deaths seen before their slot said so (a scheduler's `'exit'`): inc → when. */
  readonly #hints = new Map<number, { at: number; t: number }>();
  #stopped = false;

  constructor(domain: Domain, timeline: Timeline, nameOf: NameOf) {
    this.#i32 = domain.i32;
    this.#timeline = timeline;
    this.#nameOf = nameOf;
    this.scan(false);
    void this.#follow(kDDeclared);
    void this.#follow(kDSwept);
  }

  /**
   * Records that incarnation `inc` stopped now (its Worker's `'exit'`, before the declaration): the
   * death is timed from here, and so is its sweep, which may complete before the next scan.
   */
  died(inc: number): void {
    if (!this.#hints.has(inc)) this.#hints.set(inc, { at: Date.now(), t: performance.now() });
  }

  #death(inc: number, subject: string, reason: string, detail: string): number {
    const h = this.#hints.get(inc);
    this.#timeline.add('death', subject, detail, reason, null, h?.at ?? Date.now());
    return h?.t ?? performance.now();
  }

  #swept(inc: number, subject: string, deadT: number): void {
    const h = this.#hints.get(inc);
    this.#hints.delete(inc);
    const t = h?.t ?? deadT;
    this.#timeline.add('swept', subject, `incarnation ${inc} swept: its entries are gone from every registry and its slot is free`, null,
      t > 0 ? Math.round((performance.now() - t) * 10) / 10 : null);
  }

  /** Compares every thread slot with what the last scan saw; reports the changes (unless `report` is false). */
  scan(report = true): void {
    const i32 = this.#i32;
    for (let slot = 0; slot < kMaxThreads; slot++) {
      const b = threadBase(slot);
      const st = Atomics.load(i32, b + kTState);
      const code = st & kStateMask;
      const inc = Atomics.load(i32, b + kTLast);
      const prev = this.#seen.get(slot);
      const tracked = code === kStateAlive || code === kStateFenced || code === kStateDead;
      if (prev === undefined && !tracked) continue;
      const reason = (): string => kReasons[Atomics.load(i32, b + kTReason)] ?? 'unknown';
      if (prev !== undefined && (prev.inc !== inc || !tracked)) {
        // Its sweep is complete (the slot is Free, or moved on to a new thread), maybe within one scan
        // of the death: then the death is reported here too.
        const name = this.#nameOf(prev.inc, prev.threadId);
        if (report) {
          let deadT = prev.deadT;
          if (prev.code !== kStateDead) {
            // Death and sweep in one scan: the sweep's time is known only from a recorded exit.
            this.#death(prev.inc, name, prev.inc === inc ? reason() : 'unknown', `incarnation ${prev.inc} died`);
            deadT = this.#hints.get(prev.inc)?.t ?? 0;
          }
          this.#swept(prev.inc, name, deadT);
        }
        this.#seen.delete(slot);
        if (!tracked) continue;
      }
      const name = (): string => this.#nameOf(inc, st >>> kStateBits);
      const p = this.#seen.get(slot);
      if (p === undefined) {
        const deadT = code === kStateDead && report ? this.#death(inc, name(), reason(), `incarnation ${inc} declared dead`) : 0;
        this.#seen.set(slot, { inc, code, deadT, threadId: st >>> kStateBits });
        continue;
      }
      if (p.code === code) continue;
      if (code === kStateFenced && report) {
        this.#timeline.add('fenced', name(), `incarnation ${inc} fenced: its entries are hidden and its writes refused until it exits`, 'stalled');
      }
      if (code === kStateDead) p.deadT = report ? this.#death(inc, name(), reason(), `incarnation ${inc} declared dead`) : performance.now();
      p.code = code;
    }
  }

  /** Scans at once whenever the domain word `index` is bumped and notified. */
  async #follow(index: number): Promise<void> {
    const i32 = this.#i32;
    while (!this.#stopped) {
      const v = Atomics.load(i32, index);
      // ORDER: waits only while the counter is unchanged; each declaration or sweep bumps it, then notifies.
      const r = Atomics.waitAsync(i32, index, v, 1000);
      if (r.async) await r.value;
      if (this.#stopped) return;
      if (Atomics.load(i32, index) !== v) this.scan();
    }
  }

  stop(): void {
    this.#stopped = true;
  }
}

/** Stall reports from the coordinator, to every running observer (one control handler per thread). */
const stallListeners = new Set<(threadId: number, blockedMs: number, stallMs: number) => void>();
let listening = false;

/** Calls `fn` for each stall the coordinator reports; returns the function that stops it. */
export function onStall(fn: (threadId: number, blockedMs: number, stallMs: number) => void): () => void {
  if (!listening) {
    listening = true;
    onControl((msg) => {
      if (msg.type === 'terminate') for (const l of stallListeners) l(msg.threadId, msg.blockedMs, msg.stallMs);
    });
  }
  stallListeners.add(fn);
  return () => stallListeners.delete(fn);
}

/** Calls `fn` for each `ROSTER_*` process warning; returns the function that stops it. */
export function onRosterWarning(fn: (code: string, message: string) => void): () => void {
  const listener = (w: Error & { code?: unknown }): void => {
    const code = typeof w.code === 'string' ? w.code : '';
    // Stalls come structured from the control channel.
    if (code.startsWith('ROSTER_') && code !== 'ROSTER_STALLED') fn(code, w.message);
  };
  process.on('warning', listener);
  return () => process.off('warning', listener);
}
