/**
 * A node paused (SIGSTOP) past its lease: it is declared down, another node takes its names, and when
 * it runs again (SIGCONT) it learns it lost them: its actor receives `name_conflict` naming the winner,
 * its writes carrying the old fencing tokens are refused (`ROSTER_ERR_FENCED`), and it rejoins under a
 * new incarnation. A third node asks both, throughout, which names they believe they hold: never the
 * same name from both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, startRedis, stopNodes, until, type NodeProc, type RedisServer } from './kit.js';

const kTiming = { heartbeatMs: 100, leaseMs: 2000 };

interface G { node: string; incarnation: number; pid: number }

describe('cluster pause past the lease', () => {
  let redis: RedisServer;
  let nodes: NodeProc[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    nodes = await Promise.all(['p1', 'p2', 'p3'].map((n) => startNode(redis.url, n, kTiming)));
  });

  afterAll(async () => {
    await stopNodes(nodes);
    await redis?.stop();
  });

  it('the paused node loses its names to another, learns it, and its fenced writes are refused', async () => {
    const [p1, p2, p3] = nodes as [NodeProc, NodeProc, NodeProc];
    const owner = await p1.do<G>('spawn', 'owner');
    const names = Array.from({ length: 20 }, (_, i) => `pz:${i}`);
    const fences = new Map<string, number>();
    for (const n of names) fences.set(n, (await p1.do<{ fence: number }>('register', n, owner.pid)).fence);

    // The observer: p3 asks p1 and p2 at the same moment which names they believe they hold.
    let observing = true;
    let rounds = 0;
    const seen = { p1: 0, p2: 0 };
    const both: string[] = [];
    const observer = (async () => {
      while (observing && p3.proc.connected) {
        const [c1, c2] = await Promise.all(['p1', 'p2'].map((n) => p3.do<string[]>('claims', n, 300).catch(() => [] as string[])));
        const s2 = new Set(c2);
        for (const n of c1 ?? []) if (s2.has(n)) both.push(n);
        if ((c1 ?? []).length > 0) seen.p1++;
        if ((c2 ?? []).length > 0) seen.p2++;
        rounds++;
      }
    })();
    try {
      await until(() => seen.p1 > 0, 5000, 'the observer saw p1 claim its names');

      p1.kill('SIGSTOP');
      await p3.waitEvent((e) => e.event === 'down' && e.node === 'p1', 10_000, 'p1 declared down');
      const taker = await p2.do<G>('spawn', 'taker');
      expect((await p2.do<string[]>('registerMany', names, taker.pid)).sort()).toEqual([...names].sort());
      await until(() => seen.p2 > 0, 5000, 'the observer saw p2 claim the names');

      p1.kill('SIGCONT');
      const lost = await p1.waitEvent((e) => e.event === 'lost', 10_000, 'p1 learns it lost its lease');
      expect(lost.previous).toBe(owner.incarnation);
      expect(await p1.do('owns', 'pz:0')).toBe(false);
      // Its actor got one name_conflict per name, naming the winner.
      await until(async () => (await p1.do<{ infos: unknown[] }>('local', owner.pid, 'log')).infos.length >= names.length, 5000, 'name_conflict messages');
      const infos = (await p1.do<{ infos: Array<{ type: string; name: string; fence: number; winner: G | null }> }>('local', owner.pid, 'log')).infos;
      for (const n of names) {
        const c = infos.find((i) => i.type === 'name_conflict' && i.name === n);
        expect(c, `name_conflict for ${n}`).toBeDefined();
        expect(c?.fence).toBe(fences.get(n));
        expect(c?.winner).toEqual(taker);
      }
      // Writes with the old tokens are refused by Redis; the winner's value is untouched.
      for (const n of names.slice(0, 5)) {
        const err = await p1.do('updateValue', n, 'stale write', fences.get(n)).catch((e: { code: string; fence: number; current: number }) => e) as { code: string; fence: number; current: number };
        expect(err.code).toBe('ROSTER_ERR_FENCED');
        expect(err.fence).toBe(fences.get(n));
        expect(err.current).toBeGreaterThan(fences.get(n) as number);
        expect((await p3.do<{ pid: G; value: unknown }>('lookup', n))).toMatchObject({ pid: taker, value: undefined });
      }
      // It rejoined under a new incarnation, seen by the others.
      await p3.waitEvent((e) => e.event === 'up' && e.node === 'p1' && e.incarnation !== owner.incarnation, 5000, 'p1 rejoined');

    } finally {
      observing = false;
      await observer;
    }
    expect(both, `names claimed by both p1 and p2 in one observation (${rounds} rounds)`).toEqual([]);
  });
});
