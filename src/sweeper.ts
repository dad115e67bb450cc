/**
 * The coordinator thread's loop (started by `Coordinator.start`, entry `workers/coordinator.ts`).
 *
 * It sleeps on the domain's `declared` counter with `Atomics.waitAsync`, waking at least four times
 * per heartbeat. On each wake it:
 * 1. sweeps: for every dead, unswept incarnation, recovers each partition lock it holds and removes its
 *    entries from every known registry, then marks it swept (waking `sync()` callers);
 * 2. checks stalls: a supervised thread whose heartbeat did not move for `stallMs` is asked to be
 *    terminated (its supervisor does it, and declares it dead on `'exit'`); if it still lives `fenceMs`
 *    later, the coordinator declares it dead itself.
 *
 * @module
 */
import { BroadcastChannel } from 'node:worker_threads';
import { Domain } from './domain.js';
import { kCAnnounced, kDDeclared } from './layout.js';
import type { RegistryHandle } from './options.js';
import { Registry } from './registry.js';
import { controlChannel, type ControlMessage } from './supervise.js';

/** Settings passed to the coordinator thread. */
export interface SweeperSettings {
  domain: SharedArrayBuffer;
  heartbeatMs: number;
  stallMs: number;
  fenceMs: number;
  handles: RegistryHandle[];
  ready: SharedArrayBuffer;
}

export class Sweeper {
  readonly #domain: Domain;
  readonly #s: SweeperSettings;
  readonly #registries = new Map<string, Registry>();
  readonly #watch = new Map<number, { beat: number; since: number; asked: number }>();
  readonly #channel: BroadcastChannel;

  constructor(s: SweeperSettings) {
    this.#s = s;
    this.#domain = Domain.adopt(s.domain);
    this.#domain.configure(s.heartbeatMs, this.#domain.inc);
    for (const h of s.handles) this.#add(h);
    this.#channel = new BroadcastChannel(controlChannel(this.#domain));
    this.#channel.onmessage = (ev: unknown) => this.#onMessage((ev as { data: ControlMessage }).data);
  }

  #add(h: RegistryHandle): void {
    if (this.#registries.has(h.id)) return;
    const reg = Registry.attach(h);
    this.#registries.set(h.id, reg);
    // A registry learned late may still hold entries (or locks) of owners that died before: sweep it now.
    reg.sweepDead([]);
    const control = new Int32Array(h.control);
    // ORDER: announced after the sweep; the creating thread waits for this word.
    Atomics.store(control, kCAnnounced, 1);
    Atomics.notify(control, kCAnnounced);
  }

  #onMessage(msg: ControlMessage): void {
    switch (msg.type) {
      case 'registry':
        this.#add(msg.handle as RegistryHandle);
        break;
      case 'supervise':
        if (msg.stall) this.#watch.set(msg.threadId, { beat: -1, since: Date.now(), asked: 0 });
        break;
      case 'unsupervise':
        this.#watch.delete(msg.threadId);
        break;
      case 'terminate':
        break;
    }
    this.sweep();
  }

  /** Sweeps every dead, unswept incarnation from every registry. Returns how many deaths it completed. */
  sweep(): number {
    const dead = this.#domain.deadUnswept();
    if (dead.length === 0) return 0;
    for (const reg of this.#registries.values()) {
      try {
        reg.sweepDead(dead);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ROSTER_ERR_UNKNOWN_REGISTRY') throw err;
        this.#registries.delete(reg.handle.id);
      }
    }
    for (const d of dead) this.#domain.swept(d.inc);
    return dead.length;
  }

  #checkStalls(): void {
    if (this.#watch.size === 0) return;
    const now = Date.now();
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
        this.#channel.postMessage({ type: 'terminate', threadId: tid } satisfies ControlMessage);
      } else if (now - w.asked >= this.#s.fenceMs) {
        // The supervisor did not stop it: fence it. Its next write fails the incarnation check.
        this.#domain.declareDead(b.inc, 'stalled');
        this.#watch.delete(tid);
      }
    }
  }

  /** Runs forever: sweep on every declaration, check stalls every heartbeat. */
  async run(): Promise<void> {
    const i32 = this.#domain.i32;
    const ready = new Int32Array(this.#s.ready);
    Atomics.store(ready, 0, 1);
    Atomics.notify(ready, 0);
    for (;;) {
      const seen = Atomics.load(i32, kDDeclared);
      this.sweep();
      this.#checkStalls();
      // ORDER: sleeps only while no new death was declared since `seen`; declareDead bumps then notifies.
      // Stalls are sampled four times per heartbeat, so detection lags the deadline by ≤ ¼ heartbeat.
      const r = Atomics.waitAsync(i32, kDDeclared, seen, Math.max(5, Math.floor(this.#s.heartbeatMs / 4)));
      if (r.async) await r.value;
    }
  }
}
