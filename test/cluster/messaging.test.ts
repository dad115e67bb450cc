/**
 * Cross-node messaging between 3 node processes: call, cast and send by global pid and by cluster name, FIFO
 * per sender→receiver pair with two senders interleaving, call timeouts, `noproc`, exit reasons across
 * nodes, and monitors of remote actors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, randInt, seedFromEnv } from '../helpers/prng.js';
import { rejection, startNode, startRedis, stopNodes, type NodeProc, type RedisServer } from './kit.js';

const seed = seedFromEnv();
const kTiming = { heartbeatMs: 100, leaseMs: 3000 };

interface G { node: string; incarnation: number; pid: number }

describe(`cluster messaging (ROSTER_SEED=${seed})`, () => {
  let redis: RedisServer;
  let nodes: NodeProc[] = [];
  let m1: NodeProc;
  let m2: NodeProc;
  let m3: NodeProc;
  let target: G;

  beforeAll(async () => {
    redis = await startRedis();
    nodes = await Promise.all(['m1', 'm2', 'm3'].map((n) => startNode(redis.url, n, kTiming)));
    [m1, m2, m3] = nodes as [NodeProc, NodeProc, NodeProc];
    target = await m2.do<G>('spawn', 'target');
  });

  afterAll(async () => {
    await stopNodes(nodes);
    await redis?.stop();
  });

  it('call by global pid and by cluster name; the reply comes back', async () => {
    expect(await m1.do('call', target, { echo: { a: [1, 2n, new Map([[1, 'x']])] } })).toEqual({ a: [1, 2n, new Map([[1, 'x']])] });
    expect((await m2.do<{ ok: boolean }>('register', 'echo', target.pid)).ok).toBe(true);
    expect(await m3.do('call', { name: 'echo' }, { echo: 'by name' })).toBe('by name');
    // The node's own actor through the cluster API takes the local path.
    expect(await m2.do('call', { name: 'echo' }, { echo: 'local' })).toBe('local');
    // send reaches handleInfo; a call after it on the same pair finds it there.
    expect(await m1.do('send', target, { info: 1 })).toBe(true);
    expect(await m3.do('send', { name: 'echo' }, { info: 3 })).toBe(true);
    await m1.do('call', target, 'tag');
    await m3.do('call', target, 'tag');
    const infos = (await m2.do<{ infos: unknown[] }>('local', target.pid, 'log')).infos;
    expect(infos).toContainEqual({ info: 1 });
    expect(infos).toContainEqual({ info: 3 });
  });

  it('FIFO per sender→receiver pair: two nodes cast interleaved streams, each arrives in order', async () => {
    const rng = mulberry32(seed);
    const n1 = 200 + randInt(rng, 300);
    const n3 = 200 + randInt(rng, 300);
    const before = (await m2.do<{ casts: unknown[] }>('local', target.pid, 'log')).casts.length;
    const [s1, s3] = await Promise.all([
      m1.do<number>('castMany', target, Array.from({ length: n1 }, (_, i) => ({ from: 'm1', i }))),
      m3.do<number>('castMany', { name: 'echo' }, Array.from({ length: n3 }, (_, i) => ({ from: 'm3', i }))),
    ]);
    expect([s1, s3]).toEqual([n1, n3]);
    // A call after the casts, from each sender, arrives after them (same pair, same order).
    await m1.do('call', target, 'tag');
    await m3.do('call', target, 'tag');
    const casts = (await m2.do<{ casts: Array<{ from: string; i: number }> }>('local', target.pid, 'log')).casts.slice(before);
    const seq = (from: string) => casts.filter((c) => c.from === from).map((c) => c.i);
    expect(seq('m1')).toEqual(Array.from({ length: n1 }, (_, i) => i));
    expect(seq('m3')).toEqual(Array.from({ length: n3 }, (_, i) => i));
    // Calls issued back to back are answered in order.
    const replies = await m1.do<unknown[]>('callMany', target, Array.from({ length: 50 }, (_, i) => ({ echo: i })));
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('a call past its timeout fails with ROSTER_ERR_CALL_TIMEOUT', async () => {
    const t0 = Date.now();
    const err = await rejection(m1.do('call', target, { sleep: 1500 }, 100));
    expect(err.code).toBe('ROSTER_ERR_CALL_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(1400);
  });

  it('noproc: a pid that does not exist, a name nobody holds; casts to them report false', async () => {
    expect((await rejection(m1.do('call', { ...target, pid: target.pid + 1000 }, 'tag'))).code).toBe('ROSTER_ERR_NOPROC');
    expect((await rejection(m1.do('call', { name: 'nobody' }, 'tag'))).code).toBe('ROSTER_ERR_NOPROC');
    // A number that is no pid at all, on a live node: noproc too.
    expect((await rejection(m1.do('call', { ...target, pid: 12345 }, 'tag'))).code).toBe('ROSTER_ERR_NOPROC');
    expect(await m1.do('send', { name: 'nobody' }, 'x')).toBe(false);
    // An incarnation that never existed is a process of a node that is not listening under it.
    expect((await rejection(m1.do('call', { ...target, incarnation: target.incarnation + 100 }, 'tag'))).code).toBe('ROSTER_ERR_NOPROC');
  });

  it('monitors of a remote actor fire with its exit reason; an exit fails the call with it', async () => {
    const victim = await m3.do<G>('spawn', 'victim');
    const watcher = await m1.do<G>('spawn', 'watcher');
    const ref = await m1.do<number>('monitor', victim, watcher.pid);
    expect(await m1.do('call', victim, { stop: 'retired' })).toBe('stopping');
    const ev = await m1.waitEvent((e) => e.event === 'monitor' && e.ref === ref, 5000, 'monitor down');
    expect(ev.reason).toBe('retired');
    expect(ev.pid).toEqual(victim);
    // The watcher actor got the same message at its handleInfo.
    const infos = (await m1.do<{ infos: Array<{ type: string; reason: string }> }>('local', watcher.pid, 'log')).infos;
    expect(infos).toContainEqual({ type: 'down', ref, pid: victim, reason: 'retired' });
    // Monitoring a process that is gone fires at once with 'noproc'.
    const ref2 = await m2.do<number>('monitor', victim);
    expect((await m2.waitEvent((e) => e.event === 'monitor' && e.ref === ref2, 5000, 'noproc down')).reason).toBe('noproc');
  });
});
