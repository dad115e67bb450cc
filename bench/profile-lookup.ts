/**
 * A plain lookup loop to profile: `node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/profile-lookup.js`
 * then `node dist/bench/cpuprofile-top.js /tmp/prof/*.cpuprofile`.
 *
 *   node dist/bench/profile-lookup.js [--op lookup|whereis|map|register] [--seconds 5] [--keys 100000] [--partitions 1] [--lookup-cache N]
 *
 * @module
 */
import { Registry } from '../src/index.js';
import { makeKeys, shuffled } from './lib/keys.js';
import { flagNumber, flagString, log, parseFlags } from './lib/args.js';

const flags = parseFlags(process.argv.slice(2));
const op = flagString(flags, 'op') ?? 'lookup';
const seconds = flagNumber(flags, 'seconds', 5);
const N = flagNumber(flags, 'keys', 100_000);
const keys = makeKeys(N, 20261124);
const order = shuffled(keys, 20261127);
const fresh = makeKeys(N, 20261126);
const lc = flagString(flags, 'lookup-cache');
const reg = Registry.create({
  keys: 'unique',
  name: 'profile',
  partitions: flagNumber(flags, 'partitions', 1),
  ...(lc === undefined ? {} : { lookupCache: Number(lc) }),
});
const map = new Map<string, number>();
for (let i = 0; i < N; i++) {
  reg.register(keys[i] as string, i);
  map.set(keys[i] as string, i);
}
let sink = 0;
let ops = 0;
const t0 = performance.now();
const end = t0 + seconds * 1000;
let j = 0;
while (performance.now() < end) {
  for (let c = 0; c < 10_000; c++) {
    const k = order[j] as string;
    if (++j === N) j = 0;
    if (op === 'lookup') sink += reg.lookup(k).length;
    else if (op === 'whereis') sink += reg.whereis(k) === undefined ? 0 : 1;
    else if (op === 'map') sink += map.get(k) ?? 0;
    else {
      const f = fresh[j] as string;
      if (reg.register(f, 1).ok) sink++;
      reg.unregister(f);
    }
  }
  ops += 10_000;
}
const s = (performance.now() - t0) / 1000;
log(`${op}: ${(ops / s / 1e6).toFixed(2)} M ops/s over ${s.toFixed(1)} s (sink ${sink})`);
reg.close();
