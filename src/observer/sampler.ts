/**
 * The observer's readings of shared memory: scheduler counters (`readSchedulerStats`,
 * `readSchedulerDetail`, `Mailroom.readStats`), thread-slot heartbeats, and registry partitions
 * (`registry.stats()`, `count()`, and the partition header's growth, compaction, recovery and per-owner
 * counters). Nothing here sends a message; event-loop utilization is Node's own reading of the worker's
 * loop (`worker.performance.eventLoopUtilization()`), also without a message.
 *
 * `tick()` runs every 100 ms (heartbeats, restarts, lock recoveries); `refresh()` once per refresh
 * interval (rates over the interval, percentiles over the last 10 s, `count()` history).
 *
 * @module
 */
import type { EventLoopUtilization } from 'node:perf_hooks';
import { incSlot, makePid, type Domain } from '../domain/domain.js';
import { kHCompactions, kHGrowths, kHOwners, kHRecoveries, kHeaderWords, kMaxThreads, kStateBits, kTHeartbeat, kTLast, kTState, threadBase } from '../layout.js';
import type { Registry } from '../registry/registry.js';
import type { SchedulerInfo } from '../runtime/control-api.js';
import { Mailroom } from '../runtime/mailroom.js';
import type { Runtime } from '../runtime/runtime.js';
import { kLatencyBuckets, readSchedulerDetail, readSchedulerStats } from '../runtime/scheduler-stats.js';
import type { Timeline } from './timeline.js';
import type { OwnerCount, PartitionRow, RegistryRow, SchedulerRow } from './types.js';

/** The window of the call latency percentiles. */
const kLatencyWindowMs = 10_000;

interface Sched {
  readonly index: number;
  info: SchedulerInfo | null;
  inc: number;
  threadId: number;
  beat: number;
  beatAt: number;
  exited: boolean;
  reason: string | null;
  restarts: number;
  elu: EventLoopUtilization | null;
  eluValue: number | null;
  prev: { at: number; received: number; sent: number } | null;
  inPerSec: number;
  outPerSec: number;
  /** Histogram snapshots of the last 10 s, oldest first. */
  readonly hist: Array<{ at: number; buckets: readonly number[] }>;
}

interface Reg {
  readonly reg: Registry<unknown>;
  readonly headers: Int32Array[];
  readonly recoveries: number[];
  readonly history: Array<readonly [number, number]>;
  closed: boolean;
}

/** Reads the runtime's and the registries' shared counters for the observer. Main thread. */
export class Sampler {
  readonly #runtime: Runtime | undefined;
  readonly #domain: Domain;
  readonly #timeline: Timeline;
  readonly #historySamples: number;
  readonly #scheds: Sched[] = [];
  readonly #regs: Reg[] = [];
  readonly #dir: Int32Array | null;
  stallMs: number;
  #rows: SchedulerRow[] = [];
  #regRows: RegistryRow[] = [];

  constructor(o: {
    runtime: Runtime | undefined; registries: ReadonlyArray<Registry<unknown>>; domain: Domain; timeline: Timeline; stallMs: number; historySamples: number;
  }) {
    this.#runtime = o.runtime;
    this.#domain = o.domain;
    this.#timeline = o.timeline;
    this.stallMs = o.stallMs;
    this.#historySamples = o.historySamples;
    this.#dir = o.runtime === undefined ? null : new Int32Array(o.runtime.handle.directory);
    for (const reg of o.registries) {
      const headers = reg.handle.partitions.map((sab) => new Int32Array(sab, 0, kHeaderWords));
      this.#regs.push({ reg, headers, recoveries: headers.map((h) => Atomics.load(h, kHRecoveries)), history: [], closed: false });
    }
  }

  /** Learns each scheduler's buffers (one control-plane `info()` per scheduler, bounded). */
  async init(): Promise<void> {
    const rt = this.#runtime;
    if (rt === undefined) return;
    const now = Date.now();
    for (let i = 0; i < rt.schedulers; i++) {
      const worker = rt.worker(i);
      const s: Sched = {
        index: i, info: null, inc: this.#dir === null ? 0 : Atomics.load(this.#dir, 1 + i), threadId: worker.threadId, beat: 0, beatAt: now,
        exited: worker.threadId < 0, reason: null, restarts: 0, elu: null, eluValue: null, prev: null, inPerSec: 0, outPerSec: 0, hist: [],
      };
      this.#scheds.push(s);
    }
    await Promise.all(this.#scheds.map((s) => this.#learn(s)));
    this.tick();
  }

  /** Scheduler `index`'s thread exited (its Worker's `'exit'`). */
  exited(index: number): void {
    const s = this.#scheds[index];
    if (s === undefined) return;
    s.exited = true;
    s.eluValue = null;
  }

  async #learn(s: Sched): Promise<void> {
    if (s.exited || this.#runtime === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const info = await Promise.race([
      this.#runtime.control(s.index).info().catch(() => null),
      new Promise<null>((r) => (timer = setTimeout(() => r(null), 2000))),
    ]);
    clearTimeout(timer);
    if (info === null) return;
    s.info = info;
    s.inc = info.inc;
    s.threadId = info.threadId;
  }

  /** The name of a thread for tables and the timeline. */
  nameOf = (inc: number, threadId: number): string => {
    for (const s of this.#scheds) if (s.inc === inc) return `scheduler ${s.index}`;
    if (inc === this.#domain.inc) return 'main';
    if (inc === this.#domain.coordinator()) return 'coordinator';
    return threadId >= 0 ? `thread ${threadId}` : `incarnation ${inc}`;
  };

  /** The name of a thread by its `threadId` (a stall report names only that). */
  nameOfThread(threadId: number): string {
    for (const s of this.#scheds) if (s.threadId === threadId) return `scheduler ${s.index}`;
    return `thread ${threadId}`;
  }

  /** Every 100 ms: heartbeats, scheduler restarts, lock recoveries. */
  tick(now = Date.now()): void {
    const i32 = this.#domain.i32;
    for (const s of this.#scheds) {
      const dinc = this.#dir === null ? 0 : Atomics.load(this.#dir, 1 + s.index);
      if (dinc !== 0 && s.inc !== 0 && dinc !== s.inc) {
        // The runtime put a new thread in this scheduler's place.
        s.restarts++;
        this.#timeline.add('restart', `scheduler ${s.index}`, `scheduler ${s.index} restarted as incarnation ${dinc}`);
        Object.assign(s, { inc: dinc, info: null, exited: false, reason: null, beatAt: now, prev: null, elu: null, eluValue: null });
        s.hist.length = 0;
        void this.#learn(s);
      }
      if (s.inc === 0) continue;
      const b = threadBase(incSlot(s.inc));
      if (Atomics.load(i32, b + kTLast) !== s.inc) continue;
      const beat = Atomics.load(i32, b + kTHeartbeat);
      if (beat !== s.beat) {
        s.beat = beat;
        s.beatAt = now;
      }
    }
    for (const r of this.#regs) {
      r.headers.forEach((h, p) => {
        const n = Atomics.load(h, kHRecoveries);
        if (n !== r.recoveries[p]) {
          r.recoveries[p] = n;
          this.#timeline.add('lock_recovery', `${r.reg.name} partition ${p}`, `lock of ${r.reg.name} partition ${p} recovered from a stopped writer`);
        }
      });
    }
  }

  /** Once per refresh: scheduler rows with their rates, registry rows, `count()` history. */
  refresh(now = Date.now()): void {
    this.tick(now);
    this.#rows = this.#scheds.map((s) => this.#schedulerRow(s, now));
    this.#regRows = this.#regs.map((r) => this.#registryRow(r, now));
  }

  #state(s: Sched): { state: SchedulerRow['state']; reason: string | null } {
    const alive = s.inc !== 0 && this.#domain.isAlive(s.inc);
    if (!alive && (s.exited || s.inc === 0 || this.#domain.isStopped(s.inc))) {
      if (s.reason === null) {
        const r = s.inc === 0 ? 'unknown' : this.#domain.reasonOf(s.inc);
        s.reason = r === 'alive' || r === 'exited' ? 'exited' : r;
      }
      return { state: 'dead', reason: s.reason };
    }
    if (!alive) return { state: 'stalled', reason: 'stalled' }; // fenced: may still run
    return { state: Date.now() - s.beatAt > this.stallMs ? 'stalled' : 'alive', reason: null };
  }

  #schedulerRow(s: Sched, now: number): SchedulerRow {
    const { state, reason } = this.#state(s);
    const st = s.info === null ? null : readSchedulerStats(s.info.stats);
    const mail = s.info === null ? null : Mailroom.readStats(s.info.mail);
    const detail = s.info === null ? null : readSchedulerDetail(s.info.stats);
    if (mail !== null) {
      if (s.prev !== null && now > s.prev.at && state !== 'dead') {
        const dt = (now - s.prev.at) / 1000;
        s.inPerSec = ((mail.received - s.prev.received) >>> 0) / dt;
        s.outPerSec = ((mail.sent - s.prev.sent) >>> 0) / dt;
      }
      s.prev = { at: now, received: mail.received, sent: mail.sent };
    }
    if (state === 'dead') {
      s.inPerSec = 0;
      s.outPerSec = 0;
      s.eluValue = null;
    } else if (!s.exited && this.#runtime !== undefined) {
      try {
        const perf = this.#runtime.worker(s.index).performance;
        const cur = perf.eventLoopUtilization();
        if (s.elu !== null) s.eluValue = perf.eventLoopUtilization(cur, s.elu).utilization;
        s.elu = cur;
      } catch {
        s.eluValue = null;
      }
    }
    let p50: number | null = null;
    let p99: number | null = null;
    let calls = 0;
    if (detail !== null) {
      s.hist.push({ at: now, buckets: detail.latency });
      while (s.hist.length > 2 && (s.hist[1] as { at: number }).at <= now - kLatencyWindowMs) s.hist.shift();
      const old = s.hist[0] as { buckets: readonly number[] };
      const d = detail.latency.map((v, i) => (v - (old.buckets[i] as number)) >>> 0);
      if (s.hist.length === 1) d.fill(0);
      calls = d.reduce((a, b) => a + b, 0);
      p50 = percentile(d, calls, 0.5);
      p99 = percentile(d, calls, 0.99);
    }
    return {
      index: s.index,
      threadId: s.threadId,
      inc: s.inc,
      state,
      reason,
      heartbeatAgeMs: now - s.beatAt,
      stallMs: this.stallMs,
      elu: s.eluValue,
      actors: state === 'dead' ? 0 : st?.actors ?? 0,
      depth: state === 'dead' ? 0 : st?.depth ?? 0,
      handled: st?.handled ?? 0,
      dropped: st?.dropped ?? 0,
      expired: st?.expired ?? 0,
      spawned: st?.spawned ?? 0,
      exited: st?.exited ?? 0,
      inPerSec: Math.round(s.inPerSec),
      outPerSec: Math.round(s.outPerSec),
      callP50Us: p50,
      callP99Us: p99,
      calls,
      top: state === 'dead' || detail === null ? [] : detail.top.map((t) => ({ pid: makePid(s.inc, t.local), depth: t.depth })),
      restarts: s.restarts,
    };
  }

  #registryRow(r: Reg, now: number): RegistryRow {
    const reg = r.reg;
    let stats: ReturnType<Registry<unknown>['stats']> = [];
    let count = 0;
    try {
      stats = reg.stats();
      count = reg.count();
    } catch {
      r.closed = true;
    }
    if (!r.closed) {
      r.history.push([now, count]);
      if (r.history.length > this.#historySamples) r.history.splice(0, r.history.length - this.#historySamples);
    }
    const i32 = this.#domain.i32;
    const partitions: PartitionRow[] = stats.map((p, index) => {
      const h = r.headers[index] as Int32Array;
      const owners: OwnerCount[] = [];
      for (let slot = 0; slot < kMaxThreads; slot++) {
        const entries = Atomics.load(h, kHOwners + slot);
        if (entries === 0) continue;
        const inc = Atomics.load(i32, threadBase(slot) + kTLast);
        const tid = Atomics.load(i32, threadBase(slot) + kTState) >>> kStateBits;
        owners.push({ slot, thread: this.#domain.isAlive(inc) ? this.nameOf(inc, tid) : 'dead', entries });
      }
      return {
        index,
        entries: p.live,
        capacity: p.capacity,
        tombstones: p.used - p.live,
        bytes: p.bytes,
        lock: p.lock,
        lockHolder: p.lockHolder,
        growths: Atomics.load(h, kHGrowths) >>> 0,
        compactions: Atomics.load(h, kHCompactions) >>> 0,
        lockRecoveries: Atomics.load(h, kHRecoveries) >>> 0,
        owners,
      };
    });
    const sum = (f: (p: PartitionRow) => number): number => partitions.reduce((a, p) => a + f(p), 0);
    return {
      name: reg.name,
      kind: reg.kind,
      count,
      capacity: sum((p) => p.capacity),
      tombstones: sum((p) => p.tombstones),
      bytes: sum((p) => p.bytes),
      growths: sum((p) => p.growths),
      compactions: sum((p) => p.compactions),
      lockRecoveries: sum((p) => p.lockRecoveries),
      closed: r.closed,
      partitions,
      history: [...r.history],
    };
  }

  /** Scheduler rows of the last refresh, with heartbeat ages and states brought up to date. */
  schedulers(): SchedulerRow[] {
    const now = Date.now();
    this.tick(now);
    return this.#rows.map((row, i) => {
      const s = this.#scheds[i] as Sched;
      const st = this.#state(s);
      const dead = st.state === 'dead' ? { actors: 0, depth: 0, top: [], elu: null, inPerSec: 0, outPerSec: 0 } : {};
      return { ...row, ...st, ...dead, heartbeatAgeMs: now - s.beatAt, stallMs: this.stallMs };
    });
  }

  registries(): RegistryRow[] {
    return this.#regRows;
  }

  /** Scheduler incarnations and whether each can answer the control plane now. */
  schedulerIncs(): Array<{ index: number; inc: number; reachable: boolean }> {
    return this.#scheds.map((s) => ({ index: s.index, inc: s.inc, reachable: !s.exited && s.info !== null && this.#domain.isAlive(s.inc) }));
  }

  /** Health: every scheduler alive with its heartbeat inside the stall deadline. */
  health(): { ok: boolean; reasons: string[] } {
    const reasons: string[] = [];
    for (const row of this.schedulers()) {
      const who = `scheduler ${row.index} (thread ${row.threadId})`;
      if (row.state === 'dead') reasons.push(`${who} is dead: ${row.reason ?? 'unknown'}`);
      else if (row.reason === 'stalled' && row.heartbeatAgeMs <= row.stallMs) reasons.push(`${who} is fenced: declared stalled`);
      else if (row.heartbeatAgeMs > row.stallMs) {
        reasons.push(`${who}: heartbeat ${row.heartbeatAgeMs} ms old, past the stall deadline of ${row.stallMs} ms`);
      }
    }
    return { ok: reasons.length === 0, reasons };
  }
}

/** The upper bound (µs) of the bucket holding quantile `q` of `n` calls; null without calls. */
function percentile(buckets: readonly number[], n: number, q: number): number | null {
  if (n === 0) return null;
  const rank = Math.ceil(q * n);
  let acc = 0;
  for (let i = 0; i < kLatencyBuckets; i++) {
    acc += buckets[i] as number;
    if (acc >= rank) return 2 ** i;
  }
  return 2 ** (kLatencyBuckets - 1);
}
