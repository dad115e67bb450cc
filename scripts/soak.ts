/**
 * `npm run soak`: the long version of test/kill.test.ts and test/leak.test.ts.
 *
 * 1. Random kills: for each configuration (unique 1 and 8 partitions, duplicate 8, duplicate-by-key
 *    8), supervised workers loop register / unregister / lookup / updateValue; each round one is
 *    terminated at a random op count (seeded) and replaced; after `coord.sync()` the live workers
 *    are parked and the table is checked against their ledgers (lost, stale, stuck, torn, hung).
 * 2. register→kill→sweep cycles (past the domain's 1024 thread slots): counts, occupancy, tombstones,
 *    locks and live thread slots must return to the baseline.
 * Prints progress lines on stderr, then a JSON summary on stdout. Exits 1 if any of lost / stale / stuck / torn / hung /
 * leaked (or another violation) is not 0.
 *
 * Usage: node dist/scripts/soak.js [--kills 200] [--ops 400000] [--cycles 10000] [--seed N]
 *          [--workers 4] [--keys 64] [--heartbeat 50] [--stall-ms 2000] [--no-stall] [--concurrency 4]
 *          [--bound 30000]
 * --ops is the floor of operations (each live worker runs at least ops / kills / workers per round).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Coordinator, Registry, _, self, supervise } from '../src/index.js';
import { Domain } from '../src/domain/domain.js';
import { latencySummary, leakedTotal, runKills, runLeak, type KillKind, type KillLib, type KillRunResult } from '../test/fixtures/kill-rig.js';

const { values: a } = parseArgs({
  options: {
    kills: { type: 'string', default: '200' },
    ops: { type: 'string', default: '400000' },
    cycles: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    workers: { type: 'string', default: '4' },
    keys: { type: 'string', default: '64' },
    heartbeat: { type: 'string', default: '50' },
    'stall-ms': { type: 'string', default: '2000' },
    'no-stall': { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '4' },
    bound: { type: 'string', default: '30000' },
  },
});

function int(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`--${name} must be an integer >= ${min}, got ${v}`);
  return n;
}

const kills = int('kills', a.kills, 0);
const opsFloor = int('ops', a.ops, 0);
const cycles = int('cycles', a.cycles, 0);
const seed = a.seed !== undefined ? int('seed', a.seed, 0) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const workers = int('workers', a.workers, 2);
const keyCount = int('keys', a.keys, 4);
const heartbeatMs = int('heartbeat', a.heartbeat, 1);
const stallMs = int('stall-ms', a['stall-ms'], 1);
const stall = !a['no-stall'];
const concurrency = int('concurrency', a.concurrency, 1);
const boundMs = int('bound', a.bound, 1000);

const lib: KillLib = {
  createRegistry: (o) => Registry.create(o),
  supervise: (w, opts) => supervise(w, opts),
  wildcard: _,
  self: () => self(),
  liveThreads: () => Domain.current().heartbeats().length,
};
const log = (s: string): void => console.error(`[soak ${((performance.now() - t0) / 1000).toFixed(1)}s] ${s}`);
const t0 = performance.now();

const configs: Array<{ kind: KillKind; partitions: number }> = [
  { kind: 'unique', partitions: 1 },
  { kind: 'unique', partitions: 8 },
  { kind: 'duplicate', partitions: 8 },
  { kind: 'duplicate-by-key', partitions: 8 },
];
const minOps = kills === 0 ? 0 : Math.max(50, Math.ceil(opsFloor / kills / workers));
log(`seed ${seed}: ${kills} kills over ${configs.length} configurations (>= ${minOps} ops per worker per round), ${cycles} cycles; ` +
  `${workers} workers, ${keyCount} keys, heartbeat ${heartbeatMs} ms, stall watch ${stall ? `${stallMs} ms` : 'off'}, ${os.cpus().length} cpus`);

const coord = await Coordinator.start({ heartbeatMs, stallMs });
const runs: KillRunResult[] = [];
let failed = false;
try {
  for (let c = 0; c < configs.length; c++) {
    const cfg = configs[c] as { kind: KillKind; partitions: number };
    const n = Math.floor(kills / configs.length) + (c < kills % configs.length ? 1 : 0);
    if (n === 0) continue;
    log(`random kills: ${cfg.kind}, ${cfg.partitions} partition(s): ${n} kills`);
    const r = await runKills({
      lib, coord, workerUrl: new URL('../test/fixtures/kill-worker.js', import.meta.url), kind: cfg.kind, partitions: cfg.partitions,
      workers, keyCount, kills: n, minOps, seed, stall, boundMs, log, progressEvery: 10,
    });
    runs.push(r);
    const l = latencySummary(r.latencies);
    log(`${r.config}: ${r.kills} kills, ${r.ops} ops, lost ${r.lost} stale ${r.stale} stuck ${r.stuck} torn ${r.torn} hung ${r.hung} bad ${r.bad}; ` +
      `sweep median ${l.median} p99 ${l.p99} max ${l.max} ms`);
    for (const p of r.problems.slice(0, 10)) log(`  ${p}`);
    if (r.problems.length > 0 || r.hung > 0) {
      failed = true;
      break;
    }
  }
  let leak: Awaited<ReturnType<typeof runLeak>> | undefined;
  if (!failed && cycles > 0) {
    log(`leak: ${cycles} register→kill→sweep cycles, ${concurrency} at a time`);
    leak = await runLeak({
      lib, coord, workerUrl: new URL('../test/fixtures/kill-leak-worker.js', import.meta.url), cycles, m: 4, baseKeys: 8, concurrency,
      partitions: 8, seed, stall, boundMs, log, progressEvery: 1000,
    });
    for (const p of leak.problems.slice(0, 10)) log(`  ${p}`);
  }
  const sum = (f: (r: KillRunResult) => number): number => runs.reduce((x, r) => x + f(r), 0);
  const killLat = latencySummary(runs.flatMap((r) => r.latencies));
  const summary = {
    command: `node dist/scripts/soak.js ${process.argv.slice(2).join(' ')}`.trim(),
    seed, node: process.version, cpus: os.cpus().length, workers, keys: keyCount, heartbeatMs, stallWatchMs: stall ? stallMs : null,
    kills: sum((r) => r.kills),
    ops: sum((r) => r.ops),
    lost: sum((r) => r.lost),
    stale: sum((r) => r.stale),
    stuck: sum((r) => r.stuck),
    torn: sum((r) => r.torn),
    hung: sum((r) => r.hung) + (leak?.hung ?? 0),
    otherViolations: sum((r) => r.bad) + sum((r) => r.unexpectedExits) + (leak?.unexpectedExits ?? 0),
    deathToSweptMs: killLat,
    deaths: { declared: sum((r) => r.deaths.declared), swept: sum((r) => r.deaths.swept) },
    perConfig: runs.map((r) => ({
      config: r.config, kills: r.kills, ops: r.ops, lost: r.lost, stale: r.stale, stuck: r.stuck, torn: r.torn, hung: r.hung, bad: r.bad,
      sweepMs: latencySummary(r.latencies), final: r.final,
    })),
    cycles: leak?.cycles ?? 0,
    leaked: leak !== undefined ? leakedTotal(leak) : 0,
    leakDetail: leak?.leaked ?? null,
    leakDeaths: leak?.deaths ?? null,
    leakDowns: leak?.downs ?? null,
    leakSweepMs: leak !== undefined ? latencySummary(leak.latencies) : null,
    problems: [...runs.flatMap((r) => r.problems), ...(leak?.problems ?? [])].slice(0, 20),
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
  const finalDirty = runs.some((r) => r.final.count !== 0 || r.final.rows !== 0 || r.final.locks !== 0 || r.final.used !== r.final.live);
  const leakDeathsOk = leak === undefined || (leak.deaths.declared === leak.cycles && leak.deaths.swept === leak.cycles);
  failed ||=
    summary.lost + summary.stale + summary.stuck + summary.torn + summary.hung + summary.leaked + summary.otherViolations > 0 ||
    summary.problems.length > 0 || finalDirty || !leakDeathsOk || summary.deaths.declared !== summary.deaths.swept;
  console.log(JSON.stringify({ ...summary, ok: !failed }, null, 2));
} finally {
  await coord.stop();
}
process.exitCode = failed ? 1 : 0;
