/**
 * The mailroom (src/runtime/mailroom.ts) between real worker threads.
 *
 * - 8 sender threads → 2 receiver threads, messages in a seeded interleaving, some large (sent
 *   indirectly): each receiver checks per-sender FIFO on every message; every accepted message arrives
 *   exactly once, nothing is refused.
 * - A ring full (receiver not draining, 4 KiB rings): messages queue in the sender, in order, up to the
 *   bound (`maxQueued`); past it `send` returns false and counts the drop; once the receiver drains,
 *   exactly the accepted messages arrive, in order.
 * - Large messages between small ones keep FIFO.
 * - A dead receiver: `send` returns false at once.
 * - A sender stopped at each ring crash point and terminated: the receiver gets exactly what was
 *   published, never blocks, and drops the ring.
 *
 * Replay with ROSTER_SEED=<seed in the test names>.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, test } from 'vitest';
import { Domain } from '../../dist/src/domain/domain.js';
import { Mailroom, type Envelope } from '../../dist/src/runtime/mailroom.js';
import { InvalidMessageError } from '../../dist/src/errors.js';
import { seedFromEnv, subSeed } from '../helpers/prng.js';

const seed = seedFromEnv();
const kAgent = new URL('../../dist/test/fixtures/runtime-mail-agent.js', import.meta.url);
Domain.current(); // workers inherit this domain

class Agent {
  readonly worker: Worker;
  #replies: Array<(m: { ok: boolean; value?: unknown; error?: string }) => void> = [];
  readonly exited: Promise<number>;
  constructor(board?: Int32Array) {
    this.worker = new Worker(kAgent, { workerData: { board } });
    this.worker.on('message', (m: { ok: boolean; value?: unknown; error?: string }) => this.#replies.shift()?.(m));
    this.exited = new Promise((resolve) => this.worker.once('exit', resolve));
  }
  call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#replies.push((m) => (m.ok ? resolve(m.value as T) : reject(new Error(m.error))));
      this.worker.postMessage({ cmd, ...args });
      void this.exited.then((code) => reject(new Error(`agent exited (code ${code})`)));
    });
  }
}

const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.worker.terminate()));
});
async function open(n: number, options: object = {}, board?: Int32Array): Promise<Array<{ agent: Agent; inc: number; stats: SharedArrayBuffer }>> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const agent = new Agent(board);
    agents.push(agent);
    const r = await agent.call<{ inc: number; stats: SharedArrayBuffer }>('open', { options });
    out.push({ agent, inc: r.inc, stats: r.stats });
  }
  return out;
}

interface SendResult { accepted: number[][]; refused: number; stats: { dropped: number; indirect: number } }
interface ReceiveResult { got: Record<number, number>; order: string[]; seen: Record<number, number[]>; stats: { received: number } }

describe(`mailroom (seed ${seed})`, () => {
  test(`8 senders → 2 receivers, per-pair FIFO on every message, large ones among them (seed ${seed})`, async () => {
    const perPair = 6000;
    const receivers = await open(2);
    const senders = await open(8);
    const targets = receivers.map((r) => r.inc);
    const recv = receivers.map((r) => r.agent.call<ReceiveResult>('receive', { expect: perPair * 8 }));
    const sent = await Promise.all(
      senders.map((s, index) => s.agent.call<SendResult>('send', { targets, count: perPair, seed: subSeed(seed, index), index, bigEvery: 1500 })),
    );
    const got = await Promise.all(recv);
    for (const s of sent) {
      expect(s.refused).toBe(0);
      expect(s.stats.indirect).toBe(2 * (perPair / 1500));
      for (const a of s.accepted) expect(a.length).toBe(perPair);
    }
    for (const g of got) {
      expect(g.order).toEqual([]);
      for (let s = 0; s < 8; s++) expect(g.got[s]).toBe(perPair);
      expect(g.stats.received).toBe(perPair * 8);
    }
  });

  test(`ring full: the sender queues in order up to maxQueued, then refuses and counts; nothing accepted is lost (seed ${seed})`, async () => {
    const [receiver] = await open(1);
    const [sender] = await open(1, { ringBytes: 4096, maxQueued: 1500 });
    if (receiver === undefined || sender === undefined) throw new Error('no agents');
    const count = 3000;
    // The receiver does not drain until its `receive` starts: the sender fills the ring, then its queue.
    const sending = sender.agent.call<SendResult>('send', { targets: [receiver.inc], count, seed, index: 0, bigEvery: 700 });
    await until(() => {
      const st = Mailroom.readStats(sender.stats);
      return st.sent + st.dropped === count;
    }, 'the sender to try every message');
    const st = Mailroom.readStats(sender.stats);
    expect(st.queued).toBe(1500);
    expect(st.dropped).toBeGreaterThan(0);
    const got = await receiver.agent.call<ReceiveResult>('receive', { expect: st.sent, keep: true });
    const sent = await sending;
    expect(sent.refused).toBe(st.dropped);
    expect(got.order).toEqual([]);
    expect(got.seen[0]).toEqual(sent.accepted[0]);
    expect(Mailroom.readStats(sender.stats).queued).toBe(0);
  });

  test(`large messages between small ones keep FIFO (seed ${seed})`, async () => {
    const [receiver] = await open(1);
    const [sender] = await open(1, { ringBytes: 64 * 1024 });
    if (receiver === undefined || sender === undefined) throw new Error('no agents');
    const recv = receiver.agent.call<ReceiveResult>('receive', { expect: 300, keep: true });
    const sent = await sender.agent.call<SendResult>('send', { targets: [receiver.inc], count: 300, seed, index: 0, bigEvery: 7 });
    const got = await recv;
    expect(sent.stats.indirect).toBe(Math.floor(300 / 7));
    expect(got.order).toEqual([]);
    expect(got.seen[0]).toEqual(sent.accepted[0]);
  });

  test('a dead receiver: send returns false at once and counts the drop', async () => {
    const me = Mailroom.current();
    const [receiver] = await open(1);
    if (receiver === undefined) throw new Error('no agent');
    const env: Envelope = { kind: 1, to: 0, from: 0, ref: 0, deadline: 0, body: 'hello' };
    expect(me.send(receiver.inc, env)).toBe(true);
    await receiver.agent.worker.terminate();
    const dropped = me.stats().dropped;
    const t0 = performance.now();
    expect(me.send(receiver.inc, env)).toBe(false);
    expect(me.send(receiver.inc, env)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(1000); // returned, not blocked waiting for the dead receiver
    expect(me.stats().dropped).toBe(dropped + 2);
  });

  test('a message that cannot cross threads throws InvalidMessageError at the sender, nothing sent', () => {
    const me = Mailroom.current();
    const before = me.stats();
    expect(() => me.send(me.inc, { kind: 1, to: 0, from: 0, ref: 0, deadline: 0, body: { f: () => 1 } })).toThrow(InvalidMessageError);
    expect(me.stats().sent).toBe(before.sent);
    expect(me.hasMail()).toBe(false);
  });

  test('loopback: mail to the own thread arrives in order', async () => {
    const me = Mailroom.current();
    for (let q = 0; q < 100; q++) expect(me.send(me.inc, { kind: 2, to: 7, from: 1, ref: q, deadline: 0, body: [q] })).toBe(true);
    await me.waitForMail();
    const refs: number[] = [];
    expect(me.drain(1000, (e) => refs.push(e.ref))).toBe(100);
    expect(refs).toEqual([...Array(100).keys()]);
  });

  test.each(['reserved', 'written', 'published'])(`a sender killed at %s never blocks the receiver, which gets exactly what was published (seed ${seed})`, async (point) => {
    const me = Mailroom.current();
    const board = new Int32Array(new SharedArrayBuffer(8));
    const [sender] = await open(1, {}, board);
    if (sender === undefined) throw new Error('no agent');
    const after = 1 + (subSeed(seed, point) % 20);
    sender.agent.call('crash', { target: me.inc, point, after }).catch(() => undefined);
    await until(() => Atomics.load(board, 0) === 1, 'the sender to reach its crash point');
    await sender.agent.worker.terminate();
    const expected = after + (point === 'published' ? 1 : 0);
    const refs: number[] = [];
    const deadline = Date.now() + 5000;
    while (refs.length < expected && Date.now() < deadline) {
      await Promise.race([me.waitForMail(), new Promise((r) => setTimeout(r, 100))]);
      me.drain(1000, (e) => refs.push(e.ref));
    }
    expect(refs).toEqual([...Array(expected).keys()]);
    expect(me.drain(1000, (e) => refs.push(e.ref))).toBe(0);
    expect(me.hasMail()).toBe(false);
    // The stopped sender's ring is dropped by a later drain.
    await until(() => {
      me.drain(1000, (e) => refs.push(e.ref));
      return me.stats().rings === 0;
    }, 'the dead sender\'s ring to be dropped');
    expect(refs.length).toBe(expected);
  });
});

/** Resolves once `cond()` holds, re-checking every turn of the event loop; rejects after `ms`. */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
