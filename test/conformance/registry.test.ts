/**
 * Conformance §2.B (#20): Elixir's `Registry.Test`, run for every key kind × partitions {1, 8}.
 *
 * Upstream kills two registered Tasks, syncs with every partition and checks that every key table
 * and pid table is empty. Here the Tasks are supervised worker threads, a coordinator sweeps them,
 * the sync point is `coord.sync()`, and "tables are empty" is `count()`, lookups, `keys(pid)` and
 * `stats()` (no live entries, no tombstones, no lock held); subscribers also get each `down` event.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { Coordinator, supervise } from '../../dist/src/index.js';
import type { Registry } from '../../dist/src/index.js';
import type { RegistryEvent } from './helpers.js';
import { collectEvents, createRegistry, kAllCases, onCleanup, runCleanups, startAgent } from './helpers.js';

afterEach(runCleanups);

describe.each(kAllCases)('Registry.Test (keys: $keys, partitions: $partitions)', ({ keys, partitions }) => {
  let reg: Registry;

  beforeEach(() => {
    reg = createRegistry({ keys, partitions });
  });

  // Cleanup after a worker dies is the crash-recovery coordinator's job (issue 3).
  describe('with a coordinator', () => {
    let coord: Coordinator;

    beforeEach(async () => {
      // Started after the registry was created in this thread, so it is handed over at once.
      coord = await Coordinator.start({ heartbeatMs: 50 });
      onCleanup(() => coord.stop());
    });

    test('#20 clean up registry on process crash', async () => {
      const task1 = await startAgent(reg);
      supervise(task1.worker);
      const task2 = await startAgent(reg);
      supervise(task2.worker);
      expect(await task1.call('register', 'hello', 'value')).toMatchObject({ ok: true });
      expect(await task2.call('register', 'world', 'value')).toMatchObject({ ok: true });
      expect(reg.count()).toBe(2);

      const got = collectEvents((h) => reg.subscribe(h));
      await task1.terminate();
      await task2.terminate();

      // Sync: GenServer.call(partition, :sync) is coord.sync(): every death declared so far is swept.
      await coord.sync();
      expect(reg.count()).toBe(0);
      expect(reg.lookup('hello')).toEqual([]);
      expect(reg.lookup('world')).toEqual([]);
      expect(reg.keys(task1.pid)).toEqual([]);
      expect(reg.keys(task2.pid)).toEqual([]);
      // Every key table and pid table is empty: no live entries, no tombstones, no lock held.
      for (const s of reg.stats()) expect(s).toMatchObject({ live: 0, used: 0, lock: 0 });

      // Subscribers saw each death.
      const isDown = (e: RegistryEvent) => e.type === 'down' && (e.pid === task1.pid || e.pid === task2.pid);
      for (let n = 1; got.events.filter(isDown).length < 2; n++) await got.waitFor(n);
      expect(got.events.filter(isDown).map((e) => (e as { reason: string }).reason)).toEqual(['terminated', 'terminated']);
    });
  });
});
