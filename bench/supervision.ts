/**
 * Figures of the dynamic supervisor, get-or-start and the event bus, each beside a baseline measured
 * in the same run (2 schedulers):
 *
 * - `getOrStartExistingPerSec`: get-or-start of names that run (a lookup), vs an `await` of
 *   `registry.whereis` (get-or-start is async).
 * - `getOrStartNewPerSec`: get-or-start of new names (a start on the scheduler the name hashes to), vs
 *   `spawn` with a via name; both from the main thread, 1,000 in flight.
 * - `publish10DeliveriesPerSec` / `publish10kDeliveriesPerSec`: deliveries per second of `publish`
 *   from an actor to 10 and to 10,000 subscribers across both schedulers, vs a `send` to each.
 * - `recoveryMs10k`: from a scheduler's death (`worker.terminate()`) to every one of its 10,000
 *   permanent children running again on the survivor (the runtime's `recovered` event).
 * - `chatPostsPerSec`, `chatCallP99Us`: the chat service (examples/chat) on its defaults, no kill; the
 *   call latency is the traffic's (posts and history reads), `chatJoinP99Us` the joins'.
 *
 * Usage: node dist/bench/supervision.js [--quick]; prints a table, then one JSON line.
 */
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { DynamicSupervisor, Registry, Runtime, call, ref, spawn, stopProcess, via, type Pid, type RuntimeEvent } from '../src/index.js';
import { log } from './lib/args.js';

export interface SupervisionSummary {
  getOrStartExistingPerSec: number;
  whereisPerSec: number;
  getOrStartExistingVsWhereis: number;
  getOrStartNewPerSec: number;
  spawnNamedPerSec: number;
  getOrStartNewVsSpawn: number;
  publish10DeliveriesPerSec: number;
  send10DeliveriesPerSec: number;
  publish10kDeliveriesPerSec: number;
  send10kDeliveriesPerSec: number;
  publish10kVsSend: number;
  recoveryMs10k: number;
  recoveredChildren: number;
  /** The chat service (examples/chat) on its defaults, 2 schedulers, no kill: posts/s is the offered load's. */
  chatPostsPerSec: number;
  chatDeliveriesPerSec: number;
  chatCallP50Us: number;
  chatCallP99Us: number;
  /** Joins apart: each may start its room, most come in the burst while the users start. */
  chatJoinP99Us: number;
  chatConsistent: boolean;
}

interface ChatModule {
  runChat(o: Record<string, unknown>): Promise<{ postsPerSec: number; deliveriesPerSec: number; callP50Us: number; callP99Us: number; joinP99Us: number; consistent: boolean; problems: string[] }>;
}

const mod = new URL('./lib/supervision-behaviours.js', import.meta.url).href;
const B = (name: string): ReturnType<typeof ref> => ref(mod, name);
const perSec = (n: number, ms: number): number => Math.round((n / ms) * 1000);

async function waitBoard(board: Int32Array, slot: number, atLeast: number, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const v = Atomics.load(board, slot);
    if (v >= atLeast) return;
    if (Date.now() > end) throw new Error(`board[${slot}] = ${v}, expected ${atLeast}`);
    const w = Atomics.waitAsync(board, slot, v, 5);
    if (w.async) await w.value;
  }
}

/** Runs every figure; the runtime it starts is stopped before it returns. */
export async function runSupervision(opts: { quick: boolean }): Promise<SupervisionSummary> {
  const n = opts.quick ? 10_000 : 50_000;
  const names = Registry.create({ keys: 'unique', name: 'sup-bench' });
  const topics = Registry.create({ keys: 'duplicate', name: 'sup-bench-bus' });
  const sab = new SharedArrayBuffer(64);
  const board = new Int32Array(sab);
  let stopped = false;
  const rt = await Runtime.start({ schedulers: 2, registries: [names, topics] as unknown as Registry<never>[] });
  const install = async (r: Runtime): Promise<void> => {
    for (let i = 0; i < 2; i++) await stopProcess(await r.control(i).spawn({ behaviour: B('Install'), args: { board: sab } }));
  };
  try {
    await install(rt);
    const sup = new DynamicSupervisor('bench');
    const child = { behaviour: B('Child') };
    const inFlight = async (count: number, f: (i: number) => Promise<unknown>): Promise<number> => {
      const t0 = performance.now();
      for (let i = 0; i < count; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, count - i) }, (_, j) => f(i + j)));
      return performance.now() - t0;
    };

    log(`supervision: get-or-start of ${n} new names | spawn with a via name`);
    const newMs = await inFlight(n, (i) => sup.getOrStart(via(names, `g${i}`), child));
    const spawnMs = await inFlight(n, (i) => spawn(B('Child'), null, { name: via(names, `s${i}`) }));
    log('supervision: get-or-start of running names | an await of whereis');
    for (let i = 0; i < n; i++) await sup.getOrStart(via(names, `g${i}`), child); // warm-up
    let t0 = performance.now();
    for (let r = 0; r < 3; r++) for (let i = 0; i < n; i++) await sup.getOrStart(via(names, `g${i}`), child);
    const existingMs = performance.now() - t0;
    t0 = performance.now();
    let sink = 0;
    // getOrStart is async: the baseline is a whereis behind an await.
    for (let r = 0; r < 3; r++) for (let i = 0; i < n; i++) sink += (await Promise.resolve(names.whereis(`g${i}`))) === undefined ? 0 : 1;
    const whereisMs = performance.now() - t0;
    if (sink !== 3 * n) throw new Error('whereis lost names');
    for (let i = 0; i < n; i++) await stopProcess(via(names, `s${i}`));
    await inFlight(n, (i) => sup.terminateChild(via(names, `g${i}`)));

    // Publishing: subscribers on both schedulers, counted on the board; the publisher is an actor.
    const publisher = await spawn(B('Publisher'), { bus: 'sup-bench-bus' }, { scheduler: 0 });
    const fanout = async (subs: number, messages: number, topic: string, slot: number): Promise<{ pub: number; send: number }> => {
      const spawners = [await spawn(B('Spawner'), null, { scheduler: 0 }), await spawn(B('Spawner'), null, { scheduler: 1 })];
      const pids = (await Promise.all(spawners.map((s, i) => call<Pid[]>(s, { n: Math.ceil(subs / 2) - (i === 1 ? subs % 2 : 0), args: { slot, topic, bus: 'sup-bench-bus' } }, { timeout: 300_000 })))).flat();
      Atomics.store(board, slot, 0);
      let t = performance.now();
      await call(publisher, { publish: messages, topic }, { timeout: 300_000 });
      await waitBoard(board, slot, messages * subs);
      const pub = performance.now() - t;
      Atomics.store(board, slot, 0);
      t = performance.now();
      await call(publisher, { sends: messages, to: pids }, { timeout: 300_000 });
      await waitBoard(board, slot, messages * subs);
      const send = performance.now() - t;
      for (const p of [...pids, ...spawners]) await stopProcess(p);
      return { pub: perSec(messages * subs, pub), send: perSec(messages * subs, send) };
    };
    log('supervision: publish to 10 subscribers | a send to each');
    const f10 = await fanout(10, opts.quick ? 20_000 : 100_000, 'ten', 1);
    log('supervision: publish to 10,000 subscribers | a send to each');
    const f10k = await fanout(10_000, opts.quick ? 20 : 100, 'tenk', 2);

    // Recovery: 10k permanent children on scheduler 0, then it dies.
    log('supervision: recovery of 10,000 children after their scheduler dies');
    await inFlight(10_000, (i) => sup.startChild({ ...child, name: via(names, `r${i}`), scheduler: 0 }));
    const recovered = new Promise<RuntimeEvent>((resolve) => rt.on((e) => e.type === 'recovered' && resolve(e)));
    await rt.worker(0).terminate();
    const rec = await recovered;
    if (rec.type !== 'recovered') throw new Error('no recovery');
    for (let i = 0; i < 10_000; i += 997) if (await call(via(names, `r${i}`), 'x') !== 'ok') throw new Error('a child did not come back');

    const figures = {
      getOrStartExistingPerSec: perSec(3 * n, existingMs),
      whereisPerSec: perSec(3 * n, whereisMs),
      getOrStartExistingVsWhereis: +(whereisMs / existingMs).toFixed(3),
      getOrStartNewPerSec: perSec(n, newMs),
      spawnNamedPerSec: perSec(n, spawnMs),
      getOrStartNewVsSpawn: +(spawnMs / newMs).toFixed(3),
      publish10DeliveriesPerSec: f10.pub,
      send10DeliveriesPerSec: f10.send,
      publish10kDeliveriesPerSec: f10k.pub,
      send10kDeliveriesPerSec: f10k.send,
      publish10kVsSend: +(f10k.pub / f10k.send).toFixed(3),
      recoveryMs10k: Math.round(rec.ms),
      recoveredChildren: rec.children,
    };
    await rt.stop();
    names.close();
    topics.close();
    stopped = true;
    // The chat service starts its own runtime (one per thread): after this one stopped.
    log('supervision: the chat service on its defaults (3,000 users, 300 rooms), 2 schedulers, no kill');
    const chat = (await import(new URL('../../examples/chat/service.mjs', import.meta.url).href)) as ChatModule;
    const c = await chat.runChat({ schedulers: 2, seconds: opts.quick ? 6 : 12, kill: false, quiet: true, seed: 1 });
    if (!c.consistent) throw new Error(`the chat service's consistency check failed: ${c.problems.join('; ')}`);
    return {
      ...figures,
      chatPostsPerSec: Math.round(c.postsPerSec),
      chatDeliveriesPerSec: Math.round(c.deliveriesPerSec),
      chatCallP50Us: Math.round(c.callP50Us),
      chatCallP99Us: Math.round(c.callP99Us),
      chatJoinP99Us: Math.round(c.joinP99Us),
      chatConsistent: c.consistent,
    };
  } finally {
    if (!stopped) {
      await rt.stop();
      names.close();
      topics.close();
    }
  }
}

const k = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(1)} k/s`);

/** The figures as a Markdown table. */
export function supervisionMarkdown(s: SupervisionSummary): string {
  return [
    '| figure | Roster | baseline (same run) | ratio |',
    '|---|---|---|---|',
    `| get-or-start, name running (a lookup) | ${k(s.getOrStartExistingPerSec)} | an \`await\` of \`whereis\` ${k(s.whereisPerSec)} | ${s.getOrStartExistingVsWhereis}× |`,
    `| get-or-start, new name (a start), 1,000 in flight | ${k(s.getOrStartNewPerSec)} | \`spawn\` with a via name ${k(s.spawnNamedPerSec)} | ${s.getOrStartNewVsSpawn}× |`,
    `| publish to 10 subscribers, deliveries | ${k(s.publish10DeliveriesPerSec)} | a \`send\` to each ${k(s.send10DeliveriesPerSec)} | ${+(s.publish10DeliveriesPerSec / s.send10DeliveriesPerSec).toFixed(3)}× |`,
    `| publish to 10,000 subscribers, deliveries | ${k(s.publish10kDeliveriesPerSec)} | a \`send\` to each ${k(s.send10kDeliveriesPerSec)} | ${s.publish10kVsSend}× |`,
    `| recovery after a scheduler death, ${s.recoveredChildren} children | ${s.recoveryMs10k} ms | — | — |`,
    `| chat service (defaults, 2 schedulers, no kill): posts, deliveries, call p50 / p99, join p99 | ${k(s.chatPostsPerSec)}, ${k(s.chatDeliveriesPerSec)}, ${(s.chatCallP50Us / 1000).toFixed(2)} / ${(s.chatCallP99Us / 1000).toFixed(1)} ms, ${(s.chatJoinP99Us / 1000).toFixed(1)} ms | — | consistent: ${s.chatConsistent} |`,
  ].join('\n');
}

if (isMainThread && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  runSupervision({ quick: process.argv.includes('--quick') })
    .then((s) => {
      log(supervisionMarkdown(s));
      process.stdout.write(JSON.stringify(s) + '\n');
      process.exit(0);
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
