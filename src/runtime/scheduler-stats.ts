/**
 * A scheduler's shared counters (`Scheduler.statsBuffer`): the layout of the buffer, and its readers.
 * The scheduler thread writes it (scheduler.ts); any thread reads it without messaging anyone.
 *
 * ```
 *  word 0..6   actors, handled, dropped, expired, spawned, exited, total mailbox depth
 *  word 8      top-5 sequence (odd while written)     words 9..18   five [local id, depth] pairs
 *  words 20..43  calls served per log2 µs of service time
 * ```
 *
 * @module
 */

/** One scheduler's counters. */
export interface SchedulerStats {
  readonly actors: number;
  readonly handled: number;
  readonly dropped: number;
  readonly expired: number;
  readonly spawned: number;
  readonly exited: number;
  readonly depth: number;
}

export const kSActors = 0;
export const kSHandled = 1;
export const kSDropped = 2;
export const kSExpired = 3;
export const kSSpawned = 4;
export const kSExited = 5;
export const kSDepth = 6;
/**
 * The five deepest mailboxes: a sequence word (odd while the pairs are being written; readers retry),
 * then five `[local id, depth]` pairs, deepest first, written with the depth total (at most every 100 ms
 * while batches stay full).
 */
export const kSTopSeq = 8;
export const kSTop = 9;
export const kTopN = 5;
/**
 * Calls served, by service time (handler start to reply, mailbox wait excluded) in log2 µs buckets:
 * bucket 0 is under 1 µs, bucket i (1…kLatencyBuckets − 1) under 2^i µs, the last one everything above.
 */
export const kSLatency = 20;
export const kLatencyBuckets = 24;
export const kStatsWords = kSLatency + kLatencyBuckets;

/** Reads a scheduler's counters from its `statsBuffer`. Any thread. */
export function readSchedulerStats(sab: SharedArrayBuffer): SchedulerStats {
  const s = new Int32Array(sab);
  const u = (i: number): number => Atomics.load(s, i) >>> 0;
  return { actors: u(kSActors), handled: u(kSHandled), dropped: u(kSDropped), expired: u(kSExpired), spawned: u(kSSpawned), exited: u(kSExited), depth: u(kSDepth) };
}

/** A scheduler's deepest mailboxes and call service-time histogram (see `kSTop`, `kSLatency`). */
export interface SchedulerDetail {
  /** Up to five actors with waiting mail, deepest first (`local` is the pid's local part). */
  readonly top: ReadonlyArray<{ readonly local: number; readonly depth: number }>;
  /** Calls served per log2 µs bucket (u32 counters that wrap). */
  readonly latency: readonly number[];
}

/** Reads a scheduler's `SchedulerDetail` from its `statsBuffer`. Any thread; retries a torn top list. */
export function readSchedulerDetail(sab: SharedArrayBuffer): SchedulerDetail {
  const s = new Int32Array(sab);
  const latency: number[] = [];
  for (let i = 0; i < kLatencyBuckets; i++) latency.push(Atomics.load(s, kSLatency + i) >>> 0);
  let top: Array<{ local: number; depth: number }> = [];
  for (let tries = 0; tries < 100; tries++) {
    const seq = Atomics.load(s, kSTopSeq);
    if ((seq & 1) === 1) continue;
    top = [];
    for (let i = 0; i < kTopN; i++) {
      const depth = Atomics.load(s, kSTop + 2 * i + 1) >>> 0;
      if (depth > 0) top.push({ local: Atomics.load(s, kSTop + 2 * i) >>> 0, depth });
    }
    // ORDER: the pairs were read between two equal even loads of the sequence word: not torn.
    if (Atomics.load(s, kSTopSeq) === seq) break;
  }
  return { top, latency };
}
