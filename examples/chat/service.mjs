// The chat service: `runChat(options)` starts a runtime, a few thousand users and a few hundred rooms,
// lets them talk for a few seconds, kills one scheduler thread midway, then stops the traffic and checks
// that nothing was lost, duplicated or reordered. main.mjs is its command line; the benchmark imports it.
//
// Three children, as in Elixir: a unique registry for names (`user:<id>`, `room:<id>`), a duplicate
// registry for the event bus (topics `room:<id>`), and two dynamic supervisors, 'users' and 'rooms'.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamicSupervisor, Registry, Runtime, call, ref, send, spawn, via } from 'roster-threads';
import { Problems, checkPosts, checkRegistries } from './check.mjs';
import { merge, newHistogram, quantile, samples } from './histogram.mjs';
import { prng, roomsOf } from './traffic.mjs';

const kUser = ref(new URL('./user.mjs', import.meta.url), 'User');
const kMeter = ref(new URL('./meter.mjs', import.meta.url), 'Meter');

/** Options of `runChat`, with their defaults. */
export const defaults = Object.freeze({
  schedulers: availableParallelism(),
  users: 3000,
  rooms: 300,
  seconds: 6,
  kill: true,
  seed: 1,
  /** Rooms each user joins. */
  perUser: 3,
  /** Mean time between a user's actions (ms), plus twice the latency of its last call. */
  thinkMs: 1000,
  /** Share of actions that are posts (the rest read a room's history). */
  postShare: 0.8,
  /** How long the final drain may take before the check fails (ms). */
  drainMs: 20_000,
  quiet: false,
  /** Called with `{ runtime, registries, supervisors }` once the runtime runs; may return a function to call before it stops. */
  onStart: null,
});

const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** Runs `fn(i)` for i in 0..n-1, at most `limit` at a time; resolves with the settled results. */
async function pool(n, limit, fn) {
  const out = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      try {
        out[i] = { ok: true, value: await fn(i) };
      } catch (err) {
        out[i] = { ok: false, err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  return out;
}

/** A promise that rejects after `ms` with `what`, for bounded waits. */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * One Meter actor per scheduler (a replaced scheduler gets a new one). Totals add up the last reading
 * of every meter that ever ran, so a scheduler's death loses at most one interval of its counts.
 */
class Meters {
  #live = new Map(); // scheduler index → { pid, last }
  #retired = { posts: 0, deliveries: 0, calls: 0, failed: 0 };

  async start(index) {
    const pid = await spawn(kMeter, null, { scheduler: index });
    this.#live.set(index, { pid, last: { posts: 0, deliveries: 0, calls: 0, failed: 0 } });
  }

  async read() {
    await Promise.all([...this.#live].map(async ([index, m]) => {
      try {
        const { loop, ...last } = await call(m.pid, 'read', { timeout: 2000 });
        m.last = last;
        m.loop = loop;
      } catch {
        // Its scheduler died: keep its last reading.
        if (this.#live.get(index) === m) this.#live.delete(index);
        for (const k of Object.keys(this.#retired)) this.#retired[k] += m.last[k];
      }
    }));
    const total = { ...this.#retired };
    for (const { last } of this.#live.values()) for (const k of Object.keys(total)) total[k] += last[k];
    total.loopMaxMs = Math.max(0, ...[...this.#live.values()].map((m) => m.loop?.maxMs ?? 0));
    return total;
  }

  /** A scheduler at `index` was replaced: its old meter died with it. */
  replaced(index) {
    const m = this.#live.get(index);
    if (m !== undefined) for (const k of Object.keys(this.#retired)) this.#retired[k] += m.last[k];
    this.#live.delete(index);
    return this.start(index);
  }
}

/**
 * Scheduler deaths, from the runtime's events: the planned kill, and any other (the coordinator
 * terminates a scheduler whose event loop stays blocked past its `stallMs`). A death is settled once
 * its children run again (`recovered`) and its replacement thread is up (`schedulerUp`).
 */
class Deaths {
  list = [];
  #pending = new Map(); // index → death
  #waiters = new Set();
  #watchers = new Set();

  constructor(runtime, meters, clock) {
    runtime.on((e) => {
      if (e.type === 'schedulerDown') {
        const d = { index: e.index, reason: e.reason, atMs: clock(), children: e.children, recoveredMs: null, upMs: null };
        this.list.push(d);
        this.#pending.set(e.index, d);
        for (const w of this.#watchers) w(d);
        return;
      }
      const d = this.#pending.get(e.index);
      if (d === undefined) return;
      if (e.type === 'recovered') d.recoveredMs ??= e.ms;
      if (e.type === 'schedulerUp') {
        d.upMs = e.ms;
        meters.replaced(e.index).catch(() => {}); // that one died too: its own death is counted
      }
      if (d.recoveredMs !== null && d.upMs !== null) {
        this.#pending.delete(e.index);
        if (this.#pending.size === 0) for (const w of this.#waiters) w();
      }
    });
  }

  /** The next death of scheduler `index`, once the runtime reports it. */
  next(index) {
    return new Promise((resolve) => {
      const w = (d) => {
        if (d.index !== index) return;
        this.#watchers.delete(w);
        resolve(d);
      };
      this.#watchers.add(w);
    });
  }

  /** Resolves once every death so far is settled; rejects after `ms`. */
  settled(ms) {
    if (this.#pending.size === 0) return Promise.resolve();
    let done;
    const p = new Promise((resolve) => this.#waiters.add((done = resolve)));
    return within(p, ms, `recovery from the death of scheduler ${[...this.#pending.keys()].join(', ')}`).finally(() => this.#waiters.delete(done));
  }
}

/**
 * Runs the chat service and resolves with its figures and the verdict of its consistency check:
 * `{ postsPerSec, deliveriesPerSec, callP50Us, callP99Us, restarts, recoveryMs, consistent, problems, … }`.
 * Prints a progress line while it runs unless `quiet`.
 */
export async function runChat(options = {}) {
  const o = { ...defaults, ...options };
  for (const k of ['schedulers', 'users', 'rooms', 'perUser']) {
    if (!Number.isSafeInteger(o[k]) || o[k] < 1) throw new RangeError(`${k} must be a positive integer, got ${o[k]}`);
  }
  for (const k of ['seconds', 'thinkMs', 'drainMs']) if (!(o[k] > 0)) throw new RangeError(`${k} must be > 0, got ${o[k]}`);
  const names = Registry.create({ keys: 'unique', name: 'names', partitions: 8 });
  const bus = Registry.create({ keys: 'duplicate', name: 'bus' });
  const runtime = await Runtime.start({ schedulers: o.schedulers, registries: [names, bus] });
  let stopHook = null;
  try {
    stopHook = (await o.onStart?.({ runtime, registries: [names, bus], supervisors: ['users', 'rooms'].map((n) => new DynamicSupervisor(n)) })) ?? null;
    return await drive(runtime, names, bus, o);
  } finally {
    await stopHook?.();
    await runtime.stop();
    names.close();
    bus.close();
  }
}

async function drive(runtime, names, bus, o) {
  const say = o.quiet ? () => {} : (s) => process.stdout.write(s);
  const tty = !o.quiet && process.stdout.isTTY === true;
  const users = new DynamicSupervisor('users');
  const rooms = new DynamicSupervisor('rooms');
  const meters = new Meters();
  let t0 = performance.now();
  const deaths = new Deaths(runtime, meters, () => performance.now());
  for (let i = 0; i < o.schedulers; i++) await meters.start(i);

  // Users start (and join their rooms, which start on demand) at most 64 at a time. get-or-start is
  // idempotent: a start whose scheduler died meanwhile is simply asked for again.
  const started = await pool(o.users, 64, async (id) => {
    const spec = { behaviour: kUser, args: { id, rooms: roomsOf(id, o), seed: o.seed, thinkMs: o.thinkMs, postShare: o.postShare } };
    for (let attempt = 1; ; attempt++) {
      try {
        return await users.getOrStart(via(names, `user:${id}`), spec);
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
  });
  const failedStarts = started.filter((r) => !r.ok);
  if (failedStarts.length > 0) throw new Error(`${failedStarts.length} users failed to start: ${failedStarts[0].err.message}`);
  say(`started ${fmt(o.users)} users in ${fmt(performance.now() - t0)} ms (rooms start on demand as they join)\n`);

  // Traffic: on for users restarted from now on (they read the registry's metadata at init), and for
  // everyone now by a `go`. Midway, one scheduler thread is killed.
  names.putMeta('traffic', 'on');
  for (let id = 0; id < o.users; id++) send(via(names, `user:${id}`), 'go');
  t0 = performance.now();
  const base = await meters.read();
  let prev = { at: t0, ...base };
  let kill = null;
  const killAt = o.kill ? t0 + (o.seconds * 1000) / 2 : Infinity;
  let lastLine = 0;
  while (performance.now() - t0 < o.seconds * 1000) {
    await sleep(Math.min(250, Math.max(1, t0 + o.seconds * 1000 - performance.now())));
    const now = performance.now();
    if (kill === null && now >= killAt) {
      // The scheduler hosting the most actors (the first of them, from a seeded start, on a tie).
      const stats = runtime.stats();
      const from = Math.floor(prng(o.seed ^ 0x4b111)() * o.schedulers);
      let index = from;
      for (let k = 0; k < o.schedulers; k++) {
        const i = (from + k) % o.schedulers;
        if ((stats[i]?.actors ?? 0) > (stats[index]?.actors ?? 0)) index = i;
      }
      kill = { index, atMs: now - t0, actors: runtime.stats()[index]?.actors ?? 0, death: null };
      const death = deaths.next(index);
      await runtime.worker(index).terminate();
      kill.death = await within(death, 10_000, `the death of scheduler ${index}`);
      say(`${tty ? '\n' : ''}killed scheduler ${index} at ${((now - t0) / 1000).toFixed(1)} s (${fmt(kill.actors)} actors on it)\n`);
    }
    if (now - prev.at < 500 && now - t0 < o.seconds * 1000) continue;
    const m = await meters.read();
    const dt = (performance.now() - prev.at) / 1000;
    const line = `${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s  posts ${fmt((m.posts - prev.posts) / dt).padStart(6)}/s` +
      `  deliveries ${fmt((m.deliveries - prev.deliveries) / dt).padStart(8)}/s  actors ${fmt(runtime.stats().reduce((s, x) => s + x.actors, 0))}` +
      `  event-loop delay max ${m.loopMaxMs.toFixed(0)} ms`;
    prev = { at: performance.now(), ...m };
    if (tty) say(`\r${line}  `);
    else if (now - lastLine >= 1000) {
      say(`${line}\n`);
      lastLine = now;
    }
  }
  if (tty) say('\n');
  const final = await meters.read();
  const elapsed = (performance.now() - t0) / 1000;

  // Stop the traffic (users restarted from now on stay quiet), then check. A scheduler that dies
  // during the check (a stall, on a very busy machine) spoils it: then it runs again, up to 3 times.
  names.putMeta('traffic', 'off');
  let v;
  for (let attempt = 1; ; attempt++) {
    const n = deaths.list.length;
    try {
      await deaths.settled(30_000);
    } catch (err) {
      v = { problems: new Problems(), reports: [], rows: [], audits: new Map(), checked: {} };
      v.problems.add(err.message);
      break;
    }
    v = await verify(runtime, names, bus, o);
    if (deaths.list.length === n || attempt === 3) break;
    say('a scheduler died during the check: checking again\n');
  }

  const hist = newHistogram();
  const joinHist = newHistogram();
  const errors = {};
  for (const r of v.reports) {
    merge(hist, r.hist);
    merge(joinHist, r.joinHist);
    for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
  }
  const sup = { users: users.stats(), rooms: rooms.stats() };
  return {
    schedulers: o.schedulers, users: o.users, rooms: o.rooms, seconds: o.seconds, seed: o.seed,
    postsPerSec: (final.posts - base.posts) / elapsed,
    deliveriesPerSec: (final.deliveries - base.deliveries) / elapsed,
    callP50Us: quantile(hist, 0.5),
    callP99Us: quantile(hist, 0.99),
    calls: samples(hist),
    joinP50Us: quantile(joinHist, 0.5),
    joinP99Us: quantile(joinHist, 0.99),
    joins: samples(joinHist),
    failedCalls: errors,
    restarts: sup.users.restarts + sup.rooms.restarts,
    recoveryMs: kill?.death?.recoveredMs ?? null,
    killed: kill === null ? null : { index: kill.index, atMs: kill.atMs, actors: kill.actors, children: kill.death?.children ?? null },
    // atMs: since the traffic started (negative: while the users started).
    deaths: deaths.list.map(({ index, reason, atMs, children, recoveredMs }) => ({ index, reason, atMs: atMs - t0, children, recoveredMs })),
    supervisors: sup,
    actorsPerScheduler: v.rows.map((list) => ({
      actors: list.length, users: list.filter((a) => a.behaviour === 'User').length, rooms: list.filter((a) => a.behaviour === 'Room').length,
    })),
    roomsAlive: v.audits.size,
    checked: v.checked,
    consistent: v.problems.size === 0,
    problems: v.problems.toArray(),
  };
}

/** Stops the traffic, waits for every user to receive what it is owed, and checks. */
async function verify(runtime, names, bus, o) {
  const problems = new Problems();
  const userVia = (id) => via(names, `user:${id}`);
  // 1. Each user answers once its tick in progress settled, and posts no more.
  const stopped = await pool(o.users, 512, (id) => call(userVia(id), 'stop', { timeout: 10_000 }));
  stopped.forEach((r, id) => r.ok || problems.add(`user ${id} did not stop: ${r.err.code ?? r.err.message}`));

  // 2. Every room alive: its whole history of this incarnation.
  const audits = new Map();
  const audited = await pool(o.rooms, 256, (room) => (names.whereis(`room:${room}`) === undefined ? null : call(via(names, `room:${room}`), 'audit', { timeout: 10_000 })));
  audited.forEach((r, room) => {
    if (!r.ok) problems.add(`room ${room} did not answer its audit: ${r.err.code ?? r.err.message}`);
    else if (r.value !== null) audits.set(room, { room, ...r.value });
  });

  // 3. Each user answers once it received every post it is owed: a deferred reply, bounded.
  const t = performance.now();
  const drained = await pool(o.users, 512, (id) => {
    if (!stopped[id].ok) return null;
    const want = roomsOf(id, o).filter((r) => audits.has(r)).map((r) => [r, audits.get(r).pid, audits.get(r).seq]);
    return call(userVia(id), { drain: want }, { timeout: o.drainMs });
  });
  drained.forEach((r, id) => r.ok || problems.add(`user ${id} did not receive every post it was owed within ${o.drainMs} ms: ${r.err.code ?? r.err.message}`));
  const drainMs = performance.now() - t;

  // 4. What every user saw, and what every scheduler hosts.
  const reported = await pool(o.users, 512, (id) => (stopped[id].ok ? call(userVia(id), 'report', { timeout: 10_000 }) : null));
  const reports = reported.filter((r) => r.ok && r.value !== null).map((r) => r.value);
  const rows = await Promise.all(Array.from({ length: runtime.schedulers }, (_, i) => runtime.control(i).listActors()));
  const posts = checkPosts(audits, reports, problems);
  const regs = checkRegistries(rows.flat(), names, bus, problems);
  return { problems, reports, rows, audits, checked: { ...posts, ...regs, users: reports.length, drainMs } };
}
