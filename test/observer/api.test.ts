/**
 * The observer's JSON API against a small system in a known state: two schedulers, one unique registry
 * of two partitions, four counters and one actor with exactly 20 messages waiting. Also: bad
 * parameters get 400, requests other than GET/HEAD get 405 and change nothing, the token and host
 * rules, and `/healthz` turning 503 when a scheduler's event loop blocks past the stall deadline (last:
 * that scheduler dies).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InvalidOptionError, Registry, Runtime, call, cast, ref, spawn, via, type Pid } from '../../dist/src/index.js';
import { Observer } from '../../dist/src/observer/index.js';
import type { RegistryRow, SchedulerRow, TimelineEvent, TopicRow } from '../../dist/src/observer/index.js';

const kB = new URL('../../dist/test/fixtures/observer-actors.js', import.meta.url).href;
const kStallMs = 500;

let rt: Runtime;
let names: Registry;
let obs: Observer;
let holder: Pid;
const counters: Pid[] = [];
const topics: TopicRow[] = [{ topic: 'rooms', subscribers: 3, publishes: 0 }];

async function get(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const r = await fetch(new URL(path, obs.url), init);
  const text = await r.text();
  return { status: r.status, body: text === '' ? null : (JSON.parse(text) as unknown), headers: r.headers };
}

/** Polls `fn` (bounded) until it returns a value that is not undefined. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  names = Registry.create({ keys: 'unique', name: 'obs-names', partitions: 2 });
  rt = await Runtime.start({ schedulers: 2, registries: [names as unknown as Registry<never>], coordinator: { heartbeatMs: 50, stallMs: kStallMs } });
  for (let i = 0; i < 4; i++) counters.push(await spawn(ref(kB, 'Counter'), null, { name: via(names, `c${i}`), scheduler: i % 2 }));
  holder = await spawn(ref(kB, 'Holder'), null, { name: via(names, 'holder'), scheduler: 1 });
  cast(holder, 'hold');
  for (let i = 0; i < 20; i++) cast(holder, i);
  obs = await Observer.start({
    runtime: rt, stallMs: kStallMs, intervalMs: 200,
    sources: {
      supervisors: () => [{ name: 'rooms-sup', strategy: 'one_for_one', children: 4, restarts: 1, intensityLeft: 2, maxRestarts: 3, periodMs: 5000 }],
      topics: () => topics,
    },
  });
  for (let i = 0; i < 40; i++) await call(counters[i % 4] as Pid, 0);
});

afterAll(async () => {
  await obs?.stop();
  await rt?.stop();
  names?.close();
});

describe('endpoints against known state', () => {
  test('/api/schedulers: both schedulers, their actors, the deepest mailbox, call latency', async () => {
    const rows = await until('holder as deepest mailbox', async () => {
      const r = (await get('/api/schedulers')).body as SchedulerRow[];
      return r[1]?.top[0]?.depth === 20 && r.reduce((a, x) => a + x.calls, 0) === 40 ? r : undefined;
    });
    expect(rows.map((r) => r.index)).toEqual([0, 1]);
    expect(rows.map((r) => r.threadId)).toEqual([rt.worker(0).threadId, rt.worker(1).threadId]);
    expect(rows.every((r) => r.state === 'alive' && r.heartbeatAgeMs < kStallMs && r.stallMs === kStallMs)).toBe(true);
    expect(rows.map((r) => r.actors)).toEqual(rt.stats().map((s) => s.actors));
    expect(rows[0]?.actors).toBe(2);
    expect(rows[1]?.actors).toBe(3);
    expect(rows[1]?.depth).toBe(20);
    expect(rows[1]?.top).toEqual([{ pid: holder, depth: 20 }]);
    // 40 calls were served in the last 10 s, half on each scheduler.
    expect(rows.map((r) => r.calls)).toEqual([20, 20]);
    expect(rows[0]?.callP50Us).toBeGreaterThan(0);
    expect(rows[0]?.callP99Us).toBeGreaterThanOrEqual(rows[0]?.callP50Us as number);
  });

  test('/api/registries: count, partitions and entries per owner thread match the registry', async () => {
    const [reg] = (await get('/api/registries')).body as RegistryRow[];
    expect(reg?.name).toBe('obs-names');
    expect(reg?.kind).toBe('unique');
    expect(reg?.count).toBe(names.count());
    expect(reg?.count).toBe(5);
    const stats = names.stats();
    expect(reg?.partitions.map((p) => p.entries)).toEqual(stats.map((s) => s.live));
    expect(reg?.partitions.map((p) => p.capacity)).toEqual(stats.map((s) => s.capacity));
    expect(reg?.bytes).toBe(stats.reduce((a, s) => a + s.bytes, 0));
    const owners = new Map<string, number>();
    for (const p of reg?.partitions ?? []) for (const o of p.owners) owners.set(o.thread, (owners.get(o.thread) ?? 0) + o.entries);
    expect(Object.fromEntries(owners)).toEqual({ 'scheduler 0': 2, 'scheduler 1': 3 });
    expect(reg?.history.at(-1)?.[1]).toBe(5);
  });

  test('/api/actors: sort, order, filter, limit', async () => {
    const all = (await get('/api/actors?sort=mailbox&order=desc')).body as { total: number; actors: Array<{ pid: Pid; mailbox: number; names: string[]; behaviour: string; scheduler: number }> };
    expect(all.total).toBe(5);
    expect(all.actors[0]).toMatchObject({ pid: holder, mailbox: 20, names: ['obs-names:holder'], behaviour: 'Holder', scheduler: 1 });
    const asc = (await get('/api/actors?sort=pid&order=asc')).body as typeof all;
    expect(asc.actors.map((a) => a.pid)).toEqual([...counters, holder].sort((a, b) => a - b));
    const f = (await get('/api/actors?filter=c2')).body as typeof all & { matched: number };
    expect(f.matched).toBe(1);
    expect(f.actors[0]?.pid).toBe(counters[2]);
    expect(((await get('/api/actors?limit=2')).body as typeof all).actors).toHaveLength(2);
  });

  test('/api/supervisors and /api/topics come from their providers', async () => {
    expect((await get('/api/supervisors')).body).toEqual({
      rows: [{ name: 'rooms-sup', strategy: 'one_for_one', children: 4, restarts: 1, intensityLeft: 2, maxRestarts: 3, periodMs: 5000 }],
    });
    topics[0] = { topic: 'rooms', subscribers: 3, publishes: 1000 };
    const t = await until('a publish rate', async () => {
      const b = (await get('/api/topics')).body as { rows: Array<{ publishesPerSec: number | null; publishes: number }> };
      return b.rows[0]?.publishes === 1000 && (b.rows[0]?.publishesPerSec ?? 0) > 0 ? b : undefined;
    });
    expect(t.rows[0]).toMatchObject({ topic: 'rooms', subscribers: 3 });
  });

  test('/api/timeline answers events (none yet), /healthz 200, unknown paths 404', async () => {
    expect((await get('/api/timeline')).body).toEqual([]);
    expect(await get('/healthz')).toMatchObject({ status: 200, body: { status: 'ok', reasons: [] } });
    expect((await get('/nope')).status).toBe(404);
  });
});

describe('bad requests', () => {
  test.each([
    ['/api/actors?sort=bogus', /sort must be one of/],
    ['/api/actors?order=up', /order must be asc or desc/],
    ['/api/actors?limit=0', /limit must be an integer/],
    ['/api/actors?limit=abc', /limit must be an integer/],
    ['/api/actors?limit=1e3', /limit must be an integer/],
    ['/api/actors?colour=red', /unknown parameter "colour"/],
    ['/api/schedulers?x=1', /unknown parameter "x"; this endpoint takes none/],
    ['/api/timeline?since=-1', /since must be an integer/],
    ['/api/timeline?limit=0', /limit must be an integer/],
    ['/healthz?verbose=1', /unknown parameter "verbose"/],
    ['/page.js?x=1', /unknown parameter "x"; this endpoint takes none/],
  ])('%s → 400', async (path, message) => {
    const r = await get(path);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    expect((r.body as { error: string }).error).toMatch(message);
  });

  test('POST, PUT, DELETE and PATCH get 405 and change nothing', async () => {
    const before = { count: names.count(), actors: (await get('/api/actors?sort=pid')).body as { actors: unknown[] }, stats: rt.stats().map((s) => s.actors) };
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const path of ['/', '/api/actors', '/api/schedulers', '/api/registries', '/healthz', '/events']) {
        const r = await get(path, { method, body: method === 'DELETE' ? null : JSON.stringify({ stop: holder, register: 'x' }) });
        expect(r.status, `${method} ${path}`).toBe(405);
        expect(r.headers.get('allow')).toBe('GET, HEAD');
      }
    }
    const head = await fetch(new URL('/api/schedulers', obs.url), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(names.count()).toBe(before.count);
    expect(names.whereis('holder')).toBe(holder);
    expect(rt.stats().map((s) => s.actors)).toEqual(before.stats);
    const after = (await get('/api/actors?sort=pid')).body as { actors: Array<{ pid: Pid; handled: number; mailbox: number }> };
    expect(after.actors.map((a) => a.pid)).toEqual((before.actors.actors as Array<{ pid: Pid }>).map((a) => a.pid));
    expect(after.actors.find((a) => a.pid === holder)?.mailbox).toBe(20);
  });

  test('a Host header that is not loopback gets 403 (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(obs.url);
      request({ host: u.hostname, port: u.port, path: '/api/schedulers', headers: { host: 'evil.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end();
    });
    expect(status).toBe(403);
  });
});

describe('providers', () => {
  test('no provider: rows null; a provider that throws or returns what JSON cannot carry: its error, and the observer serves on', async () => {
    const o = await Observer.start({
      registries: [names],
      sources: { supervisors: () => { throw new Error('boom'); }, topics: () => [{ topic: 't', subscribers: 1, publishes: 10n as unknown as number }] },
    });
    const plain = await Observer.start({ registries: [names] });
    try {
      const at = (b: Observer, p: string): Promise<unknown> => fetch(new URL(p, b.url)).then((r) => r.json());
      expect(await at(o, '/api/supervisors')).toEqual({ rows: [], error: 'the provider failed: boom' });
      expect(await at(o, '/api/topics')).toMatchObject({ rows: [], error: expect.stringMatching(/the provider failed/) as unknown });
      expect(await at(plain, '/api/supervisors')).toEqual({ rows: null });
      expect(await at(plain, '/api/topics')).toEqual({ rows: null });
      expect(await at(plain, '/api/schedulers')).toEqual([]);
      expect(await at(plain, '/healthz')).toEqual({ status: 'ok', reasons: [] });
    } finally {
      await o.stop();
      await plain.stop();
    }
  });
});

describe('binding and token', () => {
  test('another address than loopback without a token throws InvalidOptionError', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
      const err = await Observer.start({ host }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).code).toBe('ROSTER_ERR_INVALID_OPTION');
    }
    await expect(Observer.start({ host: '127.0.0.1', token: 'short' })).rejects.toMatchObject({ code: 'ROSTER_ERR_INVALID_OPTION' });
    await expect(Observer.start({ port: 70_000 })).rejects.toMatchObject({ code: 'ROSTER_ERR_INVALID_OPTION' });
  });

  test('with a token, requests without it get 401', async () => {
    const token = 'a-token-of-enough-length';
    const o = await Observer.start({ host: '0.0.0.0', token, registries: [names] });
    try {
      const base = `http://127.0.0.1:${o.port}`;
      expect((await fetch(`${base}/api/registries`)).status).toBe(401);
      expect((await fetch(`${base}/api/registries?token=wrong-token-of-length`)).status).toBe(401);
      expect((await fetch(`${base}/api/registries?token=${token}`)).status).toBe(200);
      const r = await fetch(`${base}/api/registries`, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(200);
      expect(((await r.json()) as RegistryRow[])[0]?.count).toBe(names.count());
    } finally {
      await o.stop();
    }
  });
});

describe('health', () => {
  test('/healthz turns 503 when a scheduler stalls, and the timeline shows the stall and the death', async () => {
    const blocker = await spawn(ref(kB, 'Blocker'), null, { scheduler: 1 });
    expect((await get('/healthz')).status).toBe(200);
    const tid = rt.worker(1).threadId;
    cast(blocker, { blockMs: kStallMs * 4 });
    const h = await until('503 from /healthz', async () => {
      const r = await get('/healthz');
      return r.status === 503 ? r : undefined;
    });
    expect((h.body as { status: string }).status).toBe('unhealthy');
    expect((h.body as { reasons: string[] }).reasons.join('\n')).toMatch(new RegExp(`scheduler 1 \\(thread ${tid}\\)`));
    expect((h.body as { reasons: string[] }).reasons.join('\n')).not.toMatch(/scheduler 0/);
    const events = await until('stall and death on the timeline', async () => {
      const ev = (await get('/api/timeline')).body as TimelineEvent[];
      return ev.some((e) => e.kind === 'stall') && ev.some((e) => e.kind === 'death' && e.subject === 'scheduler 1') ? ev : undefined;
    });
    expect(events.find((e) => e.kind === 'death')?.reason).toBe('stalled');
    // Paging forward, one event a page: the first `limit` after `since`, oldest first, no gap.
    const paged: number[] = [];
    for (let since = 0; ; ) {
      const page = (await get(`/api/timeline?since=${since}&limit=1`)).body as TimelineEvent[];
      if (page.length === 0) break;
      expect(page.length).toBe(1);
      since = (page[0] as TimelineEvent).seq;
      paged.push(since);
    }
    expect(paged.slice(0, events.length)).toEqual(events.map((e) => e.seq));
    expect(paged).toEqual([...paged].sort((a, b) => a - b));
    const rows = (await get('/api/schedulers')).body as SchedulerRow[];
    expect(rows[1]).toMatchObject({ state: 'dead', reason: 'stalled', actors: 0 });
    expect(rows[0]?.state).toBe('alive');
    expect((await get('/healthz')).status).toBe(503);
  });
});
