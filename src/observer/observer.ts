/**
 * The observer: a live page and a JSON API over a running Roster system, served by `node:http` from
 * the thread that owns the runtime (the main thread). What lives where:
 * - observer.ts (here): `Observer.start` (options, binding rules), the refresh loop, the event stream
 *   and the answers of the API;
 * - sampler.ts: readings of shared memory (scheduler, mailroom and partition counters, heartbeats);
 * - actors.ts: the actors table (the control plane's `listActors()`) and the `/api/actors` query;
 * - timeline.ts: deaths, sweeps, stalls, fences, lock recoveries, restarts and warnings;
 * - server.ts: routes, authorization, read-only enforcement; page.ts: the page; types.ts: the rows.
 *
 * **Cost to the observed system.** Every 100 ms a few atomic loads per scheduler and a scan of the
 * 1024 thread slots; once per refresh (1 s) the registry counters (one load per partition word read)
 * and, only while a page is open or `/api/actors` is asked, one `listActors()` per scheduler: a
 * control-plane message to the scheduler thread, which builds one row per actor (actors themselves
 * receive nothing). Scheduler-side, the counters the page shows cost a `performance.now()` pair per
 * call served and one pass over the actors per non-full batch (already made for the depth total).
 *
 * @module
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { Domain } from '../domain/domain.js';
import { InvalidOptionError, describe } from '../errors.js';
import { Registry } from '../registry/registry.js';
import { Runtime } from '../runtime/runtime.js';
import { activeLedger } from '../runtime/supervisor-ledger.js';
import { ActorTable, parseActorQuery, queryActors } from './actors.js';
import { Sampler } from './sampler.js';
import { handler } from './server.js';
import { ThreadWatch, Timeline, onRosterWarning, onStall } from './timeline.js';
import type { ObserverOptions, ObserverSources, SupervisorRow, TopicRow, TopicRowOut } from './types.js';

/** Actor rows sent with each event-stream snapshot (the deepest mailboxes first); the API serves all. */
const kStreamActors = 2000;
const kTickMs = 100;
/** Bytes an event-stream client may have waiting before it skips refreshes. */
const kMaxBuffered = 4 << 20;

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

function intOption(o: ObserverOptions, name: 'port' | 'stallMs' | 'intervalMs' | 'historySamples', dflt: number, min: number, max: number): number {
  const v = o[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidOptionError(`expected options.${name} to be an integer from ${min} to ${max}, got: ${describe(v)}`);
  }
  return v;
}

/** A section fed by a provider: its rows, null without a provider, or the provider's error. */
interface Section<T> {
  readonly rows: T[] | null;
  readonly error?: string;
}

/** A running observer. Start with `Observer.start`; stop with `stop()`. */
export class Observer {
  /** The page's address, e.g. `http://127.0.0.1:40123/` (without the token). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly #server: Server;
  readonly #sampler: Sampler;
  readonly #actors: ActorTable;
  readonly #timeline: Timeline;
  readonly #watch: ThreadWatch;
  readonly #sources: ObserverSources;
  readonly #clients = new Set<ServerResponse>();
  readonly #stops: Array<() => void> = [];
  readonly #topicPrev = new Map<string, { at: number; publishes: number }>();
  #topics: Section<TopicRowOut> = { rows: null };
  #actorsWanted = 0;
  #intervalMs = 1000;
  #stopped = false;

  private constructor(
    server: Server, host: string, port: number, sampler: Sampler, actors: ActorTable, timeline: Timeline, watch: ThreadWatch, sources: ObserverSources,
  ) {
    this.#server = server;
    this.host = host;
    this.port = port;
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
    this.#sampler = sampler;
    this.#actors = actors;
    this.#timeline = timeline;
    this.#watch = watch;
    this.#sources = sources;
  }

  /**
   * Starts an observer and resolves once it listens. Main thread (the runtime's). Throws
   * `InvalidOptionError` for a bad option, and for a `host` other than loopback without a `token`.
   * Read-only: it answers GET and HEAD only.
   */
  static async start(options: ObserverOptions = {}): Promise<Observer> {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError(`expected options to be an object, got: ${describe(options)}`);
    const o = options;
    const port = intOption(o, 'port', 0, 0, 65535);
    const stallMs = intOption(o, 'stallMs', 1000, 1, 600_000);
    const intervalMs = intOption(o, 'intervalMs', 1000, 100, 10_000);
    const historySamples = intOption(o, 'historySamples', 300, 10, 100_000);
    const host = o.host ?? '127.0.0.1';
    if (typeof host !== 'string' || host === '') throw new InvalidOptionError(`expected options.host to be an address, got: ${describe(host)}`);
    const token = o.token ?? null;
    if (token !== null && (typeof token !== 'string' || token.length < 16)) {
      throw new InvalidOptionError(`expected options.token to be a string of at least 16 characters, got: ${typeof token === 'string' ? `${token.length} characters` : describe(token)}`);
    }
    if (!isLoopback(host) && token === null) {
      throw new InvalidOptionError(
        `binding the observer to ${host} would show the system to every machine that can reach it: pass a token ` +
          '(Observer.start({ host, token })), or keep the default host 127.0.0.1',
      );
    }
    if (o.runtime !== undefined && !(o.runtime instanceof Runtime)) throw new InvalidOptionError(`expected options.runtime to be a Runtime, got: ${describe(o.runtime)}`);
    const given = o.registries ?? [];
    if (!Array.isArray(given) || !given.every((r) => r instanceof Registry)) {
      throw new InvalidOptionError(`expected options.registries to be an array of registries, got: ${describe(given)}`);
    }
    if (o.sources !== undefined && (typeof o.sources !== 'object' || o.sources === null)) throw new InvalidOptionError(`expected options.sources to be an object, got: ${describe(o.sources)}`);
    // Given the runtime and no supervisors source: the runtime's own supervisors (its ledger lives in this thread).
    const ledger = activeLedger();
    const sources: ObserverSources = { ...(ledger !== undefined && o.runtime !== undefined ? { supervisors: () => ledger.rows() } : {}), ...(o.sources ?? {}) };
    for (const k of ['supervisors', 'topics'] as const) {
      if (sources[k] !== undefined && typeof sources[k] !== 'function') throw new InvalidOptionError(`expected options.sources.${k} to be a function, got: ${describe(sources[k])}`);
    }
    // The registries to show: those given, and the runtime's (each once).
    const registries: Array<Registry<unknown>> = [...given];
    for (const h of o.runtime?.handle.registries ?? []) if (!registries.some((r) => r.handle.id === h.id)) registries.push(Registry.attach(h));

    const domain = Domain.current();
    const timeline = new Timeline();
    const sampler = new Sampler({ runtime: o.runtime, registries, domain, timeline, stallMs, historySamples });
    await sampler.init();
    const watch = new ThreadWatch(domain, timeline, sampler.nameOf);
    // A scheduler's death is declared in this thread, in its 'exit' (supervise's listener runs first):
    // scanning right after it times the death exactly, and the sweep from it.
    const unlisten: Array<() => void> = [];
    for (const { index, inc } of sampler.schedulerIncs()) {
      const w = o.runtime?.worker(index);
      if (w === undefined) continue;
      const died = (): void => {
        sampler.exited(index);
        watch.died(inc);
      };
      const scan = (): void => watch.scan();
      w.prependOnceListener('exit', died);
      w.once('exit', scan);
      unlisten.push(() => {
        w.off('exit', died);
        w.off('exit', scan);
      });
    }
    const actors = new ActorTable(o.runtime);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      watch.stop();
      for (const u of unlisten) u();
      throw err;
    });
    const address = server.address();
    const observer = new Observer(server, host, typeof address === 'object' && address !== null ? address.port : port, sampler, actors, timeline, watch, sources);
    server.on('request', handler(observer.#data(), token, isLoopback(host)));
    observer.#stops.push(...unlisten);
    observer.#run(intervalMs);
    return observer;
  }

  #run(intervalMs: number): void {
    this.#intervalMs = intervalMs;
    const tick = setInterval(() => {
      this.#sampler.tick();
      this.#watch.scan();
    }, kTickMs);
    tick.unref();
    const refresh = setInterval(() => void this.#refresh(), intervalMs);
    refresh.unref();
    this.#stops.push(() => clearInterval(tick), () => clearInterval(refresh));
    this.#stops.push(onStall((threadId, blockedMs, stallMs) => {
      this.#sampler.stallMs = stallMs;
      this.#timeline.add('stall', this.#sampler.nameOfThread(threadId), `event loop blocked for ${blockedMs} ms, past stallMs (${stallMs} ms): the coordinator asked for its termination`, 'stalled');
    }));
    this.#stops.push(onRosterWarning((code, message) => this.#timeline.add('warning', 'process', message, code)));
    this.#sampler.refresh();
    this.#topics = this.#readTopics();
  }

  async #refresh(): Promise<void> {
    try {
      await this.#refreshOnce();
    } catch (err) {
      // The observer must never take the observed process down.
      this.#timeline.add('warning', 'observer', `refresh failed: ${err instanceof Error ? err.message : String(err)}`, 'ROSTER_OBSERVER');
    }
  }

  async #refreshOnce(): Promise<void> {
    if (this.#stopped) return;
    this.#sampler.refresh();
    this.#topics = this.#readTopics();
    if (this.#clients.size > 0 || Date.now() - this.#actorsWanted < 5000) {
      // A listing waits for the schedulers' answers; one that takes longer than half a refresh (a
      // stalled or dying scheduler) goes on in the background, and the page gets its rows next time.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#actors.refresh(this.#sampler.schedulerIncs()), new Promise<void>((r) => (timer = setTimeout(r, this.#intervalMs / 2)))]);
      clearTimeout(timer);
    }
    if (this.#stopped || this.#clients.size === 0) return;
    const text = `event: snapshot\ndata: ${JSON.stringify(this.snapshot())}\n\n`;
    // A client that does not keep up skips refreshes rather than have them pile up here.
    for (const c of this.#clients) if (c.writableLength < kMaxBuffered) c.write(text);
  }

  #section<T>(fn: (() => readonly T[]) | undefined): Section<T> {
    if (fn === undefined) return { rows: null };
    try {
      const rows = fn();
      if (!Array.isArray(rows)) return { rows: [], error: 'the provider did not return an array' };
      // A copy through JSON: what is served is what was provided at this refresh, and a row JSON
      // cannot carry (a bigint, a cycle) fails here, as the provider's error.
      return { rows: JSON.parse(JSON.stringify(rows)) as T[] };
    } catch (err) {
      return { rows: [], error: `the provider failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  #readTopics(): Section<TopicRowOut> {
    const s = this.#section<TopicRow>(this.#sources.topics);
    if (s.rows === null) return { rows: null };
    const now = Date.now();
    const prevs = new Map(this.#topicPrev);
    this.#topicPrev.clear(); // topics gone from the provider are forgotten
    const rows = s.rows.map((t) => {
      const prev = prevs.get(t.topic);
      this.#topicPrev.set(t.topic, { at: now, publishes: t.publishes });
      const rate = prev === undefined || now <= prev.at ? null : Math.max(0, t.publishes - prev.publishes) / ((now - prev.at) / 1000);
      return { ...t, publishesPerSec: rate };
    });
    return s.error === undefined ? { rows } : { rows, error: s.error };
  }

  /** Everything the page shows, as one JSON-ready object (what each event-stream message carries). */
  snapshot(): unknown {
    const actors = queryActors(this.#actors.rows(), { sort: 'mailbox', order: 'desc', filter: '', limit: kStreamActors });
    return {
      at: Date.now(),
      schedulers: this.#sampler.schedulers(),
      registries: this.#sampler.registries(),
      actors: actors.actors,
      actorsTotal: actors.total,
      actorsAt: this.#actors.at,
      supervisors: this.#section<SupervisorRow>(this.#sources.supervisors),
      topics: this.#topics,
      timeline: this.#timeline.latest(200),
      health: this.#sampler.health(),
    };
  }

  #data(): Parameters<typeof handler>[0] {
    return {
      schedulers: () => this.#sampler.schedulers(),
      registries: () => this.#sampler.registries(),
      actors: async (params) => {
        const q = parseActorQuery(params);
        if (typeof q === 'string') return { error: q };
        this.#actorsWanted = Date.now();
        // Listed afresh unless a listing is younger than half a second.
        if (Date.now() - this.#actors.at > 500) await this.#actors.refresh(this.#sampler.schedulerIncs());
        return { body: { at: this.#actors.at, ...queryActors(this.#actors.rows(), q) } };
      },
      timeline: (since, limit) => this.#timeline.list(since, limit),
      supervisors: () => this.#section<SupervisorRow>(this.#sources.supervisors),
      topics: () => this.#topics,
      health: () => this.#sampler.health(),
      subscribe: (res) => {
        this.#clients.add(res);
        void this.#actors.refresh(this.#sampler.schedulerIncs()).then(() => {
          if (this.#clients.has(res)) res.write(`event: snapshot\ndata: ${JSON.stringify(this.snapshot())}\n\n`);
        });
        return () => this.#clients.delete(res);
      },
    };
  }

  /** Stops serving: closes the event streams and the server. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const s of this.#stops.splice(0)) s();
    this.#watch.stop();
    for (const c of this.#clients) c.end();
    this.#clients.clear();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
