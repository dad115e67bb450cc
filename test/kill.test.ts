/**
 * Random kills. Four supervised worker threads (kill-worker.ts)
 * loop register / unregister / lookup / updateValue over an overlapping key space; each round the
 * test terminates one at a random op count (seeded) and starts a replacement. After each round it
 * awaits `coord.sync()`, requires every live worker to make progress (bounded: no op hung), parks the
 * live workers at a shared-memory barrier, and checks:
 * - 0 lost: every key in a live worker's ledger is visible with that worker's pid and value;
 * - 0 stale: no entry of a dead worker through lookup / whereis / select / keys(deadPid), and
 *   count() equals the sum of the live ledgers (the sweep removed everything else);
 * - 0 stuck: every partition lock is free;
 * - 0 torn: every value read (workers and main, concurrently) passes its checksum;
 * - workers also check while running that no read returns an owner whose death main had declared
 *   before the read began (lookups and unique register never see a declared-dead holder).
 * At the end every worker is terminated and swept: the table is empty (count, used, live all 0).
 *
 * Replay a failure with ROSTER_SEED=<seed in the test name>. ROSTER_KILLS scales the kills per
 * configuration (default 7, 7, 6 = 20 kills, about 40k ops).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coordinator, Registry, _, self, supervise } from '../dist/src/index.js';
import { latencySummary, runKills, type KillKind, type KillLib } from './fixtures/kill-rig.js';
import { seedFromEnv } from './helpers/prng.js';

const seed = seedFromEnv();
const scale = Number(process.env['ROSTER_KILLS'] ?? 0);
const workerUrl = new URL('../dist/test/fixtures/kill-worker.js', import.meta.url);
const lib: KillLib = {
  createRegistry: (o) => Registry.create(o),
  supervise: (w, opts) => supervise(w, opts),
  wildcard: _,
  self: () => self(),
};

let coord: Coordinator | undefined;

beforeAll(async () => {
  coord = await Coordinator.start({ heartbeatMs: 50 });
});

afterAll(async () => {
  await coord?.stop();
});

const configs: Array<{ kind: KillKind; partitions: number; kills: number }> = [
  { kind: 'unique', partitions: 1, kills: scale || 7 },
  { kind: 'unique', partitions: 8, kills: scale || 7 },
  { kind: 'duplicate', partitions: 8, kills: scale || 6 },
];

describe.each(configs)('random kills: $kind, $partitions partition(s)', ({ kind, partitions, kills }) => {
  it(`${kills} kills, 0 lost / stale / stuck / torn / hung (seed ${seed})`, async () => {
    const r = await runKills({
      lib, coord: coord as Coordinator, workerUrl, kind, partitions, kills, seed,
      workers: 4, keyCount: 64, minOps: 400, stall: false, boundMs: 20_000,
    });
    const where = `${r.config}, ROSTER_SEED=${seed}`;
    const figures = { kills: r.kills, ops: r.ops, sweep: latencySummary(r.latencies) };
    expect(r.problems, `${where}: problems (${JSON.stringify(figures)})`).toEqual([]);
    expect(
      { lost: r.lost, stale: r.stale, stuck: r.stuck, torn: r.torn, hung: r.hung, bad: r.bad, unexpectedExits: r.unexpectedExits },
      `${where}: invariant counters`,
    ).toEqual({ lost: 0, stale: 0, stuck: 0, torn: 0, hung: 0, bad: 0, unexpectedExits: 0 });
    expect(r.kills, `${where}: kills`).toBe(kills);
    // Each round kills one worker; at the end the 4 survivors are terminated too.
    expect(r.deaths, `${where}: deaths declared and swept`).toEqual({ declared: kills + 4, swept: kills + 4 });
    expect(r.ops, `${where}: ops run`).toBeGreaterThanOrEqual(kills * 4 * 400 * 0.75);
    expect(r.final, `${where}: empty after every worker died and was swept`).toEqual({ count: 0, rows: 0, used: 0, live: 0, locks: 0 });
  });
});
