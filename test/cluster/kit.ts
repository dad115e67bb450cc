/**
 * Shared setup of the cluster tests: a real `redis-server` on a free loopback port with no persistence,
 * and cluster nodes as child processes (test/fixtures/cluster-node.ts, run from dist/) driven over IPC.
 *
 * A machine without `redis-server` fails these tests with a message saying so; they are not skipped.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

export const kNodeScript = new URL('../../dist/test/fixtures/cluster-node.js', import.meta.url);

/** A free TCP port on loopback (bound, then released). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM, no save), and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

/** Starts `redis-server` on a free loopback port, no persistence. Throws if it is not installed. */
export async function startRedis(): Promise<RedisServer> {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error('redis-server is not installed or does not run: the cluster tests need it (Debian: apt-get install redis-server; .ci/run installs it)');
  }
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'notice'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (b: Buffer): void => {
        log += b.toString();
        if (log.includes('Ready to accept connections')) {
          p.stdout?.off('data', onData);
          resolve();
        }
      };
      p.stdout?.on('data', onData);
      p.once('exit', (code) => reject(new Error(`redis-server exited with code ${code} while starting on port ${port}:\n${log}`)));
      p.once('error', reject);
    });
    p.stdout?.resume();
    p.stderr?.resume();
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const p = proc;
      if (p === undefined || p.exitCode !== null) return;
      const exited = once(p, 'exit');
      p.kill('SIGKILL');
      await exited;
    },
    start,
  };
}

export interface NodeEvent {
  readonly event: string;
  readonly [k: string]: unknown;
}

/** A node process. */
export interface NodeProc {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly events: NodeEvent[];
  /** Runs an op; resolves with its value, rejects with an Error carrying the op's `code`. */
  do<T = unknown>(op: string, ...args: unknown[]): Promise<T>;
  /** Resolves with the first event (past or future) matching `pred`, within `ms`. */
  waitEvent(pred: (e: NodeEvent) => boolean, ms?: number, what?: string): Promise<NodeEvent>;
  kill(signal?: NodeJS.Signals): void;
  readonly exited: Promise<void>;
}

export interface OpError extends Error {
  code?: string;
  node?: string;
  fence?: number;
  current?: number | null;
}

/** Forks a node that joins the cluster at `url` as `name`. Resolves once it has joined. */
export async function startNode(url: string, name: string, options: Record<string, unknown> = {}): Promise<NodeProc> {
  const proc = fork(kNodeScript, [url, name, JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  const events: NodeEvent[] = [];
  const waiters = new Set<() => void>();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextId = 1;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  void exited.then(() => {
    for (const p of pending.values()) p.reject(new Error(`node ${name} exited`));
    pending.clear();
    for (const w of [...waiters]) w();
  });
  proc.on('message', (m: { id?: number; ok?: boolean; value?: unknown; error?: Record<string, unknown>; event?: string }) => {
    if (m.id !== undefined) {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.ok) p?.resolve(m.value);
      else p?.reject(Object.assign(new Error(String(m.error?.message)), m.error));
      return;
    }
    events.push(m as NodeEvent);
    for (const w of [...waiters]) w();
  });
  const waitEvent = (pred: (e: NodeEvent) => boolean, ms = 10_000, what = 'event'): Promise<NodeEvent> => new Promise((resolve, reject) => {
    const check = (): boolean => {
      const e = events.find(pred);
      if (e === undefined) return false;
      cleanup();
      resolve(e);
      return true;
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`node ${name}: no ${what} within ${ms} ms; events: ${JSON.stringify(events)}`));
    }, ms);
    const w = (): void => {
      if (!check() && proc.exitCode !== null) {
        cleanup();
        reject(new Error(`node ${name} exited before ${what}`));
      }
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      waiters.delete(w);
    };
    waiters.add(w);
    w();
  });
  const node: NodeProc = {
    name,
    proc,
    events,
    do<T>(op: string, ...args: unknown[]) {
      return new Promise<T>((resolve, reject) => {
        if (!proc.connected) {
          reject(new Error(`node ${name} has exited`));
          return;
        }
        const id = nextId++;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        proc.send({ id, op, args }, (err) => {
          if (err === null) return;
          pending.delete(id);
          reject(err);
        });
      });
    },
    waitEvent,
    kill(signal = 'SIGKILL') {
      proc.kill(signal);
    },
    exited,
  };
  const first = await waitEvent((e) => e.event === 'ready' || e.event === 'failed', 30_000, 'join');
  if (first.event === 'failed') {
    throw Object.assign(new Error(`node ${name} failed to join: ${String(first.message)}`), first);
  }
  return node;
}

/** Stops every node (leave if alive, else kill) and waits for their exits. */
export async function stopNodes(nodes: NodeProc[]): Promise<void> {
  await Promise.all(nodes.map(async (n) => {
    if (n.proc.exitCode !== null || n.proc.signalCode !== null) return;
    n.proc.kill('SIGCONT');
    const t = setTimeout(() => n.kill('SIGKILL'), 3000);
    n.do('leave').catch(() => {});
    await n.exited;
    clearTimeout(t);
  }));
}

/**
 * Polls `cond` every 10 ms until it returns true, for at most `ms`. Only for states that Redis gives no
 * notification of (a key's value as read by a third party); events are awaited, not polled. A condition
 * that throws counts as false (the last error is reported on timeout).
 */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`${what}: not true within ${ms} ms${last === undefined ? '' : ` (last error: ${String(last)})`}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The error `p` rejects with (fails if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<OpError> {
  try {
    const v = await p;
    throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
  } catch (e) {
    return e as OpError;
  }
}
