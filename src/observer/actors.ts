/**
 * The actors table: fetched from each scheduler's control plane (`SchedulerControl.listActors()`), a
 * comlink message on the scheduler thread's control port answered by the scheduler itself, never by
 * an actor: actors receive nothing because someone watches. A listing builds one row per actor in the scheduler thread, so the observer lists at
 * most once per refresh, and only while someone looks (an open page, or an `/api/actors` request).
 * A scheduler that does not answer within a second (stalled) keeps its previous rows.
 *
 * Also here: the query language of `/api/actors` (`sort`, `order`, `filter`, `limit`).
 *
 * @module
 */
import type { Runtime } from '../runtime/runtime.js';
import type { ActorRowOut } from './types.js';

const kListTimeoutMs = 1000;

/** Sort keys of `/api/actors?sort=`. */
export const kActorSorts = ['pid', 'names', 'scheduler', 'behaviour', 'mailbox', 'handled', 'dropped', 'uptime'] as const;
export type ActorSort = (typeof kActorSorts)[number];

/** A validated `/api/actors` query. */
export interface ActorQuery {
  readonly sort: ActorSort;
  readonly order: 'asc' | 'desc';
  readonly filter: string;
  readonly limit: number;
}

/** Parses `/api/actors` parameters; returns a message for the 400 answer when one is bad. */
export function parseActorQuery(params: URLSearchParams): ActorQuery | string {
  for (const k of params.keys()) {
    if (k !== 'sort' && k !== 'order' && k !== 'filter' && k !== 'limit' && k !== 'token') {
      return `unknown parameter ${JSON.stringify(k)}; expected sort, order, filter or limit`;
    }
  }
  const sort = params.get('sort') ?? 'pid';
  if (!(kActorSorts as readonly string[]).includes(sort)) return `sort must be one of ${kActorSorts.join(', ')}; got ${JSON.stringify(sort)}`;
  const numeric = sort === 'mailbox' || sort === 'handled' || sort === 'dropped' || sort === 'uptime';
  const order = params.get('order') ?? (numeric ? 'desc' : 'asc');
  if (order !== 'asc' && order !== 'desc') return `order must be asc or desc; got ${JSON.stringify(order)}`;
  const filter = params.get('filter') ?? '';
  if (filter.length > 200) return 'filter must be at most 200 characters';
  const l = params.get('limit');
  let limit = 1000;
  if (l !== null) {
    if (!/^[0-9]{1,6}$/.test(l) || Number(l) < 1 || Number(l) > 100_000) return `limit must be an integer from 1 to 100000; got ${JSON.stringify(l)}`;
    limit = Number(l);
  }
  return { sort: sort as ActorSort, order, filter, limit };
}

function key(r: ActorRowOut, sort: ActorSort): number | string {
  switch (sort) {
    case 'pid': return r.pid;
    case 'names': return r.names.join(' ');
    case 'scheduler': return r.scheduler;
    case 'behaviour': return r.behaviour;
    case 'mailbox': return r.mailbox;
    case 'handled': return r.handled;
    case 'dropped': return r.dropped;
    case 'uptime': return r.uptimeMs;
  }
}

/** Filters (case-insensitive substring of pid, names, behaviour), sorts (ties by pid) and limits rows. */
export function queryActors(rows: readonly ActorRowOut[], q: ActorQuery): { total: number; matched: number; actors: ActorRowOut[] } {
  const f = q.filter.toLowerCase();
  const matched = f === '' ? [...rows] : rows.filter((r) => String(r.pid).includes(f) || r.behaviour.toLowerCase().includes(f) || r.names.some((n) => n.toLowerCase().includes(f)));
  const dir = q.order === 'asc' ? 1 : -1;
  matched.sort((a, b) => {
    const x = key(a, q.sort);
    const y = key(b, q.sort);
    const c = x < y ? -1 : x > y ? 1 : 0;
    return c !== 0 ? c * dir : a.pid - b.pid;
  });
  return { total: rows.length, matched: matched.length, actors: matched.slice(0, q.limit) };
}

/** The actor rows of every scheduler, as last listed. */
export class ActorTable {
  readonly #runtime: Runtime | undefined;
  readonly #byScheduler = new Map<number, ActorRowOut[]>();
  /** Schedulers with a listing in flight (one that did not answer is not asked again until it does). */
  readonly #asked = new Set<number>();
  #listing: Promise<void> | null = null;
  #at = 0;

  constructor(runtime: Runtime | undefined) {
    this.#runtime = runtime;
  }

  /** When the rows were last listed (epoch ms; 0: never). */
  get at(): number {
    return this.#at;
  }

  /**
   * Lists the actors of every reachable scheduler (one listing at a time); drops the rows of schedulers
   * no longer alive.
   */
  refresh(schedulers: ReadonlyArray<{ index: number; reachable: boolean }>): Promise<void> {
    const rt = this.#runtime;
    if (rt === undefined) return Promise.resolve();
    this.#listing ??= (async () => {
      await Promise.all(schedulers.map(async ({ index, reachable }) => {
        if (!reachable) {
          this.#byScheduler.delete(index);
          return;
        }
        if (this.#asked.has(index)) return;
        this.#asked.add(index);
        const listed = rt.control(index).listActors().catch(() => null).finally(() => this.#asked.delete(index));
        let timer: NodeJS.Timeout | undefined;
        const rows = await Promise.race([
          listed,
          new Promise<null>((r) => (timer = setTimeout(() => r(null), kListTimeoutMs))),
        ]);
        clearTimeout(timer);
        if (rows === null) return;
        this.#byScheduler.set(index, rows.map((a) => ({
          pid: a.pid, names: a.names, scheduler: index, behaviour: a.behaviour, mailbox: a.depth, handled: a.handled, dropped: a.dropped, uptimeMs: a.uptimeMs,
        })));
      }));
      this.#at = Date.now();
    })().finally(() => {
      this.#listing = null;
    });
    return this.#listing;
  }

  rows(): ActorRowOut[] {
    return [...this.#byScheduler.values()].flat();
  }
}
