/**
 * register→kill→sweep cycles (nothing leaks). The main thread
 * holds a baseline in three registries (unique, duplicate, duplicate-by-key); each cycle a supervised
 * worker (kill-leak-worker.ts) registers beside it (unique registers of main's keys must be refused),
 * is terminated (right after it got its incarnation, part-way, or idle: seeded), and swept
 * (`coord.sync()`). After N cycles:
 * - count() and select() are back to the baseline and hold only main's entries, unchanged;
 * - every partition's live and used (live + tombstones) equal the baseline, locks are free;
 * - deaths declared === swept === N, one 'down' event per death with reason 'terminated';
 * - the domain's live thread slots are back to the baseline (slots are freed and reused).
 * The soak script (scripts/soak.ts --cycles 10000) runs past the 1024 thread slots.
 *
 * Replay with ROSTER_SEED=<seed in the test name>; ROSTER_CYCLES sets N (default 300).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Coordinator, Registry, _, self, supervise } from '../dist/src/index.js';
import { Domain } from '../dist/src/domain/domain.js';
import { latencySummary, runLeak, type KillLib } from './fixtures/kill-rig.js';
import { seedFromEnv } from './helpers/prng.js';

const seed = seedFromEnv();
const cycles = Number(process.env['ROSTER_CYCLES'] ?? 300);
const workerUrl = new URL('../dist/test/fixtures/kill-leak-worker.js', import.meta.url);
const lib: KillLib = {
  createRegistry: (o) => Registry.create(o),
  supervise: (w, opts) => supervise(w, opts),
  wildcard: _,
  self: () => self(),
  // Internal probe: threads holding a live incarnation (thread slots in use).
  liveThreads: () => Domain.current().heartbeats().length,
};

let coord: Coordinator | undefined;

beforeAll(async () => {
  coord = await Coordinator.start({ heartbeatMs: 50 });
});

afterAll(async () => {
  await coord?.stop();
});

it(`${cycles} register→kill→sweep cycles leave no trace (seed ${seed})`, async () => {
  const r = await runLeak({
    lib, coord: coord as Coordinator, workerUrl, cycles, m: 4, baseKeys: 8, concurrency: 3, partitions: 8, seed,
    stall: false, boundMs: 20_000,
  });
  const where = `ROSTER_SEED=${seed}`;
  expect(r.problems, `${where}: problems (sweep ${JSON.stringify(latencySummary(r.latencies))})`).toEqual([]);
  expect({ hung: r.hung, unexpectedExits: r.unexpectedExits, cycles: r.cycles }, where).toEqual({ hung: 0, unexpectedExits: 0, cycles });
  expect(r.deaths, `${where}: deaths declared and swept`).toEqual({ declared: cycles, swept: cycles });
  expect(r.after, `${where}: counts and partition stats back to the baseline`).toEqual(r.baseline);
  expect(r.leaked, `${where}: differences from the baseline`).toEqual({ count: 0, used: 0, live: 0, lock: 0, threads: 0, foreign: 0 });
  expect(r.downs, `${where}: one 'down' event per death`).toEqual({ events: cycles, terminated: cycles });
}, 180_000); // 300 thread starts: about 25 s alone, longer when the suite's files share 2 cores
