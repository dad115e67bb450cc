/**
 * Out of memory: a supervised worker under resourceLimits { maxOldGenerationSizeMb: 16 }
 * registers entries, then keeps writing (register / unregister / updateValue) while it allocates until
 * V8 stops it (ERR_WORKER_OUT_OF_MEMORY). It is recovered like any other death: after `coord.sync()`
 * its entries are gone, no partition lock is stuck, the main thread's own entries are intact, and
 * listeners got `{ type: 'down', reason: 'out_of_memory' }` plus one 'unregister' per swept entry.
 * Run a few times (ROSTER_OOM_RUNS, default 3), on 1 and 4 partitions.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { Coordinator, Registry, _, self } from '../dist/src/index.js';
import type { RegistryEvent } from '../dist/src/types.js';
import { newBoard, startWriter, terminateAll, withTimeout } from '../dist/test/fixtures/fault-driver.js';

const kRuns = Number(process.env['ROSTER_OOM_RUNS'] ?? 3);
const kEntries = 50;
const regs: Registry[] = [];
const events: RegistryEvent[] = [];
let coord: Coordinator;

beforeAll(async () => {
  // Created before the coordinator starts, so it is handed over at once.
  for (const partitions of [1, 4]) {
    const reg = Registry.create({ keys: 'unique', partitions, listeners: ['L'] });
    reg.listen('L', (e) => events.push(e));
    expect(reg.register('keeper', { main: true }).ok).toBe(true);
    regs.push(reg);
  }
  coord = await Coordinator.start({ heartbeatMs: 50 });
});
afterAll(async () => {
  await terminateAll();
  await coord.stop();
  for (const r of regs) r.close();
});
afterEach(terminateAll);

async function eventually(cond: () => boolean, what: string): Promise<void> {
  // Events arrive asynchronously (BroadcastChannel); re-check on every turn of the event loop.
  await withTimeout(
    (async () => {
      while (!cond()) await new Promise<void>((r) => setImmediate(r));
    })(),
    what,
  );
}

describe.each([0, 1])('out of memory while writing (partitions: %s)', (which) => {
  test.each(Array.from({ length: kRuns }, (_u, i) => i))('run %i', async () => {
    const reg = regs[which] as Registry;
    const w = await startWriter(reg, newBoard(), { resourceLimits: { maxOldGenerationSizeMb: 16 } });
    const op = w.begin('oom', kEntries);
    await op.event('registered');
    // The writer goes on updating its entries at once, so only the owner is certain here.
    expect(reg.lookup('oom/0').map(([pid]) => pid)).toEqual([w.pid]);

    const code = await withTimeout(w.exited, 'the worker to run out of memory', 30_000);
    expect(code).not.toBe(0);
    expect((w.error() as { code?: unknown } | undefined)?.code).toBe('ERR_WORKER_OUT_OF_MEMORY');
    await coord.sync();

    for (let i = 0; i < kEntries; i++) expect(reg.lookup(`oom/${i}`)).toEqual([]);
    expect(reg.keys(w.pid)).toEqual([]);
    expect(reg.select([{ match: [_, _, _] }])).toEqual([['keeper', self(), { main: true }]]);
    expect(reg.count()).toBe(1);
    for (const s of reg.stats()) {
      expect(s.lock, 'no lock stuck').toBe(0);
      expect(s.used).toBe(s.live);
    }
    expect(reg.register('oom/0', 'main').ok).toBe(true);
    reg.unregister('oom/0');

    await eventually(
      () => events.some((e) => e.type === 'down' && e.pid === w.pid && e.registry === reg.name),
      "the worker's down event from this registry",
    );
    const mine = events.filter((e) => e.pid === w.pid && e.registry === reg.name);
    expect(mine.filter((e) => e.type === 'down')).toEqual([{ type: 'down', registry: reg.name, pid: w.pid, reason: 'out_of_memory' }]);
    // One 'unregister' per entry the sweep removed: at least the kEntries registered up front.
    const swept = mine.filter((e) => e.type === 'unregister').map((e) => (e as { key: unknown }).key);
    for (let i = 0; i < kEntries; i++) expect(swept).toContain(`oom/${i}`);
  });
});
