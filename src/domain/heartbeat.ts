/**
 * Heartbeats and waiting. Every thread with an incarnation beats a word of its thread slot from its
 * event loop, so the coordinator can tell a blocked loop from a busy one (`startHeartbeat`; a thread
 * that waits synchronously beats with `Domain.beat`). `waitFor` is the wait on a shared word that every
 * asynchronous waiter uses: it never blocks the event loop, and keeps it alive while it waits.
 *
 * @module
 */
import { kDHeartbeatMs, kMaxThreads, kStateBits, kTHeartbeat, kTLast, kTLive, kTState, threadBase } from '../layout.js';

const kDefaultHeartbeatMs = 100;

/**
 * Beats from this thread's event loop, so the coordinator can tell a blocked loop from a busy one.
 * The timer is unref'd: it never keeps a thread alive. It stops beating once the slot is no longer
 * this incarnation's.
 */
export function startHeartbeat(i32: Int32Array, b: number, inc: number): void {
  const period = Atomics.load(i32, kDHeartbeatMs) || kDefaultHeartbeatMs;
  const timer = setInterval(() => {
    if (Atomics.load(i32, b + kTLast) !== inc) return clearInterval(timer);
    Atomics.add(i32, b + kTHeartbeat, 1);
    // A coordinator started later may ask for another period: follow it.
    if ((Atomics.load(i32, kDHeartbeatMs) || kDefaultHeartbeatMs) !== period) {
      clearInterval(timer);
      startHeartbeat(i32, b, inc);
    }
  }, period);
  timer.unref();
}

/** Live incarnations with their thread and heartbeat, for the coordinator's stall check. Any thread; one scan. */
export function readHeartbeats(i32: Int32Array): Array<{ inc: number; threadId: number; beat: number }> {
  const out: Array<{ inc: number; threadId: number; beat: number }> = [];
  for (let slot = 0; slot < kMaxThreads; slot++) {
    const b = threadBase(slot);
    const inc = Atomics.load(i32, b + kTLive);
    if (inc === 0) continue;
    const tid = Atomics.load(i32, b + kTState) >>> kStateBits;
    out.push({ inc, threadId: tid, beat: Atomics.load(i32, b + kTHeartbeat) });
  }
  return out;
}

/**
 * Waits until `i32[index] !== value` or `ms` pass, without blocking the event loop. A ref'd timer runs
 * alongside: `Atomics.waitAsync` timeouts alone do not keep Node's event loop alive.
 */
export async function waitFor(i32: Int32Array, index: number, value: number, ms: number): Promise<void> {
  const r = Atomics.waitAsync(i32, index, value, ms);
  if (!r.async) return;
  const keep = setTimeout(() => undefined, ms + 10);
  try {
    await r.value;
  } finally {
    clearTimeout(keep);
  }
}
