/**
 * Same unique keys, all threads at once (reliability matrix #10). Four real worker threads attach to
 * one registry, meet on a shared-memory barrier and race to register the same keys, each in its own
 * seeded shuffled order. Checked per key: exactly one winner; every loser was told the winner's pid;
 * `lookup` in the main thread gives the winner and its value; `count()` is the key count; `keys(pid)`
 * holds exactly each worker's wins (no leaked rows for lost races, Elixir #8611). Three rounds, with
 * every winner unregistering in between, so later rounds race over freed slots.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Registry, _ } from '../dist/src/index.js';
import type { Key } from '../src/types.js';
import { abort, makeControl, setPhase } from './helpers/barrier.js';
import { canon, canonSorted } from './helpers/canon.js';
import { keyFor } from './helpers/keys.js';
import { seedFromEnv } from './helpers/prng.js';
import { TestWorker, nextAll } from './helpers/workers.js';

const kWorkers = 4;
const kKeys = Number(process.env['ROSTER_RACE_KEYS'] ?? 2000);
const kRounds = 3;
const seed = seedFromEnv();
const fixture = new URL('../dist/test/fixtures/stress-race-worker.js', import.meta.url);

interface RoundMsg {
  type: 'round';
  round: number;
  me: number;
  won: Uint8Array;
  holder: Float64Array;
  problems: string[];
}
interface ClearedMsg {
  type: 'cleared';
  round: number;
  problems: string[];
}

let workers: TestWorker[] = [];
let registry: Registry | undefined;
let ctl: Int32Array | undefined;

afterEach(async () => {
  if (ctl) abort(ctl);
  await Promise.all(workers.map((w) => w.stop()));
  workers = [];
  registry?.close();
  registry = undefined;
  ctl = undefined;
});

describe.each([1, 8])(`race: unique keys, ${kWorkers} workers, partitions=%i (ROSTER_SEED=${seed})`, (partitions) => {
  it(`exactly one winner per key, losers told the winner (ROSTER_SEED=${seed})`, async () => {
    const where = `[ROSTER_SEED=${seed} partitions=${partitions}]`;
    const reg = Registry.create({ keys: 'unique', partitions });
    registry = reg;
    const control = makeControl();
    ctl = control;
    const pids = new Float64Array(new SharedArrayBuffer(kWorkers * Float64Array.BYTES_PER_ELEMENT));
    workers = Array.from(
      { length: kWorkers },
      (_unused, index) =>
        new TestWorker(fixture, {
          handle: reg.handle,
          ctl: control,
          pids,
          index,
          parties: kWorkers,
          keyCount: kKeys,
          rounds: kRounds,
          seed,
        }),
    );

    for (let round = 0; round < kRounds; round++) {
      const at = `${where} round ${round}`;
      const msgs = await nextAll<RoundMsg>(workers);
      const problems = msgs.flatMap((m) => m.problems);
      const pidOf = msgs.map((m) => m.me);
      expect(new Set(pidOf).size, `${at}: workers have distinct pids`).toBe(kWorkers);

      const wins = pidOf.map((): Key[] => []);
      for (let i = 0; i < kKeys; i++) {
        const key = keyFor(i, `r${round}`);
        const winners = msgs.filter((m) => m.won[i] === 1).map((m) => msgs.indexOf(m));
        if (winners.length !== 1) {
          problems.push(`key ${canon(key)}: ${winners.length} winners (${winners.join(',')})`);
          continue;
        }
        const w = winners[0] as number;
        wins[w]?.push(key);
        const winnerPid = pidOf[w] as number;
        msgs.forEach((m, j) => {
          if (m.holder[i] !== winnerPid) problems.push(`key ${canon(key)}: worker ${j} was told holder ${m.holder[i]}, winner is ${winnerPid}`);
        });
        const got = reg.lookup(key);
        if (canon(got) !== canon([[winnerPid, { w, round, i }]])) {
          problems.push(`key ${canon(key)}: lookup gave ${canon(got)}, winner worker ${w} pid ${winnerPid}`);
        }
        if (reg.whereis(key) !== winnerPid) problems.push(`key ${canon(key)}: whereis gave ${String(reg.whereis(key))}`);
        if (problems.length > 20) break;
      }
      if (process.env['ROSTER_VERBOSE']) console.log(`${at} wins per worker: ${wins.map((ws) => ws.length).join(' ')}`);
      expect(problems.slice(0, 20).join('\n'), `${at}: per-key race outcome`).toBe('');
      expect(reg.count(), `${at}: count() equals the number of keys`).toBe(kKeys);
      expect(reg.countSelect([{ match: [_, _, _] }]), `${at}: countSelect of everything`).toBe(kKeys);
      pidOf.forEach((pid, w) => {
        expect(canonSorted(reg.keys(pid)), `${at}: keys(pid) of worker ${w} equals its wins`).toEqual(
          canonSorted(wins[w] ?? []),
        );
      });
      expect(
        wins.reduce((n, ws) => n + ws.length, 0),
        `${at}: wins add up to the key count`,
      ).toBe(kKeys);

      setPhase(control, 2 * round + 1);
      if (round + 1 < kRounds) {
        const cleared = await nextAll<ClearedMsg>(workers);
        expect(cleared.flatMap((m) => m.problems).join('\n'), `${at}: unregister`).toBe('');
        expect(reg.count(), `${at}: count() after every winner unregistered`).toBe(0);
        expect(reg.select([{ match: [_, _, _] }]), `${at}: nothing left after unregister`).toEqual([]);
        for (const pid of pidOf) expect(reg.keys(pid), `${at}: keys(${pid}) after unregister`).toEqual([]);
        setPhase(control, 2 * round + 2);
      }
    }
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, `${where}: workers exit cleanly`).toEqual(codes.map(() => 0));
  });
});
