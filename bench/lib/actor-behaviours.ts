/**
 * Behaviours for bench/actors.ts. Scheduler threads import this module by URL, so it holds only
 * behaviours (and what they need); every timed loop that runs inside a scheduler lives in `Driver`,
 * which measures itself with `process.hrtime.bigint()` and returns nanoseconds.
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Runtime, behaviour, call, cast, noReply, ref, reply, self, spawn, stopProcess, via, type From, type Pid } from '../../src/index.js';

const now = (): bigint => process.hrtime.bigint();
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Answers every call with its message. */
export const Echo = behaviour({
  init: () => null,
  handleCall: (msg: unknown) => msg,
});

/** Counts casts; `'count'` calls answer the total so far. */
export const Sink = behaviour({
  init: () => ({ n: 0 }),
  handleCast(_msg: unknown, state: { n: number }) {
    state.n++;
    return undefined;
  },
  handleCall: (_msg: unknown, _from: From, state: { n: number }) => state.n,
});

/** An idle actor: no state, no handlers beyond init (the memory figure). */
export const Idle = behaviour({
  init: () => null,
});

/** Ping-pong: sends every ball back to its sender. */
export const Ponger = behaviour({
  init: () => null,
  handleCast(msg: { from: Pid; i: number }) {
    cast(msg.from, { from: self(), i: msg.i });
    return undefined;
  },
});

interface PingState {
  peer: Pid;
  left: number;
  t0: bigint;
  from: From | null;
}

/** Ping-pong: `{ peer, n }` volleys n balls with `peer` (one in flight) and answers the time in ns. */
export const Pinger = behaviour({
  init: (): PingState => ({ peer: 0, left: 0, t0: 0n, from: null }),
  handleCall(msg: { peer: Pid; n: number }, from: From, state: PingState) {
    state.peer = msg.peer;
    state.left = msg.n;
    state.from = from;
    state.t0 = now();
    cast(msg.peer, { from: self(), i: msg.n });
    return noReply(state);
  },
  handleCast(msg: { i: number }, state: PingState) {
    if (--state.left === 0) {
      const from = state.from as From;
      state.from = null;
      reply(from, Number(now() - state.t0));
    } else {
      cast(state.peer, { from: self(), i: msg.i });
    }
    return undefined;
  },
});

/** One round's timing from a driver. */
export interface Timed {
  readonly ns: number;
  readonly n: number;
}

/** Timing with per-operation latencies (ns). */
export interface TimedLatency extends Timed {
  readonly p50Ns: number;
  readonly p99Ns: number;
}

/** What a `Driver` can be asked to run (a call; every field it needs). */
export type DriverOp =
  | { op: 'casts'; target: Pid; n: number; yieldEvery: number }
  | { op: 'tellBatches'; target: Pid; batch: number; iters: number }
  | { op: 'localCalls'; target: Pid; n: number; latencies: boolean }
  | { op: 'directAsync'; n: number; latencies: boolean }
  | { op: 'skeleton'; n: number; latencies: boolean }
  | { op: 'spawns'; n: number; batch: number; named: boolean; prefix: string; registry: string }
  | { op: 'spawnIdle'; n: number; batch: number; prefix: string; registry: string }
  | { op: 'stopIdle'; batch: number }
  | { op: 'heap' };

const self_ = (): string => import.meta.url;
/** The idle actors spawned by `spawnIdle` in this thread, stopped by `stopIdle`. */
const idle: Pid[] = [];

function percentile(xs: Float64Array, p: number): number {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}

async function echo(x: number): Promise<number> {
  return x;
}

/**
 * The skeleton of a call between two actors of one thread, with nothing of Roster in it: a microtask
 * to deliver the call, the handler run inside an AsyncLocalStorage context, a microtask to deliver the
 * reply, and the caller's promise. The floor that `localCalls` is compared with.
 */
const skeletonStore = new AsyncLocalStorage<number>();
const settled = Promise.resolve();
const identity = (x: number): number => x;
function skeletonCall(x: number): Promise<number> {
  return new Promise((resolve) => {
    void settled.then(() => {
      const r = skeletonStore.run(2, identity, x);
      void settled.then(() => resolve(r));
    });
  });
}

let gcFn: (() => void) | null | undefined;
function gc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return (gcFn = g);
  try {
    // Without --expose-gc: the flag set at run time exposes gc in contexts created after it.
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

async function heapUsed(): Promise<{ heapUsed: number; forcedGc: boolean }> {
  const g = gc();
  for (let i = 0; i < 4; i++) {
    await tick();
    g?.();
  }
  return { heapUsed: v8.getHeapStatistics().used_heap_size, forcedGc: g !== null };
}

/**
 * Runs timed loops inside its scheduler: the figures that need an actor as the sender (casts between
 * schedulers, local calls, spawns) and their in-thread baselines.
 */
export const Driver = behaviour({
  init: () => null,
  async handleCall(msg: DriverOp): Promise<unknown> {
    switch (msg.op) {
      case 'casts': {
        // Pipelined: cast n small messages, yielding now and then so the ring's backlog pump runs; a
        // cast refused at the backlog bound (false) is retried after a yield. The final call arrives
        // after every cast (FIFO per sender→receiver pair), so its answer is the count they made.
        const before = await call<number>(msg.target, 'count');
        const t0 = now();
        for (let i = 0; i < msg.n; i++) {
          while (!cast(msg.target, { op: 'cast', key: 'room:42', i })) await tick();
          if (i % msg.yieldEvery === msg.yieldEvery - 1) await tick();
        }
        const after = await call<number>(msg.target, 'count', { timeout: 120_000 });
        const ns = Number(now() - t0);
        if (after - before !== msg.n) throw new Error(`sink counted ${after - before} of ${msg.n} casts`);
        return { ns, n: msg.n } satisfies Timed;
      }
      case 'tellBatches': {
        // actor-ts's tell-throughput: `batch` casts into one actor, then read back how many it handled.
        let total = 0;
        const t0 = now();
        for (let k = 0; k < msg.iters; k++) {
          const before = await call<number>(msg.target, 'count');
          for (let i = 0; i < msg.batch; i++) cast(msg.target, { op: 'cast', key: 'room:42', i });
          const after = await call<number>(msg.target, 'count', { timeout: 60_000 });
          if (after - before !== msg.batch) throw new Error(`sink counted ${after - before} of ${msg.batch} casts`);
          total += msg.batch;
        }
        return { ns: Number(now() - t0), n: total } satisfies Timed;
      }
      case 'localCalls':
      case 'skeleton':
      case 'directAsync': {
        const lat = msg.latencies ? new Float64Array(msg.n) : null;
        const target = msg.op === 'localCalls' ? msg.target : 0;
        const t0 = now();
        let sum = 0;
        for (let i = 0; i < msg.n; i++) {
          const a = lat === null ? 0n : now();
          sum += msg.op === 'localCalls' ? await call<number>(target, i) : msg.op === 'skeleton' ? await skeletonCall(i) : await echo(i);
          if (lat !== null) lat[i] = Number(now() - a);
        }
        const ns = Number(now() - t0);
        if (sum !== (msg.n * (msg.n - 1)) / 2) throw new Error('wrong replies');
        return lat === null ? ({ ns, n: msg.n } satisfies Timed) : ({ ns, n: msg.n, p50Ns: percentile(lat, 0.5), p99Ns: percentile(lat, 0.99) } satisfies TimedLatency);
      }
      case 'spawns': {
        // Batches: spawn `batch` actors here (each resolves once its init ran), then stop them all
        // (each resolves once it exited, its name removed).
        const reg = Runtime.registry(msg.registry);
        const b = ref(self_(), 'Idle');
        const t0 = now();
        for (let done = 0; done < msg.n; done += msg.batch) {
          const ps: Array<Promise<Pid>> = [];
          for (let i = 0; i < msg.batch; i++) {
            ps.push(spawn(b, null, msg.named ? { name: via(reg, `${msg.prefix}${done + i}`), scheduler: 'local' } : { scheduler: 'local' }));
          }
          const pids = await Promise.all(ps);
          await Promise.all(pids.map((p) => stopProcess(p)));
        }
        return { ns: Number(now() - t0), n: msg.n } satisfies Timed;
      }
      case 'spawnIdle': {
        const reg = Runtime.registry(msg.registry);
        const b = ref(self_(), 'Idle');
        const t0 = now();
        for (let done = 0; done < msg.n; done += msg.batch) {
          const ps: Array<Promise<Pid>> = [];
          for (let i = 0; i < msg.batch && done + i < msg.n; i++) ps.push(spawn(b, null, { name: via(reg, `${msg.prefix}${done + i}`), scheduler: 'local' }));
          idle.push(...(await Promise.all(ps)));
          // A local spawn settles in microtasks only: without a turn of the event loop now and then,
          // 100k of them would starve the scheduler's heartbeat (and the supervisor would stop it).
          await tick();
        }
        return { ns: Number(now() - t0), n: msg.n } satisfies Timed;
      }
      case 'stopIdle': {
        const n = idle.length;
        while (idle.length > 0) await Promise.all(idle.splice(0, msg.batch).map((p) => stopProcess(p)));
        return n;
      }
      case 'heap':
        return heapUsed();
    }
  },
});
