/**
 * A node killed with SIGKILL: within its lease plus a sweep it is declared down on every other node
 * (`down` events), the calls in flight to it fail with `ROSTER_ERR_NODE_DOWN`, monitors of its actors
 * fire with `'node_down'`, and its names are free for other nodes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejection, startNode, startRedis, stopNodes, type NodeProc, type RedisServer } from './kit.js';

const kTiming = { heartbeatMs: 100, leaseMs: 2000 };

interface G { node: string; incarnation: number; pid: number }

describe('cluster node death', () => {
  let redis: RedisServer;
  let nodes: NodeProc[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    nodes = await Promise.all(['d1', 'd2', 'd3'].map((n) => startNode(redis.url, n, kTiming)));
  });

  afterAll(async () => {
    await stopNodes(nodes);
    await redis?.stop();
  });

  it('kill -9: down within the deadline, calls in flight fail typed, monitors fire node_down, names freed', async () => {
    const [d1, d2, d3] = nodes as [NodeProc, NodeProc, NodeProc];
    const victim = await d3.do<G>('spawn', 'victim');
    const names = Array.from({ length: 100 }, (_, i) => `d3:${i}`);
    expect(await d3.do<string[]>('registerMany', names, victim.pid)).toHaveLength(100);
    const watcher = await d1.do<G>('spawn', 'watcher');
    const ref1 = await d1.do<number>('monitor', victim, watcher.pid);
    const ref2 = await d2.do<number>('monitor', { name: 'd3:0' });
    // A call in flight: the victim sleeps longer than the test.
    const inFlight = rejection(d1.do('call', victim, { sleep: 30_000 }, 30_000));
    await d1.waitEvent((e) => e.event === 'up' && e.node === 'd3', 5000, 'd3 seen up').catch(() => undefined);

    const killedAt = Date.now();
    d3.kill('SIGKILL');
    const err = await inFlight;
    expect(err.code).toBe('ROSTER_ERR_NODE_DOWN');
    expect(err.node).toBe('d3');
    // Deadline: lease + sweep period, plus slack for a loaded 2-core machine.
    expect(Date.now() - killedAt).toBeLessThan(kTiming.leaseMs + 3000);
    for (const n of [d1, d2]) await n.waitEvent((e) => e.event === 'down' && e.node === 'd3', 5000, 'down event for d3');
    const m1 = await d1.waitEvent((e) => e.event === 'monitor' && e.ref === ref1, 5000, 'monitor on d1');
    expect(m1.reason).toBe('node_down');
    expect((await d2.waitEvent((e) => e.event === 'monitor' && e.ref === ref2, 5000, 'monitor on d2')).reason).toBe('node_down');
    const infos = (await d1.do<{ infos: Array<{ reason: string }> }>('local', watcher.pid, 'log')).infos;
    expect(infos).toContainEqual({ type: 'down', ref: ref1, pid: victim, reason: 'node_down' });

    // Its names are free: another node takes every one, and lookups no longer name d3.
    const taker = await d2.do<G>('spawn', 'taker');
    expect(await d2.do<string[]>('registerMany', names, taker.pid)).toHaveLength(100);
    expect(new Set(await d1.do<string[]>('whereisMany', names))).toEqual(new Set(['d2']));
    // A call to the dead node's actor now fails at once.
    const t0 = Date.now();
    expect((await rejection(d1.do('call', victim, 'tag'))).code).toBe('ROSTER_ERR_NODE_DOWN');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await d1.do('send', victim, 'x')).toBe(false);
  });
});
