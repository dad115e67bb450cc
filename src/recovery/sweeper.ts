/**
 * The coordinator thread's loop (started by `Coordinator.start`, entry `workers/coordinator.ts`).
 *
 * It sleeps on the domain's `declared` counter with `Atomics.waitAsync`, waking at least four times
 * per heartbeat. On each wake it:
 * 1. repairs slots whose declarer was killed half-way (domain.ts);
 * 2. sweeps: for every Dead incarnation, in every known registry, recovers the partition locks it
 *    held and removes its entries. It never blocks on a lock: a partition whose lock is busy is tried
 *    again at the next wake. A death is marked swept (its slot freed, `sync()` woken) once every
 *    registry is done with it, and only once the coordinator knows every registry created in the
 *    domain (control.ts). An error in one registry is reported once and does not stop the others;
 * 3. checks stalls: a supervised thread whose heartbeat did not move for `stallMs` is asked to be
 *    terminated (its supervisor does it, and declares it dead on `'exit'`); if it still lives `fenceMs`
 *    later, the coordinator fences it: its entries vanish and its writes are refused, but its locks
 *    stay held until its stop is proven (the rule in domain.ts).
 *
 * @module
 */
import { BroadcastChannel, parentPort } from 'node:worker_threads';
import { controlChannel, type ControlMessage } from '../domain/control.js';
import { Domain, waitFor, type DeadThread } from '../domain/domain.js';
import { kCAnnounced, kCClosed, kDDeclared, kDHeartbeatMs } from '../layout.js';
import type { RegistryHandle } from '../registry/options.js';
import { Registry, sweepRegistry } from '../registry/registry.js';

/** Settings passed to the coordinator thread. */
export interface SweeperSettings {
  domain: SharedArrayBuffer;
  heartbeatMs: number;
  stallMs: number;
  fenceMs: number;
  handles: RegistryHandle[];
  ready: SharedArrayBuffer;
}

/**
 * Emits a process warning in the thread that started the coordinator (where `process.on('warning')`
 * of the application listens), by a message to it; in the coordinator's own thread if there is none.
 */
function warn(message: string, code: string): void {
  if (parentPort !== null) parentPort.postMessage({ roster: 'warning', message, code });
  else process.emitWarning(message, { code });
}

/** How long the coordinator waits for the announcement of a registry it was told exists. */
const kAnnounceGraceMs = 2000;

interface Known {
  readonly reg: Registry;
  /** The first full sweep (every entry checked by liveness) is still to do. */
  full: boolean;
  /** Dead incarnations this registry is done with. */
  readonly done: Set<number>;
  /** Last error reported for it (each distinct message once). */
  error: string;
}

export class Sweeper {
  readonly #domain: Domain;
  readonly #s: SweeperSettings;
  readonly #registries = new Map<string, Known>();
  /** Registries learned of, closed ones included. */
  readonly #seen = new Set<string>();
  /** Open registries given up on (never announced): counted as known. */
  #accepted = 0;
  #missingSince = 0;
  #graceUntil = 0;
  readonly #watch = new Map<number, { beat: number; since: number; asked: number }>();
  readonly #channel: BroadcastChannel;

  constructor(s: SweeperSettings) {
    this.#s = s;
    this.#domain = Domain.adopt(s.domain);
    // ORDER: listen before taking the role, so a registry created once the role is visible is heard.
    this.#channel = new BroadcastChannel(controlChannel(this.#domain));
    this.#channel.onmessage = (ev: unknown) => this.#onMessage((ev as { data: ControlMessage }).data);
    const previous = Atomics.load(this.#domain.i32, kDHeartbeatMs) || 100;
    this.#graceUntil = Date.now() + 2 * Math.max(previous, s.heartbeatMs);
    this.#domain.configure(s.heartbeatMs, this.#domain.inc);
    for (const h of s.handles) this.#add(h);
    // Threads answer with the registries and workers they announced before anyone listened.
    this.#channel.postMessage({ type: 'hello' } satisfies ControlMessage);
  }

  #add(h: RegistryHandle): void {
    if (this.#seen.has(h.id)) return;
    this.#seen.add(h.id);
    let reg: Registry;
    try {
      reg = Registry.attach(h);
    } catch (err) {
      this.#report(h.id, err);
      return;
    }
    this.#registries.set(h.id, { reg, full: true, done: new Set(), error: '' });
    // A registry learned late may hold entries (or locks) of owners that died before: sweep it now.
    this.#sweepFull();
  }

  #onMessage(msg: ControlMessage): void {
    try {
      switch (msg.type) {
        case 'registry':
          this.#add(msg.handle as RegistryHandle);
          break;
        case 'supervise':
          if (msg.stall) this.#watch.set(msg.threadId, { beat: -1, since: Date.now(), asked: 0 });
          else this.#watch.delete(msg.threadId);
          break;
        case 'unsupervise':
          this.#watch.delete(msg.threadId);
          break;
        default:
          break;
      }
      this.sweep();
    } catch (err) {
      this.#report('control', err);
    }
  }

  /** Full sweeps (by liveness) of registries learned late; announces each once it is done. */
  #sweepFull(): void {
    for (const [id, k] of this.#registries) {
      if (!k.full) continue;
      let complete = false;
      try {
        complete = sweepRegistry(k.reg, null);
      } catch (err) {
        if (this.#closed(id, err)) continue;
        this.#report(id, err);
        complete = true; // reported; later deaths are still swept by slot
      }
      if (!complete) continue;
      k.full = false;
      const control = new Int32Array(k.reg.handle.control);
      // ORDER: announced after the sweep; the creating thread waits for this word.
      Atomics.store(control, kCAnnounced, 1);
      Atomics.notify(control, kCAnnounced);
    }
  }

  /** True (and forgets it) if `err` says the registry was closed. */
  #closed(id: string, err: unknown): boolean {
    if ((err as { code?: string }).code !== 'ROSTER_ERR_UNKNOWN_REGISTRY') return false;
    this.#registries.delete(id);
    return true;
  }

  #report(id: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const k = this.#registries.get(id);
    if (k !== undefined) {
      if (k.error === message) return;
      k.error = message;
    }
    warn(`coordinator: sweeping ${id} failed: ${message}; other registries are unaffected`, 'ROSTER_SWEEP');
  }

  /** True once every open registry of the domain was announced (or the grace period ran out). */
  #knowsAll(now: number): boolean {
    const open = this.#domain.registriesOpen();
    let mine = this.#accepted;
    for (const k of this.#registries.values()) if (Atomics.load(new Int32Array(k.reg.handle.control), kCClosed) === 0) mine++;
    if (mine >= open) {
      this.#missingSince = 0;
      return true;
    }
    if (this.#missingSince === 0) this.#missingSince = now;
    if (now - this.#missingSince < kAnnounceGraceMs) return false;
    const missing = open - mine;
    this.#accepted += missing;
    warn(
      `coordinator: ${missing} open registr${missing === 1 ? 'y was' : 'ies were'} never announced (the threads that knew ` +
        'them died before a coordinator listened); deaths are swept without them',
      'ROSTER_SWEEP',
    );
    return true;
  }

  /** Sweeps every Dead incarnation from every registry. Returns how many deaths it completed. Never blocks. */
  sweep(): number {
    this.#domain.repair();
    this.#sweepFull();
    let fullPending = false;
    for (const k of this.#registries.values()) if (k.full) fullPending = true;
    if (fullPending || !this.#knowsAll(Date.now())) this.#domain.settle(false);
    const dead = this.#domain.deadUnswept();
    if (dead.length === 0) {
      if (!fullPending && this.#knowsAll(Date.now())) this.#domain.settle(true);
      return 0;
    }
    for (const [id, k] of this.#registries) {
      const pending: DeadThread[] = dead.filter((d) => !k.done.has(d.inc));
      if (pending.length === 0) continue;
      try {
        if (sweepRegistry(k.reg, pending)) for (const d of pending) k.done.add(d.inc);
      } catch (err) {
        if (this.#closed(id, err)) continue;
        this.#report(id, err);
        for (const d of pending) k.done.add(d.inc); // reported; its entries stay hidden by liveness
      }
    }
    if (!this.#knowsAll(Date.now())) return 0;
    if (!fullPending) this.#domain.settle(true);
    let completed = 0;
    for (const d of dead) {
      let all = true;
      for (const k of this.#registries.values()) if (!k.done.has(d.inc)) all = false;
      if (!all) continue;
      for (const k of this.#registries.values()) k.done.delete(d.inc);
      this.#domain.swept(d.inc);
      completed++;
    }
    return completed;
  }

  #checkStalls(): void {
    if (this.#watch.size === 0) return;
    const now = Date.now();
    // Threads started before this coordinator beat at the previous period until their next beat.
    if (now < this.#graceUntil) {
      for (const w of this.#watch.values()) w.since = now;
      return;
    }
    const beats = new Map(this.#domain.heartbeats().map((b) => [b.threadId, b]));
    for (const [tid, w] of this.#watch) {
      const b = beats.get(tid);
      if (b === undefined) continue; // not started writing yet, or already dead
      if (b.beat !== w.beat) {
        w.beat = b.beat;
        w.since = now;
        w.asked = 0;
        continue;
      }
      if (now - w.since < this.#s.stallMs) continue;
      if (w.asked === 0) {
        w.asked = now;
        this.#channel.postMessage({ type: 'terminate', threadId: tid, blockedMs: now - w.since, stallMs: this.#s.stallMs } satisfies ControlMessage);
      } else if (now - w.asked >= this.#s.fenceMs) {
        // The supervisor did not stop it: fence it. Its entries vanish and its next write is refused;
        // its locks stay held until its 'exit' proves it stopped.
        if (this.#domain.fence(b.inc)) {
          warn(
            `coordinator: worker thread ${tid} was not terminated within fenceMs (${this.#s.fenceMs} ms) after a stall; ` +
              'it is fenced: its entries are hidden and its writes refused, and any partition lock it holds stays held ' +
              'until the thread is seen to exit',
            'ROSTER_FENCED',
          );
        }
        this.#watch.delete(tid);
      }
    }
  }

  /** Runs forever: sweep on every declaration, check stalls four times per heartbeat. */
  async run(): Promise<void> {
    const i32 = this.#domain.i32;
    const ready = new Int32Array(this.#s.ready);
    Atomics.store(ready, 0, 1);
    Atomics.notify(ready, 0);
    for (;;) {
      const seen = Atomics.load(i32, kDDeclared);
      try {
        this.sweep();
        this.#checkStalls();
      } catch (err) {
        this.#report('coordinator', err);
      }
      // ORDER: sleeps only while no new death was declared since `seen`; a declaration bumps then notifies.
      // Stalls are sampled four times per heartbeat, so detection lags the deadline by ≤ ¼ heartbeat.
      await waitFor(i32, kDDeclared, seen, Math.max(5, Math.floor(this.#s.heartbeatMs / 4)));
    }
  }
}
