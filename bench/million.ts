/**
 * One million idle named actors alive at once across the schedulers (issue: "1M actors alive at once,
 * if memory allows; say what it took"). Each scheduler's driver spawns its share locally, in batches,
 * each actor registered under its own name in one unique registry; then the figures: time, heap of
 * every scheduler, registry bytes, a lookup of every 1,000th name, and the time to stop them all.
 *
 * Usage: node --expose-gc dist/bench/million.js [--actors N] [--schedulers S] [--stall-ms MS]; prints a table and one JSON line.
 */
import { parseArgs } from 'node:util';
import { Registry, Runtime, call, ref, spawn, type Pid } from '../src/index.js';
import { log } from './lib/args.js';

const { values } = parseArgs({
  options: { actors: { type: 'string', default: '1000000' }, schedulers: { type: 'string', default: '2' }, 'stall-ms': { type: 'string', default: '10000' } },
});
const total = Number(values.actors);
const schedulers = Number(values.schedulers);
const mod = new URL('./lib/actor-behaviours.js', import.meta.url).href;

const names = Registry.create({ keys: 'unique', name: 'million', partitions: 32, maxPartitionBytes: 2 ** 30 });
// A stall deadline of 10 s by default: a full garbage collection of a heap holding 500k actors can
// pause a scheduler for about a second on a loaded 2-core machine (see the closing figures).
const rt = await Runtime.start({ schedulers, registries: [names] as unknown as Registry<never>[], coordinator: { stallMs: Number(values['stall-ms']) } });
type Timed = { ns: number; n: number };
type Heap = { heapUsed: number };
try {
  const drivers: Pid[] = [];
  for (let i = 0; i < schedulers; i++) drivers.push(await spawn(ref(mod, 'Driver'), null, { scheduler: i }));
  const heap = async (): Promise<number> => (await Promise.all(drivers.map((d) => call<Heap>(d, { op: 'heap' }, { timeout: 600_000 })))).reduce((a, h) => a + h.heapUsed, 0);
  const regBytes = (): number => names.stats().reduce((a, p) => a + p.bytes, 0);
  const h0 = await heap();
  const r0 = regBytes();
  const t0 = performance.now();
  const per = Math.ceil(total / schedulers);
  const spawned = await Promise.all(drivers.map((d, i) => call<Timed>(d, { op: 'spawnIdle', n: per, batch: 1000, prefix: `m${i}:`, registry: 'million' }, { timeout: 600_000 })));
  const spawnMs = performance.now() - t0;
  const alive = rt.stats().reduce((a, s) => a + s.actors, 0);
  const h1 = await heap();
  const r1 = regBytes();
  let found = 0;
  for (let i = 0; i < schedulers; i++) for (let j = 0; j < per; j += 1000) if (names.whereis(`m${i}:${j}`) !== undefined) found++;
  const t1 = performance.now();
  const stopped = await Promise.all(drivers.map((d) => call<number>(d, { op: 'stopIdle', batch: 1000 }, { timeout: 600_000 })));
  const stopMs = performance.now() - t1;
  const out = {
    actors: spawned.reduce((a, s) => a + s.n, 0),
    aliveAtOnce: alive,
    spawnSeconds: +(spawnMs / 1000).toFixed(1),
    spawnsPerSec: Math.round((per * schedulers) / (spawnMs / 1000)),
    heapBytesPerActor: Math.round((h1 - h0) / alive),
    registryBytesPerActor: Math.round((r1 - r0) / alive),
    heapMiB: Math.round(h1 / 2 ** 20),
    registryMiB: Math.round(r1 / 2 ** 20),
    namesFoundOfSampled: found,
    stopSeconds: +(stopMs / 1000).toFixed(1),
    stopped: stopped.reduce((a, b) => a + b, 0),
  };
  log(`| actors alive at once | ${out.aliveAtOnce} on ${schedulers} schedulers |\n| spawn (named) | ${out.spawnSeconds} s, ${out.spawnsPerSec}/s |\n| memory | heap ${out.heapBytesPerActor} B + registry ${out.registryBytesPerActor} B per actor (heaps ${out.heapMiB} MiB, registry ${out.registryMiB} MiB) |\n| stop all | ${out.stopSeconds} s |`);
  process.stdout.write(JSON.stringify(out) + '\n');
} finally {
  await rt.stop();
  names.close();
}
