/**
 * The cluster's figures, each beside its baseline measured in the same run, on a `redis-server` this
 * script starts on a free loopback port (no persistence) and stops at the end:
 *
 *   node dist/bench/cluster.js [--quick]      (npm run bench:cluster)
 *
 * - cluster name registration (acquire script: lease check, INCR fence, hash, set, invalidation),
 *   names/s with 100 in flight; baseline: plain `SET key value NX` with 100 in flight, same server.
 * - cached remote lookup (`cluster.whereis` of a name held by another node, served from the cache),
 *   ns/op; baseline: a local unique `Registry.lookup` hit. The uncached lookup (one round trip) too,
 *   p50 over names nobody holds.
 * - cross-node `call` round trip to an actor on another node process, one in flight, p50/p99 µs;
 *   baseline: a raw Redis round trip (`PING`) on the same kind of connection.
 * - cross-node publish to 3 nodes, each with one subscribed actor: deliveries/s until the last one is
 *   counted; baseline: raw SPUBLISH to 3 subscribed raw connections.
 *
 * The nodes are child processes of this script (`--node` mode); this module also exports the `Echo`
 * behaviour they spawn. Progress goes to stderr; the last line on stdout is one JSON object.
 *
 * @module
 */
import { fork, spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { createClient } from '@redis/client';
import { Registry, Runtime, behaviour, ref, spawn, type From } from '../src/index.js';
import { Cluster, type GlobalPid } from '../src/cluster/index.js';

/** The actor the nodes run: echoes calls, counts infos (published messages). */
export const Echo = behaviour({
  init: () => ({ infos: 0 }),
  handleCall(msg: unknown, _from: From, state: { infos: number }) {
    return msg === 'count' ? state.infos : msg;
  },
  handleInfo(_msg: unknown, state: { infos: number }) {
    state.infos++;
    return undefined;
  },
});

const log = (s: string): void => void process.stderr.write(`${s}\n`);
const hr = (): number => Number(process.hrtime.bigint()) / 1e3; // µs

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] as number;
}

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

async function startRedis(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawnProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  proc.once('error', (err) => {
    log(`cannot start redis-server (${err.message}); install it (Debian: apt-get install redis-server)`);
    process.exit(1);
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    proc.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
  });
  proc.stdout?.resume();
  return { url: `redis://127.0.0.1:${port}`, proc };
}

// ---------------------------------------------------------------- node mode (child process)

// Stall checks of the scheduler threads are not what this measures; on a shared machine they would
// terminate a scheduler that a burst of load kept off the CPU for a second.
const kRuntime = { schedulers: 1, coordinator: { stallMs: 60_000 } };

async function nodeMain(url: string, name: string): Promise<void> {
  process.on('disconnect', () => process.exit(0)); // the parent is gone
  const rt = await Runtime.start(kRuntime);
  const cluster = await Cluster.join({ url, node: name });
  const pid = await spawn(ref(import.meta.url, 'Echo'));
  await cluster.register(`echo:${name}`, pid);
  await cluster.subscribe('bench', pid);
  process.on('message', (m: string) => {
    if (m !== 'stop') return;
    void cluster.leave().then(() => rt.stop()).then(() => process.exit(0));
  });
  process.send?.({ ready: cluster.pid(pid) });
}

// ---------------------------------------------------------------- main

async function startNode(url: string, name: string): Promise<{ proc: ChildProcess; pid: GlobalPid }> {
  const proc = fork(fileURLToPath(import.meta.url), ['--node', url, name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [m] = await once(proc, 'message') as [{ ready: GlobalPid }];
  return { proc, pid: m.ready };
}

async function inFlight(total: number, width: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = hr();
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < total) await op(next++);
  }));
  return hr() - t0;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const redis = await startRedis();
  log(`redis-server on ${redis.url}`);
  const rt = await Runtime.start(kRuntime);
  const cluster = await Cluster.join({ url: redis.url, node: 'bench-main' });
  const raw = createClient({ url: redis.url });
  await raw.connect();
  const nodes = await Promise.all(['bench-1', 'bench-2', 'bench-3'].map((n) => startNode(redis.url, n)));
  const results: Record<string, unknown> = {};
  try {
    const local = await spawn(ref(import.meta.url, 'Echo'));

    // 1. Registration vs SET NX.
    const nReg = quick ? 5_000 : 20_000;
    const tSet = await inFlight(nReg, 100, (i) => raw.sendCommand(['SET', `plain:${i}`, 'v', 'NX']));
    const tReg = await inFlight(nReg, 100, (i) => cluster.register(`reg:${i}`, local));
    const regPerS = nReg / (tReg / 1e6);
    const setPerS = nReg / (tSet / 1e6);
    results.register = { perSecond: Math.round(regPerS), setNxPerSecond: Math.round(setPerS), ratio: +(regPerS / setPerS).toFixed(3) };
    log(`register: ${Math.round(regPerS)} names/s; SET NX ${Math.round(setPerS)}/s (${(regPerS / setPerS).toFixed(2)}×)`);

    // 2. Cached remote lookup vs local Registry.lookup.
    const reg = Registry.create({ keys: 'unique' });
    reg.register('room:1', 'v');
    const remoteName = 'echo:bench-1';
    await cluster.whereis(remoteName); // fills the cache
    // Uncached: names nobody holds, each asked once (a round trip each; the absence is then cached).
    const misses: number[] = [];
    for (let i = 0; i < (quick ? 500 : 2000); i++) {
      const s = hr();
      await cluster.whereis(`missing:${i}`);
      misses.push(hr() - s);
    }
    const nLook = quick ? 200_000 : 1_000_000;
    let sink = 0;
    for (let i = 0; i < 10_000; i++) sink += (await cluster.whereis(remoteName))?.pid ?? 0;
    let t = hr();
    for (let i = 0; i < nLook; i++) sink += (await cluster.whereis(remoteName))?.pid ?? 0;
    const cachedNs = ((hr() - t) * 1e3) / nLook;
    for (let i = 0; i < 10_000; i++) sink += reg.lookup('room:1').length;
    t = hr();
    for (let i = 0; i < nLook; i++) sink += reg.lookup('room:1').length;
    const localNs = ((hr() - t) * 1e3) / nLook;
    const stats = cluster.stats();
    results.lookup = {
      cachedNs: +cachedNs.toFixed(1), localRegistryNs: +localNs.toFixed(1), ratio: +(cachedNs / localNs).toFixed(2),
      uncachedP50Us: +pct(misses, 50).toFixed(1), cacheHits: stats.cacheHits, cacheMisses: stats.cacheMisses, sink: sink > 0,
    };
    log(`cached remote lookup ${cachedNs.toFixed(0)} ns; local Registry.lookup ${localNs.toFixed(0)} ns (${(cachedNs / localNs).toFixed(2)}×); uncached p50 ${pct(misses, 50).toFixed(0)} µs`);
    reg.close();

    // 3. Cross-node call RTT vs PING.
    const nCall = quick ? 2_000 : 10_000;
    const target = nodes[0]?.pid as GlobalPid;
    for (let i = 0; i < 200; i++) await cluster.call(target, i);
    const calls: number[] = [];
    for (let i = 0; i < nCall; i++) {
      const s = hr();
      await cluster.call(target, i);
      calls.push(hr() - s);
    }
    const pings: number[] = [];
    for (let i = 0; i < nCall; i++) {
      const s = hr();
      await raw.sendCommand(['PING']);
      pings.push(hr() - s);
    }
    results.call = {
      p50Us: +pct(calls, 50).toFixed(1), p99Us: +pct(calls, 99).toFixed(1), pingP50Us: +pct(pings, 50).toFixed(1), pingP99Us: +pct(pings, 99).toFixed(1),
      ratio: +(pct(calls, 50) / pct(pings, 50)).toFixed(2),
    };
    log(`cross-node call p50 ${pct(calls, 50).toFixed(0)} µs p99 ${pct(calls, 99).toFixed(0)} µs; PING p50 ${pct(pings, 50).toFixed(0)} µs (${(pct(calls, 50) / pct(pings, 50)).toFixed(2)}×)`);

    // 4. Publish to 3 nodes vs raw SPUBLISH to 3 raw subscribers.
    const nPub = quick ? 5_000 : 20_000;
    const before = await Promise.all(nodes.map((n) => cluster.call<number>(n.pid, 'count')));
    let tp = hr();
    await inFlight(nPub, 100, (i) => cluster.publish('bench', { i }));
    for (const [k, n] of nodes.entries()) {
      while ((await cluster.call<number>(n.pid, 'count')) < (before[k] as number) + nPub) await new Promise((r) => setImmediate(r));
    }
    const pubUs = hr() - tp;
    const subs = await Promise.all([1, 2, 3].map(async () => {
      const c = raw.duplicate();
      await c.connect();
      const box = { n: 0 };
      await c.sSubscribe('rawbench', () => void box.n++);
      return { c, box };
    }));
    tp = hr();
    await inFlight(nPub, 100, (i) => raw.sendCommand(['SPUBLISH', 'rawbench', JSON.stringify({ i })]));
    while (subs.some((s) => s.box.n < nPub)) await new Promise((r) => setImmediate(r));
    const rawUs = hr() - tp;
    await Promise.all(subs.map((s) => s.c.close()));
    const dps = (3 * nPub) / (pubUs / 1e6);
    const rawDps = (3 * nPub) / (rawUs / 1e6);
    results.publish = { deliveriesPerSecond: Math.round(dps), rawSpublishDeliveriesPerSecond: Math.round(rawDps), ratio: +(dps / rawDps).toFixed(3) };
    log(`publish to 3 nodes: ${Math.round(dps)} deliveries/s; raw SPUBLISH ${Math.round(rawDps)}/s (${(dps / rawDps).toFixed(2)}×)`);
  } finally {
    for (const n of nodes) n.proc.send('stop');
    await Promise.all(nodes.map((n) => once(n.proc, 'exit')));
    await raw.close();
    await cluster.leave();
    await rt.stop();
    redis.proc.kill('SIGKILL');
  }
  process.stdout.write(`${JSON.stringify({ node: process.version, quick, results })}\n`);
}

if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--node');
  if (i >= 0) await nodeMain(process.argv[i + 1] as string, process.argv[i + 2] as string);
  else await main();
}
