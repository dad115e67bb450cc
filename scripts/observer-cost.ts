/**
 * What the observer costs the observed system: call throughput between two schedulers' actors with
 * and without an observer whose page is open (an event-stream client reading every refresh, actor
 * listings included), alternating phases in one run.
 *
 * Usage: node dist/scripts/observer-cost.js [--phases 6] [--seconds 3] [--actors 1000]
 */
import { parseArgs } from 'node:util';
import { Runtime, cast, ref, spawn, type Pid } from '../src/index.js';
import { Observer } from '../src/observer/index.js';

const { values } = parseArgs({ options: { phases: { type: 'string', default: '6' }, seconds: { type: 'string', default: '3' }, actors: { type: 'string', default: '1000' } } });
const phases = Number(values.phases);
const ms = Number(values.seconds) * 1000;
const kB = new URL('../test/fixtures/observer-actors.js', import.meta.url).href;

const rt = await Runtime.start({ schedulers: 2 });
const targets: Pid[][] = [[], []];
for (let i = 0; i < Number(values.actors); i++) (targets[i % 2] as Pid[]).push(await spawn(ref(kB, 'Counter'), null, { scheduler: i % 2 }));
for (let s = 0; s < 2; s++) {
  const d = await spawn(ref(kB, 'Driver'), null, { scheduler: s });
  cast(d, { targets: targets[1 - s], lanes: 8 });
}
const handled = (): number => rt.stats().reduce((a, s) => a + s.handled, 0);
await new Promise((r) => setTimeout(r, 1000)); // warm up

const rows: Array<{ phase: number; observer: boolean; perSec: number }> = [];
for (let p = 0; p < phases; p++) {
  const on = p % 2 === 1;
  let observer: Observer | null = null;
  let reader: Promise<void> | null = null;
  const abort = new AbortController();
  if (on) {
    observer = await Observer.start({ runtime: rt });
    const res = await fetch(new URL('/events', observer.url), { signal: abort.signal });
    const body = res.body;
    if (body === null) throw new Error('no event stream');
    reader = (async () => {
      try {
        for await (const chunk of body) void chunk;
      } catch {
        // aborted
      }
    })();
  }
  const h0 = handled();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const perSec = ((handled() - h0) * 1000) / (performance.now() - t0);
  rows.push({ phase: p, observer: on, perSec });
  console.log(`phase ${p}: observer ${on ? 'on ' : 'off'}  ${Math.round(perSec).toLocaleString('en-US')} calls handled/s`);
  abort.abort();
  await reader;
  await observer?.stop();
}
const avg = (on: boolean): number => {
  const r = rows.filter((x) => x.observer === on);
  return r.reduce((a, x) => a + x.perSec, 0) / r.length;
};
console.log(`without: ${Math.round(avg(false)).toLocaleString('en-US')}/s, with the page open: ${Math.round(avg(true)).toLocaleString('en-US')}/s ` +
  `(${((avg(true) / avg(false) - 1) * 100).toFixed(1)}%)`);
await rt.stop();
