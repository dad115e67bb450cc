/**
 * Worker of `npm run demo` (scripts/demo.ts). Attaches to the demo registry, waits on the shared-memory
 * start barrier, then until the stop flag: registers keys of its own range, looks up random keys
 * (its own and the other threads'), unregisters some of its own and registers them again. It counts
 * its operations in a shared Float64Array so the main thread can print progress, keeps a ledger of
 * what it holds, and checks every lookup: an own key must show exactly the ledger's value; another
 * thread's key must show at most one entry, owned by that thread, with an intact value (or none, once that
 * thread was killed: lookups never return a dead owner).
 *
 * It never yields to its event loop while running, so the demo supervises it with `{ stall: false }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Registry, self } from '../src/index.js';
import { mulberry32 } from '../scripts/lib/prng.js';
import type { Key } from '../src/index.js';
import {
  kArrived, kCounters, kGen, kHeld, kLookups, kRegisters, kRelease, kStop, kUnregisters, kViolations, type DemoWorkerData,
} from '../scripts/lib/demo-layout.js';



const d = workerData as DemoWorkerData;
const port = parentPort;
if (port === null) throw new Error('demo-worker must run in a worker thread');


// Keys are strings and values short self-describing strings ("thread:slot:generation"): the common
// case of a process registry, stored inline without serialization, and checkable for torn entries.
const keyTable = Array.from({ length: d.threads }, (_, t) => Array.from({ length: d.keysPerThread }, (_, i) => `demo:${t}:${i}`));
/** The key of slot i in thread t's range. */
const keyOf = (t: number, i: number): Key => (keyTable[t] as string[])[i] as string;
const valueOf = (t: number, i: number, gen: number): string => `${t}:${i}:${gen}`;
const genOf = (v: unknown): number => Number((v as string).split(':')[2]);
const intact = (v: unknown, t: number, i: number): boolean =>
  typeof v === 'string' && v.startsWith(`${t}:${i}:`) && Number.isInteger(genOf(v));

const reg = Registry.attach(d.handle);
const me = self();
const rng = mulberry32(d.seed + d.index * 0x9e3779b9);
const base = d.index * kCounters;
const n = { lookups: 0, registers: 0, unregisters: 0, violations: 0 };
const problems: string[] = [];
const violation = (s: string): void => {
  if (problems.length < 10) problems.push(`thread ${d.index}: ${s}`);
  n.violations++;
};
/** slot → generation of the value it holds; absent when not registered. */
const ledger = new Map<number, number>();
let gen = 0;

// Start barrier: publish the pid, count in, wait for the last arrival to bump the generation.
d.pids[d.index] = me;
const g0 = Atomics.load(d.ctl, kGen);
if (Atomics.add(d.ctl, kArrived, 1) === d.threads - 1) {
  Atomics.add(d.ctl, kGen, 1);
  Atomics.notify(d.ctl, kGen);
} else {
  while (Atomics.load(d.ctl, kGen) === g0) Atomics.wait(d.ctl, kGen, g0, 1000);
}
const pids = Array.from(d.pids);

function register(i: number): void {
  const g = ++gen;
  const res = reg.register(keyOf(d.index, i), valueOf(d.index, i, g));
  n.registers++;
  if (res.ok) {
    if (ledger.has(i)) violation(`register of held slot ${i} succeeded`);
    ledger.set(i, g);
    d.counters[base + kHeld] = ledger.size;
  } else if (res.holder !== me || !ledger.has(i)) {
    violation(`register of own slot ${i}: already_registered by ${res.holder}`);
  }
}

function lookup(): void {
  const t = rng() < 0.5 ? d.index : Math.floor(rng() * d.threads);
  const i = Math.floor(rng() * d.keysPerThread);
  const entries = reg.lookup(keyOf(t, i));
  n.lookups++;
  if (entries.length > 1) violation(`unique key [${t},${i}] has ${entries.length} entries`);
  const e = entries[0];
  if (t === d.index) {
    const held = ledger.get(i);
    if (held === undefined ? e !== undefined : e === undefined || e[0] !== me || !intact(e[1], t, i) || genOf(e[1]) !== held) {
      violation(`own slot ${i}: lookup ${JSON.stringify(entries)}, ledger gen ${String(held)}`);
    }
  } else if (e !== undefined && (e[0] !== pids[t] || !intact(e[1], t, i))) {
    violation(`slot [${t},${i}]: ${JSON.stringify(entries)}`);
  }
}

// Initial fill: half of the range.
for (let i = 0; i < d.keysPerThread; i += 2) register(i);

for (let op = 0; ; op++) {
  if ((op & 255) === 0) {
    // ORDER: single writer per word; plain stores are enough for a progress display, the final
    // numbers travel with the report message after the stop flag.
    d.counters[base + kLookups] = n.lookups;
    d.counters[base + kRegisters] = n.registers;
    d.counters[base + kUnregisters] = n.unregisters;
    d.counters[base + kViolations] = n.violations;
    if (Atomics.load(d.ctl, kStop) !== 0) break;
  }
  const r = rng();
  if (r < 0.7) lookup();
  else {
    const i = Math.floor(rng() * d.keysPerThread);
    if (ledger.has(i) && r < 0.85) {
      reg.unregister(keyOf(d.index, i));
      ledger.delete(i);
      d.counters[base + kHeld] = ledger.size;
      n.unregisters++;
    } else register(i);
  }
}

port.postMessage({ type: 'report', me, counts: n, ledger: [...ledger], problems });
// Stay alive until the main thread has checked the table (a dead thread's entries may be swept).
while (Atomics.load(d.ctl, kRelease) === 0) Atomics.wait(d.ctl, kRelease, 0, 1000);
