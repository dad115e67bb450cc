/**
 * Transport micro-benchmark: the mailroom (src/runtime/mailroom.ts) between two threads, beside a
 * `postMessage` baseline measured in the same run.
 *
 *   node dist/bench/runtime-transport.js [--messages 1000000] [--rounds 20000]
 *
 * - one way, pipelined: a worker sends `--messages` small envelopes (`{ op, key, i }`) to the main
 *   thread, which drains them; msgs/s from the first send to the last receipt. The sender yields to
 *   its event loop every 4096 messages and holds back while more than 4096 wait behind a full ring. Baseline: the worker
 *   posts the same objects with `parentPort.postMessage`.
 * - round trip: the main thread sends a ping, the worker answers, `--rounds` times, one in flight;
 *   p50 and p99 in µs. Baseline: the same over `postMessage`.
 *
 * Prints one JSON line. On a shared machine compare only the ratios of one run.
 *
 * @module
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Domain } from '../src/domain/domain.js';
import { Mailroom, type Envelope } from '../src/runtime/mailroom.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const kMessages = flag('messages', 1_000_000);
const kRounds = flag('rounds', 20_000);
const stage = (what: string): void => {
  if (process.env['ROSTER_BENCH_TRACE'] === '1') process.stderr.write(`${what}\n`);
};

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const env = (i: number): Envelope => ({ kind: 1, to: 0, from: 0, ref: i, deadline: 0, body: { op: 'cast', key: 'room:42', i } });

interface Cmd { cmd: 'mail-pipe' | 'pm-pipe' | 'mail-pong' | 'pm-pong'; n: number }

async function worker(): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const mr = Mailroom.current();
  const main = (workerData as { main: number }).main;
  port.postMessage({ inc: mr.inc });
  port.on('message', (c: Cmd) => {
    void (async () => {
      if (c.cmd === 'mail-pipe') {
        for (let i = 0; i < c.n; i++) {
          // Pipelined, with backpressure: keep the local backlog (ring full) small rather than let it
          // reach its bound, where `send` would refuse.
          if ((i & 1023) === 1023) while (mr.queued(main) > 4096) await tick();
          if (!mr.send(main, env(i))) throw new Error('refused');
          if ((i & 4095) === 4095) await tick();
        }
        while (mr.queued(main) > 0) await tick();
      } else if (c.cmd === 'pm-pipe') {
        for (let i = 0; i < c.n; i++) port.postMessage({ op: 'cast', key: 'room:42', i });
      } else if (c.cmd === 'mail-pong') {
        for (let got = 0; got < c.n; ) {
          await mr.waitForMail();
          got += mr.drain(64, (e) => mr.send(main, { ...e, from: e.to }));
        }
      }
      // 'pm-pong' answers in the listener below.
    })();
  });
  port.on('message', (m: unknown) => {
    if (typeof m === 'object' && m !== null && 'ping' in m) port.postMessage({ pong: (m as { ping: number }).ping });
  });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  Domain.current();
  const mr = Mailroom.current();
  const w = new Worker(new URL(import.meta.url), { workerData: { main: mr.inc } });
  const inbox: unknown[] = [];
  let onMsg: ((m: unknown) => void) | undefined;
  w.on('message', (m: unknown) => (onMsg !== undefined ? onMsg(m) : inbox.push(m)));
  const first = (): Promise<unknown> => new Promise((resolve) => {
    if (inbox.length > 0) return resolve(inbox.shift());
    onMsg = (m) => {
      onMsg = undefined;
      resolve(m);
    };
  });
  const target = ((await first()) as { inc: number }).inc; // the worker's mailroom is open

  stage('mail-pipe');
  let got = 0;
  let sum = 0;
  let t0 = performance.now();
  w.postMessage({ cmd: 'mail-pipe', n: kMessages } satisfies Cmd);
  while (got < kMessages) {
    await mr.waitForMail();
    got += mr.drain(4096, (e) => {
      sum += (e.body as { i: number }).i;
    });
  }
  const mailPipe = kMessages / ((performance.now() - t0) / 1000);
  if (sum !== (kMessages * (kMessages - 1)) / 2) throw new Error('mailroom lost or damaged messages');

  stage('pm-pipe');
  got = 0;
  t0 = performance.now();
  await new Promise<void>((resolve) => {
    onMsg = () => {
      if (++got === kMessages) {
        onMsg = undefined;
        resolve();
      }
    };
    w.postMessage({ cmd: 'pm-pipe', n: kMessages } satisfies Cmd);
  });
  const pmPipe = kMessages / ((performance.now() - t0) / 1000);

  stage('mail-rtt');
  const rtt: number[] = [];
  w.postMessage({ cmd: 'mail-pong', n: kRounds } satisfies Cmd);
  for (let i = 0; i < kRounds; i++) {
    const s = performance.now();
    mr.send(target, env(i));
    let done = false;
    while (!done) {
      await mr.waitForMail();
      mr.drain(1, () => (done = true));
    }
    rtt.push((performance.now() - s) * 1000);
  }
  rtt.sort((a, b) => a - b);

  stage('pm-rtt');
  const pmRtt: number[] = [];
  for (let i = 0; i < kRounds; i++) {
    const s = performance.now();
    await new Promise<void>((resolve) => {
      onMsg = () => {
        onMsg = undefined;
        resolve();
      };
      w.postMessage({ ping: i });
    });
    pmRtt.push((performance.now() - s) * 1000);
  }
  pmRtt.sort((a, b) => a - b);
  await w.terminate();

  const r = (x: number): number => Math.round(x * 100) / 100;
  console.log(JSON.stringify({
    bench: 'runtime-transport', node: process.version, messages: kMessages, rounds: kRounds,
    mailroomMsgsPerSec: Math.round(mailPipe), postMessageMsgsPerSec: Math.round(pmPipe), oneWayVsPostMessage: r(mailPipe / pmPipe),
    mailroomRttP50Us: r(quantile(rtt, 0.5)), mailroomRttP99Us: r(quantile(rtt, 0.99)),
    postMessageRttP50Us: r(quantile(pmRtt, 0.5)), postMessageRttP99Us: r(quantile(pmRtt, 0.99)),
    rttP50VsPostMessage: r(quantile(pmRtt, 0.5) / quantile(rtt, 0.5)),
  }));
}

if (isMainThread) await main();
else await worker();
