/**
 * Shared helpers for the Elixir Registry conformance suite (`test/conformance/*.test.ts`).
 *
 * - `createRegistry` / `startAgent` register their teardown with `onCleanup`; every test file calls
 *   `afterEach(runCleanups)` (tinypool's cleanup registry), so workers are terminated and registries
 *   closed even when a test fails.
 * - An agent is a real `worker_threads` Worker running `test/fixtures/conf-agent.ts`: Elixir's
 *   "another process" / `Task`. It attaches to the registry and runs commands sent by `call`.
 * - Every wait is bounded (`withTimeout`) so a missing message fails the test with a clear reason
 *   instead of hanging until vitest's test timeout. Nothing here sleeps to synchronise.
 */
import { Worker } from 'node:worker_threads';
import { expect, test } from 'vitest';
import { Registry } from '../../dist/src/index.js';
import type { Key, KeysKind, Pid, RegistryEvent, RegistryOptions } from '../../dist/src/types.js';

export type { Key, KeysKind, Pid, RegistryEvent };

/** Stable error codes (src/errors.ts). Tests assert codes, never messages. */
export const kCode = {
  invalidOption: 'ROSTER_ERR_INVALID_OPTION',
  invalidKey: 'ROSTER_ERR_INVALID_KEY',
  matchSpec: 'ROSTER_ERR_MATCH_SPEC',
  unsupported: 'ROSTER_ERR_UNSUPPORTED',
  unknownRegistry: 'ROSTER_ERR_UNKNOWN_REGISTRY',
} as const;

/** Upper bound for any single wait on another thread (a message, an event, a worker exit). */
export const kWaitMs = 10_000;

// ── Parameterisation (Elixir's `parameterize:`) ──────────────────────────────────────────────────

export interface Case {
  readonly keys: KeysKind;
  readonly partitions: number;
}

function cases(kinds: readonly KeysKind[]): Case[] {
  return kinds.flatMap((keys) => [1, 8].map((partitions) => ({ keys, partitions })));
}

/** `Registry.CommonTest` doctests and `Registry.Test`: every kind × {1, 8}. */
export const kAllCases = cases(['unique', 'duplicate', 'duplicate-by-key']);
/** `Registry.UniqueTest`: unique × {1, 8}. */
export const kUniqueCases = cases(['unique']);
/** `Registry.DuplicateTest`: both duplicate kinds × {1, 8}. */
export const kDuplicateCases = cases(['duplicate', 'duplicate-by-key']);
/** `Registry.LockTest`: {unique, duplicate} × {1, 8}. */
export const kLockCases = cases(['unique', 'duplicate']);

// ── Cleanup registry ─────────────────────────────────────────────────────────────────────────────

const cleanups: (() => unknown)[] = [];

export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

/** Runs registered cleanups, newest first (agents are terminated before their registry is closed). */
export async function runCleanups(): Promise<void> {
  const errors: unknown[] = [];
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw errors[0];
}

// ── Registries ───────────────────────────────────────────────────────────────────────────────────

let nameCounter = 0;

/** A registry name unique to this test run, like upstream's `:"#{test}_#{partitions}_#{keys}"`. */
export function uniqueName(label: string): string {
  nameCounter += 1;
  return `conf-${label}-${process.pid}-${nameCounter}`;
}

/** Creates a registry that is closed after the test. */
export function createRegistry(options: RegistryOptions): Registry {
  const opts: RegistryOptions = options.name === undefined ? { ...options, name: uniqueName(options.keys) } : options;
  const reg = Registry.create(opts);
  onCleanup(() => {
    try {
      reg.close();
    } catch {
      // already closed by the test (#46/#80)
    }
  });
  return reg;
}

// ── Bounded waits ────────────────────────────────────────────────────────────────────────────────

export function withTimeout<T>(promise: Promise<T>, what: string, ms = kWaitMs): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ── Agents: "another process" ────────────────────────────────────────────────────────────────────

/** Indexes into the shared board every agent of a test sees (see conf-agent.ts `lock`). */
export const kBoardWords = 16;

export interface AgentEvent {
  readonly event: string;
  readonly id: number;
  readonly data?: unknown;
}

/** One command in flight on an agent. */
export interface Op {
  readonly id: number;
  /** Settles with the command's result; rejects with an error carrying the thrown `code`. */
  readonly done: Promise<unknown>;
  /** Resolves when the agent posts `event` for this command (events already received count). */
  event(name: string): Promise<AgentEvent>;
  /** Lets a `lock` command holding its lock (`hold: true`) leave its critical section. */
  unlock(): void;
}

export interface Agent {
  readonly pid: Pid;
  readonly worker: Worker;
  call(cmd: string, ...args: unknown[]): Promise<unknown>;
  begin(cmd: string, ...args: unknown[]): Op;
  /** Terminates the worker and waits for it to exit (Elixir's `Process.exit(task, :kill)`). */
  terminate(): Promise<void>;
}

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: { code?: unknown; message?: unknown; name?: unknown };
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/** Rebuilds an error posted by the agent; only `code` is part of the contract. */
function rebuildError(e: Reply['error']): Error {
  const err = new Error(typeof e?.message === 'string' ? e.message : 'agent error') as Error & { code?: unknown };
  err.code = e?.code;
  if (typeof e?.name === 'string') err.name = e.name;
  return err;
}

const kAgentUrl = new URL('../../dist/test/fixtures/conf-agent.js', import.meta.url);

/**
 * Starts a worker that attaches to `reg` and answers commands. `board` is an optional shared
 * Int32Array (kBoardWords) used by lock tests as a rendezvous; pass the same one to every agent.
 */
export async function startAgent(reg: Registry, board?: Int32Array): Promise<Agent> {
  const worker = new Worker(kAgentUrl, {
    workerData: { handle: reg.handle, board: board ?? new Int32Array(new SharedArrayBuffer(kBoardWords * 4)) },
  });
  let nextId = 0;
  let exited = false;
  let failure: unknown;
  const pending = new Map<number, Pending>();
  const events: AgentEvent[] = [];
  const eventWaiters: { id: number; name: string; resolve(e: AgentEvent): void }[] = [];

  const failAll = (err: unknown) => {
    failure ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (msg: Reply | AgentEvent) => {
    if ('event' in msg) {
      events.push(msg);
      for (let i = eventWaiters.length - 1; i >= 0; i--) {
        const w = eventWaiters[i];
        if (w !== undefined && w.id === msg.id && w.name === msg.event) {
          eventWaiters.splice(i, 1);
          w.resolve(msg);
        }
      }
      return;
    }
    const p = pending.get(msg.id);
    if (p === undefined) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(rebuildError(msg.error));
  });
  worker.on('error', (err) => failAll(err));
  worker.on('exit', (code) => {
    exited = true;
    failAll(new Error(`agent exited (code ${code})`));
  });

  const begin = (cmd: string, ...args: unknown[]): Op => {
    nextId += 1;
    const id = nextId;
    const raw = new Promise<unknown>((resolve, reject) => {
      if (failure !== undefined) {
        reject(failure);
        return;
      }
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, cmd, args });
    });
    const done = withTimeout(raw, `agent ${cmd}#${id}`);
    // Callers that never await a command (a test that failed early) must not raise unhandled rejections.
    done.catch(() => undefined);
    return {
      id,
      done,
      event: (name) => {
        const seen = events.find((e) => e.id === id && e.event === name);
        if (seen !== undefined) return Promise.resolve(seen);
        return withTimeout(
          new Promise<AgentEvent>((resolve) => eventWaiters.push({ id, name, resolve })),
          `agent event ${name} of ${cmd}#${id}`,
        );
      },
      unlock: () => worker.postMessage({ unlock: id }),
    };
  };

  const terminate = async () => {
    if (exited) return;
    const gone = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    await worker.terminate();
    await withTimeout(gone, 'agent exit');
  };
  onCleanup(terminate);

  const pid = (await begin('self').done) as Pid;
  return { pid, worker, begin, call: (cmd, ...args) => begin(cmd, ...args).done, terminate };
}

// ── Events (listeners, subscriptions) ────────────────────────────────────────────────────────────

export interface Collector {
  readonly events: RegistryEvent[];
  /** Resolves with all events once at least `n` have arrived; fails after kWaitMs. */
  waitFor(n: number): Promise<RegistryEvent[]>;
}

/**
 * Collects events from `subscribe` (e.g. `(h) => reg.listen('L', h)`); the unsubscribe function
 * is called at cleanup.
 */
export function collectEvents(subscribe: (handler: (e: RegistryEvent) => void) => () => void): Collector {
  const events: RegistryEvent[] = [];
  let waiters: { n: number; resolve(): void }[] = [];
  const stop = subscribe((e) => {
    events.push(e);
    const ready = waiters.filter((w) => events.length >= w.n);
    waiters = waiters.filter((w) => events.length < w.n);
    for (const w of ready) w.resolve();
  });
  onCleanup(stop);
  return {
    events,
    waitFor: async (n) => {
      if (events.length < n) {
        await withTimeout(
          new Promise<void>((resolve) => waiters.push({ n, resolve })),
          `${n} events (got ${events.length}: ${JSON.stringify(events, jsonSafe)})`,
        );
      }
      return events;
    },
  };
}

function jsonSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}

// ── Assertions ───────────────────────────────────────────────────────────────────────────────────

/** Asserts that `fn` throws an error whose `code` is `code` (never its message). */
export function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown;
  let threw = false;
  try {
    fn();
  } catch (err) {
    threw = true;
    thrown = err;
  }
  expect(threw, `expected a throw with code ${code}`).toBe(true);
  expect((thrown as { code?: unknown } | undefined)?.code).toBe(code);
}

/** Asserts that `promise` rejects with an error whose `code` is `code`. */
export async function expectRejectCode(promise: Promise<unknown>, code: string): Promise<void> {
  let thrown: unknown;
  let threw = false;
  try {
    await promise;
  } catch (err) {
    threw = true;
    thrown = err;
  }
  expect(threw, `expected a rejection with code ${code}`).toBe(true);
  expect((thrown as { code?: unknown } | undefined)?.code).toBe(code);
}

/**
 * A canonical, type-tagged text form of a term, so `'1'`, `1` and `1n` stay distinct. Used only
 * to sort results whose order upstream does not promise (Elixir's `|> Enum.sort()`).
 */
export function canon(x: unknown): string {
  switch (typeof x) {
    case 'bigint':
      return `i:${x}`;
    case 'number':
      return `n:${Object.is(x, -0) ? '-0' : String(x)}`;
    case 'string':
      return `s:${JSON.stringify(x)}`;
    case 'boolean':
      return `b:${x}`;
    case 'undefined':
      return 'u';
    case 'object': {
      if (x === null) return 'z';
      if (x instanceof Uint8Array) return `y:[${Array.from(x).join(',')}]`;
      if (Array.isArray(x)) return `[${x.map(canon).join(',')}]`;
      const obj = x as Record<string, unknown>;
      return `{${Object.keys(obj)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canon(obj[k])}`)
        .join(',')}}`;
    }
    default:
      return String(x);
  }
}

/** Elixir's `Enum.sort/1` stand-in: a copy sorted by `canon`. */
export function sorted<T>(xs: readonly T[]): T[] {
  return [...xs]
    .map((x) => [canon(x), x] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, x]) => x);
}

/**
 * Defines a test only where it applies (a doctest written for one key kind), instead of reporting
 * it as skipped: skipped tests in this suite mean "needs the coordinator".
 */
export function testIf(cond: boolean, name: string, fn: () => unknown): void {
  if (cond) test(name, fn);
}
