/**
 * Cluster pub-sub over 3 node processes: subscribers spread over the nodes each receive every message
 * published on their topic exactly once, in publish order per publisher; a publish goes to each other
 * node with subscribers as one message; a subscriber that exits stops receiving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, randInt, seedFromEnv } from '../helpers/prng.js';
import { startNode, startRedis, stopNodes, until, type NodeProc, type RedisServer } from './kit.js';

const seed = seedFromEnv();
const kTiming = { heartbeatMs: 100, leaseMs: 3000 };

interface G { node: string; incarnation: number; pid: number }
type Msg = { from: string; i: number } | { end: string };

describe(`cluster pub-sub (ROSTER_SEED=${seed})`, () => {
  let redis: RedisServer;
  let nodes: NodeProc[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    nodes = await Promise.all(['s1', 's2', 's3'].map((n) => startNode(redis.url, n, kTiming)));
  });

  afterAll(async () => {
    await stopNodes(nodes);
    await redis?.stop();
  });

  it('every subscriber on every node gets each message exactly once, in order per publisher', async () => {
    const rng = mulberry32(seed);
    const subs: Array<{ node: NodeProc; g: G }> = [];
    for (const n of nodes) {
      for (let k = 0; k < 2; k++) {
        const g = await n.do<G>('spawn', `${n.name}-sub${k}`);
        await n.do('subscribe', 'chat', g.pid);
        subs.push({ node: n, g });
      }
    }
    const outsider = await (nodes[2] as NodeProc).do<G>('spawn', 'outsider');
    await (nodes[2] as NodeProc).do('subscribe', 'other', outsider.pid);

    const counts = nodes.map(() => 20 + randInt(rng, 60));
    const results = await Promise.all(nodes.map(async (n, j) => {
      const rs: Array<{ local: number; nodes: number }> = [];
      for (let i = 0; i < (counts[j] as number); i++) rs.push(await n.do('publish', 'chat', { from: n.name, i }));
      rs.push(await n.do('publish', 'chat', { end: n.name }));
      return rs;
    }));
    // Two local subscribers, two other nodes with subscribers: one message each.
    for (const rs of results) for (const r of rs) expect(r).toEqual({ local: 2, nodes: 2 });

    const infosOf = async (s: { node: NodeProc; g: G }) => (await s.node.do<{ infos: Msg[] }>('local', s.g.pid, 'log')).infos;
    // Pub-sub gives no completion signal: wait (bounded) for each publisher's end marker everywhere.
    for (const s of subs) {
      await until(async () => (await infosOf(s)).filter((m) => 'end' in m).length === nodes.length, 10_000, `${s.node.name} subscriber got every end marker`);
    }
    for (const s of subs) {
      const infos = await infosOf(s);
      nodes.forEach((n, j) => {
        const got = infos.filter((m): m is { from: string; i: number } => 'from' in m && m.from === n.name).map((m) => m.i);
        expect(got).toEqual(Array.from({ length: counts[j] as number }, (_, i) => i));
      });
    }
    expect((await (nodes[2] as NodeProc).do<{ infos: unknown[] }>('local', outsider.pid, 'log')).infos).toEqual([]);
  });

  it('a subscriber that exits stops receiving; a node without subscribers is not sent the message', async () => {
    const [s1, s2] = nodes as [NodeProc, NodeProc];
    const g = await s2.do<G>('spawn', 'lonely');
    await s2.do('subscribe', 'solo', g.pid);
    expect(await s1.do('publish', 'solo', 'hello')).toEqual({ local: 0, nodes: 1 });
    await until(async () => (await s2.do<{ infos: unknown[] }>('local', g.pid, 'log')).infos.length === 1, 5000, 'lonely got hello');
    await s2.do('stopActor', g.pid, 'normal');
    // Its node unsubscribes once its last subscriber exits: nothing is sent to it.
    await until(async () => (await s1.do<{ nodes: number }>('publish', 'solo', 'anyone?')).nodes === 0, 5000, 'no node subscribed to solo');
  });
});
