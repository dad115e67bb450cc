/**
 * Worker of the scaling benchmark (bench/scaling.ts). Attaches to the registry and warms up once, then
 * for each timed run: waits on the shared barrier, runs its workload until the stop word says so,
 * publishes its op counter in the shared counters array as it goes, reports what it holds, and waits
 * while the coordinator checks the registry's invariants (with this thread, and so its registrations,
 * still alive). At the end it unregisters what it holds and exits.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Registry, self } from '../src/index.js';
import { makeKeys, shuffled } from '../bench/lib/keys.js';

export type Workload = 'read-mostly' | 'mixed' | 'churn' | 'contention' | 'read-only' | 'map-read-only';

export interface ScalingWorkerInit {
  readonly handle: Registry['handle'];
  readonly workload: Workload;
  /** This worker's index, 0..threads-1. */
  readonly t: number;
  /** Int32Array: [READY count, GO run, STOP run, CHECKED run]. */
  readonly ctrl: SharedArrayBuffer;
  /** Float64Array, one op counter per thread every COUNTER_STRIDE elements (one per 128 bytes). */
  readonly counters: SharedArrayBuffer;
  /** Number of preloaded keys, and the seed of makeKeys that produced them. */
  readonly preload: number;
  readonly seed: number;
  /** Contention: how many hot keys all threads race for. */
  readonly hotKeys: number;
  /** How many timed runs (repeats) this worker takes part in. */
  readonly runs: number;
}

export interface ScalingWorkerResult {
  /** 1-based run number. */
  readonly run: number;
  readonly t: number;
  readonly pid: number;
  readonly ops: number;
  readonly elapsedNs: number;
  readonly lookups: number;
  readonly writes: number;
  /** Contention: successful and refused registrations. */
  readonly wins: number;
  readonly losses: number;
  /** Keys this thread holds now, and the value it registered under each. */
  readonly held: readonly string[];
  readonly heldValues: readonly number[];
  /** Churn: keys this thread registered and then unregistered (they must be gone). */
  readonly released: readonly string[];
  /** Invariant violations seen from inside the run. */
  readonly violations: readonly string[];
}

export const READY = 0;
export const GO = 1;
export const STOP = 2;
export const CHECKED = 3;
export const COUNTER_STRIDE = 16;

/** Ops between two looks at the stop flag and two counter publications. */
const CHUNK = 256;
/** Churn: keys each thread keeps registered, and the size of its key ring. */
const CHURN_WINDOW = 64;
const CHURN_RING = 4096;
/** read-mostly / mixed: size of each thread's own key ring for the writes. */
const OWN_RING = 1024;

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('bench-scaling must run in a worker thread');
  const init = workerData as ScalingWorkerInit;
  const { workload, t } = init;
  const ctrl = new Int32Array(init.ctrl);
  const counters = new Float64Array(init.counters);
  const slot = t * COUNTER_STRIDE;
  const reg = Registry.attach(init.handle);
  const me = self() as number;
  const violations: string[] = [];
  const violate = (msg: string): void => {
    if (violations.length < 20) violations.push(msg);
  };

  // Lookup keys: the preloaded set, in a per-thread shuffled order.
  const reads = workload === 'read-mostly' || workload === 'mixed' || workload === 'read-only' || workload === 'map-read-only';
  const lookupKeys = reads ? shuffled(makeKeys(init.preload, init.seed), init.seed + 100 + t) : [];
  const NL = lookupKeys.length;
  const own = makeKeys(workload === 'churn' ? CHURN_RING : OWN_RING, init.seed + 1000 + t, `own${t}`);
  const hot: string[] = [];
  for (let j = 0; j < init.hotKeys; j++) hot.push(`hot:${j}`);
  const S = hot.length;

  let ops = 0;
  let lookups = 0;
  let writes = 0;
  let wins = 0;
  let losses = 0;
  let li = (t * 7919) % Math.max(NL, 1);
  // read-mostly / mixed writes: register own[wk], then unregister it on the next write.
  let wk = 0;
  let holdingOwn = false;
  // churn: own[l..h) (mod ring) are registered.
  let h = 0;
  let l = 0;
  // contention: index of the hot key held, or -1.
  let holdingHot = -1;
  let x = (0x9e3779b9 ^ (t * 0x85ebca6b)) >>> 0 || 1;

  // map-read-only: the control experiment, a thread-local Map holding the same keys.
  const localMap = new Map<string, number>();
  if (workload === 'map-read-only') for (let j = 0; j < NL; j++) localMap.set(lookupKeys[j] as string, j);
  const mapOne = (): void => {
    if (localMap.get(lookupKeys[li] as string) === undefined) violate(`local Map lost ${lookupKeys[li]}`);
    if (++li === NL) li = 0;
    lookups++;
  };
  const lookupOne = (): void => {
    const e = reg.lookup(lookupKeys[li] as string);
    if (e.length !== 1) violate(`lookup(${lookupKeys[li]}) returned ${e.length} entries during the run`);
    if (++li === NL) li = 0;
    lookups++;
  };
  const writeOwn = (): void => {
    const k = own[wk] as string;
    if (holdingOwn) {
      reg.unregister(k);
      holdingOwn = false;
      if (++wk === OWN_RING) wk = 0;
    } else {
      const r = reg.register(k, wk);
      if (!r.ok) violate(`register(${k}) of a free own key failed: ${JSON.stringify(r)}`);
      holdingOwn = true;
    }
    writes++;
  };
  const churnOne = (odd: boolean): void => {
    if (odd) {
      reg.unregister(own[l % CHURN_RING] as string);
      l++;
    } else {
      const k = own[h % CHURN_RING] as string;
      const r = reg.register(k, h % CHURN_RING);
      if (!r.ok) violate(`churn register(${k}) failed: ${JSON.stringify(r)}`);
      h++;
    }
    writes++;
  };
  const contendOne = (): void => {
    if (holdingHot >= 0) {
      reg.unregister(hot[holdingHot] as string);
      holdingHot = -1;
    } else {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      const j = x % S;
      const k = hot[j] as string;
      const r = reg.register(k, t);
      if (r.ok) {
        holdingHot = j;
        wins++;
        if ((wins & 63) === 0) {
          const e = reg.lookup(k);
          if (e.length !== 1 || e[0]?.[0] !== me) violate(`won ${k} but lookup shows ${JSON.stringify(e)}`);
        }
      } else {
        losses++;
        if (r.holder === me) violate(`register(${k}) refused with this thread as holder, but it holds nothing`);
      }
    }
    writes++;
  };

  const writeEvery = workload === 'read-mostly' ? 100 : 10;
  const step = (i: number): void => {
    switch (workload) {
      case 'read-mostly':
      case 'mixed':
        if (i % writeEvery === 0) writeOwn();
        else lookupOne();
        break;
      case 'read-only':
        lookupOne();
        break;
      case 'map-read-only':
        mapOne();
        break;
      case 'churn':
        churnOne((i & 1) === 1);
        break;
      case 'contention':
        contendOne();
        break;
    }
  };

  // Warm up the JIT on the same code paths (own keys only, so nothing leaks into the measurement).
  if (reads) {
    // One full pass over the keys (so each thread's lookup cache, if any, is in its steady state).
    for (let i = 0; i < NL + 10_000; i++) step(i);
    if (holdingOwn) writeOwn();
  } else if (workload === 'churn') {
    for (let i = 0; i < 20_000; i++) churnOne((i & 1) === 1);
    // Fill the window: from now on the thread holds CHURN_WINDOW (or one more) keys.
    for (let i = 0; i < CHURN_WINDOW; i++) churnOne(false);
  } else {
    for (let i = 0; i < 2_000; i++) {
      const k = own[i % OWN_RING] as string;
      reg.register(k, i);
      reg.unregister(k);
      reg.lookup(k);
    }
  }
  // Runs: for run r (1-based), check in on READY, sleep until GO reaches r, run until STOP reaches r,
  // report, then sleep until CHECKED reaches r (the coordinator checks the registry meanwhile).
  for (let r = 1; r <= init.runs; r++) {
    ops = 0;
    lookups = 0;
    writes = 0;
    wins = 0;
    losses = 0;
    violations.length = 0;
    counters[slot] = 0;
    Atomics.add(ctrl, READY, 1);
    Atomics.notify(ctrl, READY);
    while (Atomics.load(ctrl, GO) < r) Atomics.wait(ctrl, GO, r - 1);
    const t0 = process.hrtime.bigint();
    let i = 0;
    while (Atomics.load(ctrl, STOP) < r) {
      for (let c = 0; c < CHUNK; c++) step(i++);
      ops += CHUNK;
      counters[slot] = ops;
    }
    const elapsedNs = Number(process.hrtime.bigint() - t0);
    port.postMessage({ run: r, t, pid: me, ops, elapsedNs, lookups, writes, wins, losses, ...holdings(), violations } satisfies ScalingWorkerResult);
    while (Atomics.load(ctrl, CHECKED) < r) Atomics.wait(ctrl, CHECKED, r - 1);
  }
  // Release everything, so the registry is back to its preloaded state and can serve the next cell.
  // (No reg.close(): close is registry-wide; the coordinator does it.)
  for (const k of holdings().held) reg.unregister(k);
  port.postMessage('released');
  process.exit(0);

  function holdings(): { held: string[]; heldValues: number[]; released: string[] } {
    const held: string[] = [];
    const heldValues: number[] = [];
    const released: string[] = [];
    if (holdingOwn) {
      held.push(own[wk] as string);
      heldValues.push(wk);
    }
    if (workload === 'churn') {
      for (let k = l; k < h; k++) {
        held.push(own[k % CHURN_RING] as string);
        heldValues.push(k % CHURN_RING);
      }
      for (let k = Math.max(0, l - CHURN_WINDOW); k < l; k++) released.push(own[k % CHURN_RING] as string);
    }
    if (holdingHot >= 0) {
      held.push(hot[holdingHot] as string);
      heldValues.push(t);
    }
    return { held, heldValues, released };
  }
}

main();
