/**
 * The actor runtime's figures, each beside its baseline measured in the same run:
 *
 *   node dist/bench/actors.js [--quick] [--rounds N]      (npm run bench:actors)
 *
 * - `call` round trip main thread → actor on a scheduler, by via name, one in flight (p50/p99 µs);
 *   baselines: a `postMessage` round trip to an echoing Worker, a comlink call to a Worker.
 * - pipelined `cast` between actors on two schedulers (msgs/s, until the last one is counted);
 *   baseline: `postMessage` one way between two workers over a MessageChannel.
 * - `call` between two actors of one scheduler (calls/s); baseline: an async function call loop in
 *   that same thread.
 * - spawn with a via name, then stop, on one scheduler (actors/s), in batches of 100.
 * - memory per idle named actor: the scheduler's heap after GC plus the registry's bytes.
 * - actor-ts's comparison scenarios (spawn, tell, ask, ping-pong), measured the same way.
 *
 * Progress goes to stderr; the last line on stdout is one JSON object. bench/run.ts calls `runActors`.
 *
 * @module
 */
import { MessageChannel, Worker, isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { wrap, expose, releaseProxy } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Registry, Runtime, call, ref, spawn, via, type Pid } from '../src/index.js';
import { log, median } from './lib/args.js';
import type { DriverOp, Timed, TimedLatency } from './lib/actor-behaviours.js';

const now = (): bigint => process.hrtime.bigint();

// ---------------------------------------------------------------- baseline workers (this module, worker mode)

type Role = 'echo' | 'comlink' | 'pm-sender' | 'pm-receiver';
interface PipeCmd { n: number; port?: MessagePort }

function workerMain(role: Role): void {
  const port = parentPort;
  if (port === null) return;
  if (role === 'echo') {
    port.on('message', (m: unknown) => port.postMessage(m));
  } else if (role === 'comlink') {
    expose({ echo: (x: unknown) => x }, nodeEndpoint(port));
  } else if (role === 'pm-sender') {
    let peer: MessagePort | undefined;
    port.on('message', (c: PipeCmd) => {
      if (c.port !== undefined) {
        peer = c.port;
        port.postMessage('ok');
        return;
      }
      const p = peer as MessagePort;
      const t0 = now();
      for (let i = 0; i < c.n; i++) p.postMessage({ op: 'cast', key: 'room:42', i });
      port.postMessage({ t0 });
    });
  } else {
    let expect = 0;
    let got = 0;
    port.on('message', (c: PipeCmd) => {
      if (c.port !== undefined) {
        c.port.on('message', () => {
          if (++got === expect) port.postMessage({ t1: now(), got });
        });
        port.postMessage('ok');
        return;
      }
      expect = c.n;
      got = 0;
      port.postMessage('armed');
    });
  }
}

if (!isMainThread && typeof (workerData as { actorBenchRole?: unknown } | null)?.actorBenchRole === 'string') {
  workerMain((workerData as { actorBenchRole: Role }).actorBenchRole);
}

function startWorker(role: Role): Worker {
  return new Worker(new URL(import.meta.url), { workerData: { actorBenchRole: role } });
}

function next<T>(w: Worker | MessagePort): Promise<T> {
  return new Promise((r) => w.once('message', (m: T) => r(m)));
}

// ---------------------------------------------------------------- helpers

function percentile(xs: Float64Array, p: number): number {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;
const perSec = (t: Timed): number => (t.n * 1e9) / t.ns;

/** One sequential round-trip loop: `n` awaited `fn(i)`, each timed. Latencies in ns into `out` from `at`. */
async function timeLoop(n: number, out: Float64Array | null, at: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await fn(i);
    if (out !== null) out[at + i] = Number(now() - t0);
  }
}

export interface ActorBenchOptions {
  readonly quick: boolean;
  /** Rounds of each figure, interleaved with its baseline. */
  readonly rounds?: number;
}

export interface ActorSummary {
  callRttP50Us: number;
  callRttP99Us: number;
  postMessageRttP50Us: number;
  postMessageRttP99Us: number;
  comlinkRttP50Us: number;
  comlinkRttP99Us: number;
  callVsPostMessage: number;
  callVsComlink: number;
  castsPerSec: number;
  postMessageOneWayPerSec: number;
  castsVsPostMessage: number;
  localCallsPerSec: number;
  directAsyncCallsPerSec: number;
  localCallsVsDirectAsync: number;
  skeletonCallsPerSec: number;
  localCallsVsSkeleton: number;
  spawnsPerSec: number;
  bytesPerIdleActor: number;
  heapBytesPerIdleActor: number;
  registryBytesPerIdleActor: number;
}

export interface ActorBenchReport {
  readonly summary: ActorSummary;
  /** actor-ts's comparison scenarios (benchmarks/comparison/RESULTS.md), measured with Roster. */
  readonly scenarios: Record<string, number>;
  readonly params: Record<string, number | boolean>;
  readonly rounds: Record<string, number[]>;
  readonly forcedGc: boolean;
  readonly seconds: number;
}

/** Runs every actor figure; the runtime and workers it starts are stopped before it returns. */
export async function runActors(opts: ActorBenchOptions): Promise<ActorBenchReport> {
  const started = Date.now();
  const quick = opts.quick;
  const rounds = opts.rounds ?? 3;
  const P = {
    rttCalls: quick ? 20_000 : 60_000,
    rttWarmup: 3_000,
    casts: quick ? 300_000 : 1_000_000,
    castYieldEvery: 2048,
    localCalls: quick ? 200_000 : 1_000_000,
    spawns: quick ? 20_000 : 100_000,
    spawnBatch: 100,
    idleActors: 100_000,
    rounds,
  };
  const roundsOut: Record<string, number[]> = {};
  const keep = (name: string, x: number): number => {
    (roundsOut[name] ??= []).push(x);
    return x;
  };

  const bench = Registry.create({ keys: 'unique', name: 'actor-bench' });
  const runtime = await Runtime.start({ schedulers: 2, registries: [bench] });
  const mod = new URL('./lib/actor-behaviours.js', import.meta.url).href;
  const B = (name: string): ReturnType<typeof ref> => ref(mod, name);
  const driverCall = <R>(pid: Pid, op: DriverOp): Promise<R> => call<R>(pid, op, { timeout: 600_000 });
  const echoW = startWorker('echo');
  const comlinkW = startWorker('comlink');
  const sender = startWorker('pm-sender');
  const receiver = startWorker('pm-receiver');
  try {
    const d0 = await spawn(B('Driver'), null, { scheduler: 0 });
    const d1 = await spawn(B('Driver'), null, { scheduler: 1 });
    const echoName = via(bench, 'echo');
    await spawn(B('Echo'), null, { name: echoName, scheduler: 1 });
    const remote = wrap<{ echo(x: unknown): unknown }>(nodeEndpoint(comlinkW));

    // ---- cross-thread call round trip, one in flight, with its baselines interleaved by round
    log('actors: call round trip (main → scheduler 1, via name) | postMessage | comlink');
    const pmEcho = (i: number): Promise<unknown> => {
      const p = next(echoW);
      echoW.postMessage(i);
      return p;
    };
    await timeLoop(P.rttWarmup, null, 0, (i) => call(echoName, i));
    await timeLoop(P.rttWarmup, null, 0, pmEcho);
    await timeLoop(P.rttWarmup, null, 0, (i) => remote.echo(i));
    const per = Math.ceil(P.rttCalls / rounds);
    const lat = { call: new Float64Array(per * rounds), pm: new Float64Array(per * rounds), comlink: new Float64Array(per * rounds) };
    for (let r = 0; r < rounds; r++) {
      await timeLoop(per, lat.call, r * per, (i) => call(echoName, i));
      await timeLoop(per, lat.pm, r * per, pmEcho);
      await timeLoop(per, lat.comlink, r * per, (i) => remote.echo(i));
    }
    const us = (xs: Float64Array, p: number): number => r2(percentile(xs, p) / 1000);
    const callP50 = percentile(lat.call, 0.5);
    const pmP50 = percentile(lat.pm, 0.5);
    const comlinkP50 = percentile(lat.comlink, 0.5);
    remote[releaseProxy]();

    // ---- pipelined casts between two schedulers | postMessage one way between two workers
    log('actors: casts scheduler 0 → scheduler 1 | postMessage one way worker → worker');
    const sink1 = await spawn(B('Sink'), null, { scheduler: 1 });
    const ch = new MessageChannel();
    sender.postMessage({ n: 0, port: ch.port1 }, [ch.port1]);
    receiver.postMessage({ n: 0, port: ch.port2 }, [ch.port2]);
    await Promise.all([next(sender), next(receiver)]);
    const pmPipe = async (n: number): Promise<Timed> => {
      receiver.postMessage({ n });
      await next(receiver);
      const done = next<{ t1: bigint; got: number }>(receiver);
      sender.postMessage({ n });
      const { t0 } = await next<{ t0: bigint }>(sender);
      const { t1, got } = await done;
      if (got !== n) throw new Error(`receiver got ${got} of ${n}`);
      return { ns: Number(t1 - t0), n };
    };
    await driverCall(d0, { op: 'casts', target: sink1, n: 20_000, yieldEvery: P.castYieldEvery });
    await pmPipe(20_000);
    const casts: number[] = [];
    const pmOneWay: number[] = [];
    for (let r = 0; r < rounds; r++) {
      casts.push(keep('castsPerSec', perSec(await driverCall<Timed>(d0, { op: 'casts', target: sink1, n: P.casts, yieldEvery: P.castYieldEvery }))));
      pmOneWay.push(keep('postMessageOneWayPerSec', perSec(await pmPipe(P.casts))));
    }

    // ---- calls within one scheduler | an async function call loop in the same thread
    log('actors: calls between two actors of scheduler 0 | direct async calls in that thread');
    const echo0 = await spawn(B('Echo'), null, { scheduler: 0 });
    await driverCall(d0, { op: 'localCalls', target: echo0, n: 20_000, latencies: false });
    await driverCall(d0, { op: 'directAsync', n: 20_000, latencies: false });
    await driverCall(d0, { op: 'skeleton', n: 20_000, latencies: false });
    const local: number[] = [];
    const direct: number[] = [];
    const skeleton: number[] = [];
    for (let r = 0; r < rounds; r++) {
      local.push(keep('localCallsPerSec', perSec(await driverCall<Timed>(d0, { op: 'localCalls', target: echo0, n: P.localCalls, latencies: false }))));
      direct.push(keep('directAsyncCallsPerSec', perSec(await driverCall<Timed>(d0, { op: 'directAsync', n: P.localCalls, latencies: false }))));
      skeleton.push(keep('skeletonCallsPerSec', perSec(await driverCall<Timed>(d0, { op: 'skeleton', n: P.localCalls, latencies: false }))));
    }

    // ---- spawn (via name) + stop, batches of 100, on one scheduler; unnamed beside it
    log('actors: spawn + stop on scheduler 0 (named, unnamed)');
    await driverCall(d0, { op: 'spawns', n: 2_000, batch: P.spawnBatch, named: true, prefix: 'w:', registry: bench.name });
    const spawns: number[] = [];
    const spawnsUnnamed: number[] = [];
    for (let r = 0; r < rounds; r++) {
      spawns.push(keep('spawnsPerSec', perSec(await driverCall<Timed>(d0, { op: 'spawns', n: P.spawns, batch: P.spawnBatch, named: true, prefix: `s${r}:`, registry: bench.name }))));
      spawnsUnnamed.push(keep('spawnsUnnamedPerSec', perSec(await driverCall<Timed>(d0, { op: 'spawns', n: P.spawns, batch: P.spawnBatch, named: false, prefix: '', registry: bench.name }))));
    }
    // Both schedulers at once (the aggregate; on 2 cores they share them with the main thread).
    const both = await Promise.all([d0, d1].map((d, i) => driverCall<Timed>(d, { op: 'spawns', n: P.spawns, batch: P.spawnBatch, named: true, prefix: `b${i}:`, registry: bench.name })));
    const spawnsBoth = both.reduce((a, t) => a + perSec(t), 0);

    // ---- actor-ts scenarios, in one scheduler (their rows are in-process) and across two
    log('actors: actor-ts scenarios (tell, ask, ping-pong)');
    const sink0 = await spawn(B('Sink'), null, { scheduler: 0 });
    const tell1k = perSec(await driverCall<Timed>(d0, { op: 'tellBatches', target: sink0, batch: 1_000, iters: 100 }));
    const tell10k = perSec(await driverCall<Timed>(d0, { op: 'tellBatches', target: sink0, batch: 10_000, iters: 30 }));
    const tell10kX = perSec(await driverCall<Timed>(d0, { op: 'tellBatches', target: sink1, batch: 10_000, iters: 30 }));
    const ask = await driverCall<TimedLatency>(d0, { op: 'localCalls', target: echo0, n: 5_000, latencies: true });
    const ping0 = await spawn(B('Pinger'), null, { scheduler: 0 });
    const pong0 = await spawn(B('Ponger'), null, { scheduler: 0 });
    const pong1 = await spawn(B('Ponger'), null, { scheduler: 1 });
    const volley = async (peer: Pid, iters: number): Promise<number> => {
      await call(ping0, { peer, n: 1_000 });
      let ns = 0;
      for (let i = 0; i < iters; i++) ns += await call<number>(ping0, { peer, n: 10_000 }, { timeout: 60_000 });
      return (iters * 10_000 * 1e9) / ns;
    };
    const pingLocal = await volley(pong0, quick ? 5 : 20);
    const pingCross = await volley(pong1, quick ? 5 : 20);

    // ---- memory per idle named actor (scheduler 1: the heap after forced GCs, plus registry bytes)
    log(`actors: memory of ${P.idleActors} idle named actors on scheduler 1`);
    const regBytes = (): number => bench.stats().reduce((a, s) => a + s.bytes, 0);
    const h0 = await driverCall<{ heapUsed: number; forcedGc: boolean }>(d1, { op: 'heap' });
    const rb0 = regBytes();
    const spawnedIdle = await driverCall<Timed>(d1, { op: 'spawnIdle', n: P.idleActors, batch: 1_000, prefix: 'idle:', registry: bench.name });
    const h1 = await driverCall<{ heapUsed: number; forcedGc: boolean }>(d1, { op: 'heap' });
    const rb1 = regBytes();
    const heapPer = (h1.heapUsed - h0.heapUsed) / P.idleActors;
    const regPer = (rb1 - rb0) / P.idleActors;
    const stopped = await driverCall<number>(d1, { op: 'stopIdle', batch: 1_000 });
    if (stopped !== P.idleActors) throw new Error(`stopped ${stopped} of ${P.idleActors} idle actors`);

    const summary: ActorSummary = {
      callRttP50Us: us(lat.call, 0.5),
      callRttP99Us: us(lat.call, 0.99),
      postMessageRttP50Us: us(lat.pm, 0.5),
      postMessageRttP99Us: us(lat.pm, 0.99),
      comlinkRttP50Us: us(lat.comlink, 0.5),
      comlinkRttP99Us: us(lat.comlink, 0.99),
      callVsPostMessage: r2(pmP50 / callP50),
      callVsComlink: r2(comlinkP50 / callP50),
      castsPerSec: Math.round(median(casts)),
      postMessageOneWayPerSec: Math.round(median(pmOneWay)),
      castsVsPostMessage: r2(median(casts.map((c, i) => c / (pmOneWay[i] as number)))),
      localCallsPerSec: Math.round(median(local)),
      directAsyncCallsPerSec: Math.round(median(direct)),
      localCallsVsDirectAsync: Math.round(1000 * median(local.map((c, i) => c / (direct[i] as number)))) / 1000,
      skeletonCallsPerSec: Math.round(median(skeleton)),
      localCallsVsSkeleton: Math.round(1000 * median(local.map((c, i) => c / (skeleton[i] as number)))) / 1000,
      spawnsPerSec: Math.round(median(spawns)),
      bytesPerIdleActor: Math.round(heapPer + regPer),
      heapBytesPerIdleActor: Math.round(heapPer),
      registryBytesPerIdleActor: Math.round(regPer),
    };
    const scenarios = {
      spawnStopUnnamedBatch100PerSec: Math.round(median(spawnsUnnamed)),
      spawnStopNamedBatch100PerSec: summary.spawnsPerSec,
      spawnStopNamedBothSchedulersPerSec: Math.round(spawnsBoth),
      spawnIdleNamedPerSec: Math.round(perSec(spawnedIdle)),
      tellBatch1kPerSec: Math.round(tell1k),
      tellBatch10kPerSec: Math.round(tell10k),
      tellBatch10kCrossSchedulerPerSec: Math.round(tell10kX),
      askLocalP50Us: r2(ask.p50Ns / 1000),
      askLocalP99Us: r2(ask.p99Ns / 1000),
      askLocalPerSec: Math.round(perSec(ask)),
      askCrossThreadP50Us: summary.callRttP50Us,
      pingPongLocalExchangesPerSec: Math.round(pingLocal),
      pingPongCrossSchedulerExchangesPerSec: Math.round(pingCross),
    };
    return { summary, scenarios, params: { ...P, quick }, rounds: roundsOut, forcedGc: h0.forcedGc && h1.forcedGc, seconds: Math.round((Date.now() - started) / 1000) };
  } finally {
    await Promise.all([echoW, comlinkW, sender, receiver].map((w) => w.terminate()));
    await runtime.stop();
    bench.close();
  }
}

/** Human-readable lines for stderr. */
export function actorsMarkdown(r: ActorBenchReport): string {
  const s = r.summary;
  const k = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(1)} k/s`);
  const c = r.scenarios;
  return [
    '| figure | Roster | baseline (same run) | ratio |',
    '|---|---|---|---|',
    `| call RTT main → scheduler, via name, p50 / p99 | ${s.callRttP50Us} / ${s.callRttP99Us} µs | postMessage ${s.postMessageRttP50Us} / ${s.postMessageRttP99Us} µs; comlink ${s.comlinkRttP50Us} / ${s.comlinkRttP99Us} µs | ${s.callVsPostMessage}× postMessage, ${s.callVsComlink}× comlink |`,
    `| cast, scheduler 0 → 1, pipelined | ${k(s.castsPerSec)} | postMessage one way ${k(s.postMessageOneWayPerSec)} | ${s.castsVsPostMessage}× |`,
    `| call within one scheduler | ${k(s.localCallsPerSec)} | async function call ${k(s.directAsyncCallsPerSec)}; three-hop skeleton ${k(s.skeletonCallsPerSec)} | ${s.localCallsVsDirectAsync}× async, ${s.localCallsVsSkeleton}× skeleton |`,
    `| spawn (via name) + stop, one scheduler | ${k(s.spawnsPerSec)} | — | both schedulers at once: ${k(c.spawnStopNamedBothSchedulersPerSec ?? 0)} |`,
    `| bytes per idle named actor | ${s.bytesPerIdleActor} B (heap ${s.heapBytesPerIdleActor} + registry ${s.registryBytesPerIdleActor}) | — | forced GC: ${r.forcedGc} |`,
    '',
    `actor-ts scenarios: spawn→stop batch 100 ${k(c.spawnStopUnnamedBatch100PerSec ?? 0)} (named ${k(c.spawnStopNamedBatch100PerSec ?? 0)}); ` +
      `tell 1k ${k(c.tellBatch1kPerSec ?? 0)}, 10k ${k(c.tellBatch10kPerSec ?? 0)} (cross-scheduler ${k(c.tellBatch10kCrossSchedulerPerSec ?? 0)}); ` +
      `ask p50 ${c.askLocalP50Us} µs in-scheduler, ${c.askCrossThreadP50Us} µs cross-thread; ping-pong ${k(c.pingPongLocalExchangesPerSec ?? 0)} in-scheduler, ${k(c.pingPongCrossSchedulerExchangesPerSec ?? 0)} across schedulers`,
  ].join('\n');
}

if (isMainThread && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const ri = argv.indexOf('--rounds');
  runActors({ quick: argv.includes('--quick'), ...(ri >= 0 ? { rounds: Number(argv[ri + 1]) } : {}) })
    .then((r) => {
      log(actorsMarkdown(r));
      process.stdout.write(JSON.stringify({ ...r.summary, scenarios: r.scenarios, forcedGc: r.forcedGc, quick: r.params.quick, seconds: r.seconds }) + '\n');
      process.exit(0);
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
