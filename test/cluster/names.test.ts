/**
 * Cluster-wide unique names across 3 node processes on one real Redis: a race for the same 1,000
 * names leaves exactly one owner each, every node's lookups agree (and agree again after changes reach
 * them as invalidations), `already_registered` names the holder, and fencing tokens only grow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, seedFromEnv, shuffle } from '../helpers/prng.js';
import { startNode, startRedis, stopNodes, until, type NodeProc, type RedisServer } from './kit.js';

const seed = seedFromEnv();
const kTiming = { heartbeatMs: 100, leaseMs: 3000 };

describe(`cluster names (ROSTER_SEED=${seed})`, () => {
  let redis: RedisServer;
  let nodes: NodeProc[] = [];
  const actors: Array<{ node: string; incarnation: number; pid: number }> = [];

  beforeAll(async () => {
    redis = await startRedis();
    nodes = await Promise.all(['n1', 'n2', 'n3'].map((n) => startNode(redis.url, n, kTiming)));
    for (const n of nodes) actors.push(await n.do('spawn', n.name));
  });

  afterAll(async () => {
    await stopNodes(nodes);
    await redis?.stop();
  });

  it('3 nodes race for the same 1,000 names: exactly one owner each, and every node agrees', async () => {
    const rng = mulberry32(seed);
    const names = Array.from({ length: 1000 }, (_, i) => `room:${i}`);
    // Each node registers every name, in its own seeded order, all at once.
    const won = await Promise.all(nodes.map((n, i) => n.do<string[]>('registerMany', shuffle(rng, [...names]), actors[i]?.pid)));
    const owner = new Map<string, string>();
    won.forEach((list, i) => {
      for (const name of list) {
        expect(owner.has(name), `${name} won by ${owner.get(name)} and ${nodes[i]?.name}`).toBe(false);
        owner.set(name, nodes[i]?.name as string);
      }
    });
    expect(owner.size).toBe(1000);
    const expected = names.map((n) => owner.get(n));
    // Lookups from every node (the first fills the cache, the second is served from it).
    for (const n of nodes) {
      expect(await n.do('whereisMany', names)).toEqual(expected);
      expect(await n.do('whereisMany', names)).toEqual(expected);
    }
    const stats = await nodes[0]?.do<{ cacheHits: number }>('stats');
    expect(stats?.cacheHits).toBeGreaterThanOrEqual(1000);
  });

  it('already_registered names the holder; every node agrees after invalidation', async () => {
    const [a, b, c] = nodes as [NodeProc, NodeProc, NodeProc];
    const r1 = await a.do<{ ok: boolean; fence: number }>('register', 'lobby', actors[0]?.pid, { topic: 'chess' });
    expect(r1.ok).toBe(true);
    const r2 = await b.do('register', 'lobby', actors[1]?.pid);
    expect(r2).toEqual({ ok: false, reason: 'already_registered', holder: actors[0] });
    // Cached everywhere.
    for (const n of nodes) expect(await n.do('lookup', 'lobby')).toEqual({ pid: actors[0], fence: r1.fence, value: { topic: 'chess' } });
    // A fenced write by the holder changes the value; the others see it once the invalidation arrives.
    await a.do('updateValue', 'lobby', { topic: 'go' });
    for (const n of [b, c]) {
      await until(async () => ((await n.do<{ value: unknown }>('lookup', 'lobby'))?.value as { topic?: string })?.topic === 'go', 2000, `${n.name} sees the new value`);
    }
    // Released: every node sees it free, and another node takes it under a larger token.
    expect(await a.do('unregister', 'lobby')).toBe(true);
    for (const n of [b, c]) await until(async () => (await n.do('lookup', 'lobby')) === null || (await n.do('lookup', 'lobby')) === undefined, 2000, `${n.name} sees lobby free`);
    const r3 = await b.do<{ ok: boolean; fence: number }>('register', 'lobby', actors[1]?.pid);
    expect(r3.ok).toBe(true);
    expect(r3.fence).toBeGreaterThan(r1.fence);
    for (const n of [a, c]) await until(async () => (await n.do<{ pid: { node: string } } | undefined>('lookup', 'lobby'))?.pid.node === 'n2', 2000, `${n.name} sees n2 hold lobby`);
    // The old holder's token is refused.
    const err = await a.do('updateValue', 'lobby', 'stale', r1.fence).catch((e: { code: string; current: number }) => e) as { code: string; current: number };
    expect(err.code).toBe('ROSTER_ERR_FENCED');
    expect(err.current).toBe(r3.fence);
  });

  it('a name is released when its actor exits', async () => {
    const [a, b] = nodes as [NodeProc, NodeProc];
    const pid = await a.do<{ pid: number }>('spawn', 'short-lived');
    expect((await a.do<{ ok: boolean }>('register', 'ephemeral', pid.pid)).ok).toBe(true);
    expect((await b.do<{ pid: { node: string } }>('lookup', 'ephemeral'))?.pid.node).toBe('n1');
    await a.do('stopActor', pid.pid, 'normal');
    await until(async () => (await b.do('lookup', 'ephemeral')) == null, 2000, 'n2 sees ephemeral released');
  });
});
