/**
 * `npm run sweep-time`: how long a dead thread's entries outlive it, for a thread holding
 * 1M entries in a unique registry with 8 partitions. Target: at most 2 heartbeats + 100 ms.
 *
 * - terminate: main terminates the filled worker; terminate() → resolved, then → coord.sync()
 *   resolved (entries gone: the sweep of 1M entries).
 * - stall: the filled worker blocks its event loop for good. The coordinator (heartbeatMs 100,
 *   stallMs 200) notices the heartbeat stopped, has its supervisor terminate it, and sweeps. Main
 *   watches the worker's heartbeat word (1 ms polls) to timestamp the last beat; figures: last beat →
 *   exit (detection + terminate), exit → swept, last beat → swept.
 * Each variant runs --runs times (default 1); prints JSON. Times are wall-clock ms on this machine.
 *
 * Usage: node dist/scripts/sweep-time.js [--entries 1000000] [--runs 1] [--heartbeat 100] [--stall-ms 200]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Coordinator, Registry, supervise } from '../src/index.js';
import { Domain } from '../src/domain/domain.js';

const { values: a } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '1' },
    heartbeat: { type: 'string', default: '100' },
    'stall-ms': { type: 'string', default: '200' },
    partitions: { type: 'string', default: '8' },
  },
});
const entries = Number(a.entries);
const runs = Number(a.runs);
const heartbeatMs = Number(a.heartbeat);
const stallMs = Number(a['stall-ms']);
const partitions = Number(a.partitions);
const workerUrl = new URL('../test/fixtures/kill-sweep-worker.js', import.meta.url);
const abs = (): number => performance.timeOrigin + performance.now();
const r2 = (x: number): number => Math.round(x * 100) / 100;
const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const log = (s: string): void => console.error(`[sweep-time] ${s}`);

const coord = await Coordinator.start({ heartbeatMs, stallMs });

interface Filled {
  reg: Registry;
  worker: Worker;
  ctl: Int32Array;
  times: Float64Array;
  exited: Promise<number>;
  fillMs: number;
}

async function fill(stall: boolean): Promise<Filled> {
  const reg = Registry.create({
    keys: 'unique', partitions, name: `sweep-time-${stall ? 'stall' : 'terminate'}`,
    initialCapacity: 1 << 10, maxPartitionBytes: 1 << 30,
  });
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  const times = new Float64Array(new SharedArrayBuffer(8));
  const t0 = abs();
  const worker = new Worker(workerUrl, { workerData: { handle: reg.handle, entries, ctl, times } });
  supervise(worker, { stall });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  let failed: unknown;
  worker.once('error', (e) => (failed = e));
  for (;;) {
    const n = Atomics.load(ctl, 0);
    if (n >= entries) break;
    if (failed !== undefined) throw failed;
    const r = Atomics.waitAsync(ctl, 0, n, 1000);
    if (r.async) await r.value;
  }
  const fillMs = abs() - t0;
  if (reg.count() !== entries) throw new Error(`count() ${reg.count()} after filling ${entries}`);
  return { reg, worker, ctl, times, exited, fillMs };
}

function gone(f: Filled): { count: number; used: number; locks: number } {
  const st = f.reg.stats();
  return { count: f.reg.count(), used: st.reduce((x, s) => x + s.used, 0), locks: st.filter((s) => s.lock !== 0).length };
}

async function terminateRun(): Promise<Record<string, unknown>> {
  const f = await fill(false);
  const t0 = abs();
  await f.worker.terminate();
  const t1 = abs();
  await coord.sync(120_000);
  const t2 = abs();
  const after = gone(f);
  f.reg.close();
  return { fillMs: r2(f.fillMs), terminateMs: r2(t1 - t0), terminateToSweptMs: r2(t2 - t1), totalMs: r2(t2 - t0), after };
}

async function stallRun(): Promise<Record<string, unknown>> {
  const f = await fill(true);
  const domain = Domain.current();
  const tid = f.worker.threadId;
  const beat = (): number | undefined => domain.heartbeats().find((b) => b.threadId === tid)?.beat;
  let last = beat();
  let lastAt = abs();
  let exitAt = 0;
  let sweptAt = 0;
  const swept = f.exited.then(async () => {
    exitAt = abs();
    // ORDER: supervise's 'exit' listener, registered first, declared the death: sync() waits for its sweep.
    await coord.sync(120_000);
    sweptAt = abs();
  });
  // Let it beat a few times, then ask it to block.
  const watchFrom = abs();
  while (abs() - watchFrom < 3 * heartbeatMs) {
    const b = beat();
    if (b !== last) {
      last = b;
      lastAt = abs();
    }
    await tick(1);
  }
  Atomics.store(f.ctl, 1, 1);
  Atomics.notify(f.ctl, 1);
  while (exitAt === 0) {
    const b = beat();
    if (b !== undefined && b !== last) {
      last = b;
      lastAt = abs();
    }
    await tick(1);
  }
  await swept;
  const blockedAt = f.times[0] ?? 0;
  const after = gone(f);
  f.reg.close();
  return {
    fillMs: r2(f.fillMs),
    lastBeatToBlockMs: r2(blockedAt - lastAt),
    lastBeatToExitMs: r2(exitAt - lastAt),
    exitToSweptMs: r2(sweptAt - exitAt),
    lastBeatToSweptMs: r2(sweptAt - lastAt),
    blockToSweptMs: r2(sweptAt - blockedAt),
    after,
  };
}

const result: Record<string, unknown> = {
  command: `node dist/scripts/sweep-time.js ${process.argv.slice(2).join(' ')}`.trim(),
  node: process.version, cpus: os.cpus().length, entries, partitions, kind: 'unique', heartbeatMs, stallMs,
  targetMs: 2 * heartbeatMs + 100,
  terminate: [] as unknown[], stall: [] as unknown[],
};
try {
  for (let i = 0; i < runs; i++) {
    log(`terminate run ${i + 1}/${runs}: filling ${entries}`);
    (result['terminate'] as unknown[]).push(await terminateRun());
    log(`stall run ${i + 1}/${runs}: filling ${entries}`);
    (result['stall'] as unknown[]).push(await stallRun());
  }
  console.log(JSON.stringify(result, null, 2));
} finally {
  await coord.stop();
}
