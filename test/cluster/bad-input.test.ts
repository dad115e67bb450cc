/**
 * Bad input to the cluster: bad options fail with ROSTER_ERR_INVALID_OPTION before any connection;
 * an unreachable server with ROSTER_ERR_CLUSTER_CONNECT naming its address; a taken node name with
 * ROSTER_ERR_NODE_NAME_TAKEN; bad names, values, messages and targets with typed errors before
 * anything is sent; and malformed frames on a node's channel are dropped and counted, without harm.
 */
import { createClient } from '@redis/client';
import { serialize } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime, ref, spawn, type Pid } from '../../dist/src/index.js';
import { Cluster } from '../../dist/src/cluster/index.js';
import { mulberry32, randInt, seedFromEnv } from '../helpers/prng.js';
import { freePort, rejection, startNode, startRedis, stopNodes, type NodeProc, type RedisServer } from './kit.js';

const seed = seedFromEnv();
const kLog = ref(new URL('../../dist/test/fixtures/cluster-actors.js', import.meta.url).href, 'Log');

describe(`cluster bad input (ROSTER_SEED=${seed})`, () => {
  let redis: RedisServer;
  let rt: Runtime;
  let here: Cluster;
  let actor: Pid;
  const nodes: NodeProc[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    rt = await Runtime.start({ schedulers: 1, coordinator: { stallMs: 30_000 } });
    here = await Cluster.join({ url: redis.url, node: 'here', heartbeatMs: 100, leaseMs: 3000 });
    actor = await spawn(kLog, 'here');
  });

  afterAll(async () => {
    await stopNodes(nodes);
    await here?.leave();
    await rt?.stop();
    await redis?.stop();
  });

  it('bad options: ROSTER_ERR_INVALID_OPTION, before connecting', async () => {
    const url = redis.url;
    const bad: unknown[] = [
      undefined, null, 'x', {}, { url }, { url, node: '' }, { url, node: 'a b' }, { url, node: 'x'.repeat(129) },
      { url, node: 'n', extra: 1 }, { url: 42, node: 'n' }, { url: 'http://127.0.0.1:6379', node: 'n' }, { url: 'not a url', node: 'n' },
      { node: 'n' }, { url, node: 'n', heartbeatMs: 0 }, { url, node: 'n', heartbeatMs: 1.5 }, { url, node: 'n', heartbeatMs: 100, leaseMs: 150 },
      { url, node: 'n', namespace: 'a:b' }, { url, node: 'n', namespace: '' }, { url, node: 'n', engine: {} },
      { url, node: 'n', sweepMs: -1 }, { url, node: 'n', connectTimeoutMs: 'soon' },
    ];
    for (const o of bad) {
      const err = await rejection(Cluster.join(o as never));
      expect(err.code, JSON.stringify(o)).toBe('ROSTER_ERR_INVALID_OPTION');
    }
  });

  it('an unreachable server: ROSTER_ERR_CLUSTER_CONNECT with the address', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const t0 = Date.now();
    const err = await rejection(Cluster.join({ url, node: 'lonely', connectTimeoutMs: 1000 }));
    expect(err.code).toBe('ROSTER_ERR_CLUSTER_CONNECT');
    expect((err as { address?: string }).address).toBe(url);
    expect(err.message).toContain(url);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a node name a live member uses: ROSTER_ERR_NODE_NAME_TAKEN', async () => {
    const err = await rejection(Cluster.join({ url: redis.url, node: 'here' }));
    expect(err.code).toBe('ROSTER_ERR_NODE_NAME_TAKEN');
  });

  it('bad names, values, messages, targets and timeouts: typed errors, nothing sent', async () => {
    const code = async (p: () => Promise<unknown>) => (await rejection(p())).code;
    expect(await code(() => here.register('', actor))).toBe('ROSTER_ERR_INVALID_KEY');
    expect(await code(() => here.register(42 as never, actor))).toBe('ROSTER_ERR_INVALID_KEY');
    expect(await code(() => here.register('x'.repeat(1025), actor))).toBe('ROSTER_ERR_INVALID_KEY');
    expect(await code(() => here.register('v', actor, { f: () => 1 }))).toBe('ROSTER_ERR_INVALID_VALUE');
    expect(await code(() => here.register('p', -1))).toBe('ROSTER_ERR_INVALID_OPTION');
    expect(await code(() => here.register('p', 'pid' as never))).toBe('ROSTER_ERR_INVALID_OPTION');
    expect(await here.lookup('v')).toBeUndefined();
    expect(await here.lookup('p')).toBeUndefined();
    const remote = { node: 'elsewhere', incarnation: 1, pid: 5 };
    expect(await code(() => here.call(remote, { f: () => 1 }))).toBe('ROSTER_ERR_INVALID_MESSAGE');
    expect(await code(() => here.cast(remote, Symbol('s')))).toBe('ROSTER_ERR_INVALID_MESSAGE');
    expect(await code(() => here.call({ node: 1 } as never, 'x'))).toBe('ROSTER_ERR_INVALID_OPTION');
    expect(await code(() => here.call(42 as never, 'x'))).toBe('ROSTER_ERR_INVALID_OPTION');
    expect(await code(() => here.call(remote, 'x', { timeout: -1 }))).toBe('ROSTER_ERR_INVALID_OPTION');
    expect(await code(() => here.call({ name: '' }, 'x'))).toBe('ROSTER_ERR_INVALID_KEY');
    expect(await code(() => here.publish('', 'x'))).toBe('ROSTER_ERR_INVALID_KEY');
    expect(await code(() => here.publish('t', () => 1))).toBe('ROSTER_ERR_INVALID_MESSAGE');
    expect(await code(() => here.updateValue('v', 1, { fence: -3 }))).toBe('ROSTER_ERR_INVALID_OPTION');
    // A node that is not listening: typed, at once.
    expect(await code(() => here.call(remote, 'x'))).toBe('ROSTER_ERR_NODE_DOWN');
    expect(await here.cast(remote, 'x')).toBe(false);
  });

  it('malformed frames on a node\'s channel are dropped and counted; the node keeps working', async () => {
    const n1 = await startNode(redis.url, 'n1', { heartbeatMs: 100, leaseMs: 3000 });
    nodes.push(n1);
    const g = await n1.do<{ node: string; incarnation: number; pid: number }>('spawn', 'n1-actor');
    await n1.do('subscribe', 'topic', g.pid);
    const rng = mulberry32(seed);
    const garbage: Buffer[] = [
      Buffer.from('not a frame'),
      Buffer.alloc(0),
      Buffer.from(Array.from({ length: 64 }, () => randInt(rng, 256))),
      serialize(null),
      serialize({ t: 'call', from: 'x', finc: 1, to: 'pid', tinc: 1, ref: 1, ms: 100, msg: 1 }),
      serialize({ t: 'cast', from: 'x', finc: 1, to: g.pid, msg: 1 }),
      serialize({ t: 'reply', ref: 'one', ok: true, value: 1 }),
      serialize({ t: 'unknown' }),
    ];
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      for (const b of garbage) expect(await raw.sendCommand(['PUBLISH', 'roster:in:n1', b])).toBe(1);
      expect(await raw.sendCommand(['SPUBLISH', 'roster:t:topic', Buffer.from('junk')])).toBe(1);
    } finally {
      await raw.close();
    }
    // A call from another node after the garbage (same channel, later) is answered: the frames before it were handled.
    expect(await here.call(g, { echo: 'still here' })).toBe('still here');
    const stats = await n1.do<{ malformed: number }>('stats');
    expect(stats.malformed).toBe(garbage.length + 1);
    expect((await n1.do<{ infos: unknown[] }>('local', g.pid, 'log')).infos).toEqual([]);
  });
});
