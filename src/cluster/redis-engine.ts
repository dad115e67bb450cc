/**
 * The Redis 7 engine, on `@redis/client` (node-redis). Three connections per node: one for commands
 * (name scripts, PUBLISH, SPUBLISH; node-redis pipelines what is issued in the same tick), one for the
 * node's own heartbeat and sweep (so that a burst of traffic queued on the first never delays a lease
 * renewal), and one for subscriptions (the node's inbox channel, invalidations, membership events,
 * topics).
 *
 * **Primitives and why.**
 * - Names, leases, fences, membership: the Lua scripts of `redis-scripts.ts` (atomic on the server).
 * - Directed messages: **pub-sub, one channel per node** (`ns:in:<node>`). The delivery contract is at
 *   most once, so a stream's durability would only replay messages whose callers already gave up, at
 *   the price of trimming and a blocking reader; pub-sub delivers in publish order per connection (FIFO
 *   per sender→node) and PUBLISH returns how many nodes listen, so a message to a node that is not
 *   listening fails at once instead of waiting for a timeout.
 * - Topics: **sharded pub-sub** (SPUBLISH / SSUBSCRIBE, Redis ≥ 7.0), one channel per topic: a node
 *   subscribes once however many local subscribers it has, so a publish costs one Redis message per
 *   node with subscribers. Sharded channels also spread over the shards of a Redis Cluster.
 * - Invalidations and membership hints: plain pub-sub, published by the scripts themselves.
 *
 * Commands are not queued while disconnected (`disableOfflineQueue`): a command issued then fails at
 * once with `ClusterConnectError`, so a heartbeat decision is never applied late.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { createClient, type RedisClientType } from '@redis/client';
import { InvalidOptionError } from '../index.js';
import type { AcquireReply, ClusterEngine, EngineHandlers, FencedReply, HeartbeatReply, Member, NameRecord, Owner } from './engine.js';
import { ClusterConnectError } from './errors.js';
import { kFenced, kHeartbeat, kJoin, kLeave, kLookup, kReassert, kRegister, kSweep } from './redis-scripts.js';

/** Options of the Redis engine. */
export interface RedisEngineOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
  readonly url: string;
  /** Key and channel prefix shared by every node of one cluster. Default `'roster'`. */
  readonly namespace?: string;
  /** How long the first connection may take before `join` fails. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
}

type Reply = string | number | null | Reply[];

class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

const kScripts = {
  join: new Script(kJoin), heartbeat: new Script(kHeartbeat), sweep: new Script(kSweep), leave: new Script(kLeave),
  register: new Script(kRegister), reassert: new Script(kReassert), fenced: new Script(kFenced), lookup: new Script(kLookup),
};

/** Parses and checks a Redis URL; throws `InvalidOptionError` naming it. */
export function checkRedisUrl(url: unknown): string {
  if (typeof url !== 'string') throw new InvalidOptionError(`expected url to be a redis:// URL string, got: ${String(url)} (${typeof url})`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidOptionError(`expected url to be a redis:// or rediss:// URL, got: ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new InvalidOptionError(`expected url to be a redis:// or rediss:// URL, got: ${JSON.stringify(url)}`);
  }
  return url;
}

/** The Redis engine. */
export class RedisEngine implements ClusterEngine {
  readonly address: string;
  readonly #ns: string;
  readonly #connectTimeoutMs: number;
  #cmd: RedisClientType | undefined;
  #ctl: RedisClientType | undefined;
  #sub: RedisClientType | undefined;
  #handlers: EngineHandlers | undefined;
  #opened = false;
  #closing = false;
  #subLost = false;
  readonly #topics = new Set<string>();

  constructor(options: RedisEngineOptions) {
    this.address = checkRedisUrl(options.url);
    const ns = options.namespace ?? 'roster';
    if (typeof ns !== 'string' || ns.length === 0 || ns.length > 64 || /[\s:]/.test(ns)) {
      throw new InvalidOptionError(`expected namespace to be 1-64 characters without spaces or ':', got: ${JSON.stringify(ns)}`);
    }
    this.#ns = ns;
    const t = options.connectTimeoutMs ?? 5000;
    if (!Number.isSafeInteger(t) || t < 1) throw new InvalidOptionError(`expected connectTimeoutMs to be a positive integer, got: ${String(t)}`);
    this.#connectTimeoutMs = t;
  }

  async open(handlers: EngineHandlers): Promise<void> {
    this.#handlers = handlers;
    const address = this.address;
    const reconnectStrategy = (retries: number, cause: Error): number | Error => {
      if (!this.#opened) return new ClusterConnectError(`cannot reach Redis at ${address}: ${cause.message}`, address, { cause });
      return Math.min(25 * 2 ** retries, 500);
    };
    const cmd = createClient({ url: address, disableOfflineQueue: true, socket: { connectTimeout: this.#connectTimeoutMs, reconnectStrategy } }) as RedisClientType;
    const sub = cmd.duplicate() as RedisClientType;
    const ctl = cmd.duplicate() as RedisClientType;
    this.#cmd = cmd;
    this.#sub = sub;
    this.#ctl = ctl;
    // Either command connection lost and back: the node holds down-declarations for a lease.
    for (const c of [cmd, ctl]) {
      const state = { lost: false };
      c.on('error', () => {
        if (this.#opened && !state.lost) {
          state.lost = true;
          handlers.connection(false);
        }
      });
      c.on('ready', () => {
        if (state.lost) {
          state.lost = false;
          handlers.connection(true);
        }
      });
    }
    sub.on('error', () => {
      if (this.#opened) this.#subLost = true;
    });
    sub.on('ready', () => {
      if (this.#subLost) {
        this.#subLost = false;
        handlers.reconnected();
      }
    });
    try {
      await withTimeout(Promise.all([cmd.connect(), sub.connect(), ctl.connect()]), this.#connectTimeoutMs + 1000, address);
      // Loaded once up front, so that EVALSHA finds them (EVAL is the fallback after a server restart).
      await Promise.all(Object.values(kScripts).map((s) => cmd.sendCommand(['SCRIPT', 'LOAD', s.source])));
      await sub.subscribe(`${this.#ns}:inv`, (name: string) => handlers.invalidate(name));
      await sub.subscribe(`${this.#ns}:ev`, (msg: string) => this.#event(msg));
    } catch (err) {
      cmd.destroy();
      sub.destroy();
      ctl.destroy();
      if (err instanceof ClusterConnectError) throw err;
      throw new ClusterConnectError(`cannot reach Redis at ${address}: ${(err as Error).message}`, address, { cause: err });
    }
    this.#opened = true;
  }

  #event(msg: string): void {
    const [kind, node, inc] = msg.split(' ');
    if ((kind === 'up' || kind === 'down') && node !== undefined && inc !== undefined) {
      this.#handlers?.membership(kind, { node, incarnation: Number(inc) });
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    const cmd = this.#cmd;
    const sub = this.#sub;
    const ctl = this.#ctl;
    this.#opened = false;
    await Promise.all([cmd, sub, ctl].map(async (c) => {
      if (c === undefined) return;
      try {
        if (c.isOpen) await c.close();
      } catch {
        c.destroy();
      }
    }));
  }

  async #eval(s: Script, args: Array<string | number>, control = false): Promise<Reply> {
    const argv = args.map(String);
    try {
      return await this.#send(['EVALSHA', s.sha, '0', ...argv], control);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.#send(['EVAL', s.source, '0', ...argv], control);
    }
  }

  async #send(args: Array<string | Buffer>, control = false): Promise<Reply> {
    const cmd = control ? this.#ctl : this.#cmd;
    if (cmd === undefined) throw new ClusterConnectError(`not connected to ${this.address}`, this.address);
    try {
      return await cmd.sendCommand<Reply>(args);
    } catch (err) {
      if (err instanceof Error && /^(NOSCRIPT|ERR|WRONGTYPE)/.test(err.message)) throw err;
      throw new ClusterConnectError(`Redis at ${this.address} is unreachable: ${(err as Error).message}`, this.address, { cause: err });
    }
  }

  async join(node: string, leaseMs: number, epochCandidate: string): Promise<{ ok: true; incarnation: number; epoch: string } | { ok: false }> {
    const r = await this.#eval(kScripts.join, [this.#ns, node, leaseMs, epochCandidate], true) as Reply[];
    return r[0] === 'ok' ? { ok: true, incarnation: Number(r[1]), epoch: String(r[2]) } : { ok: false };
  }

  async heartbeat(node: string, incarnation: number, leaseMs: number, reassert: boolean, fenceFloor: number, epoch: string, epochCandidate: string): Promise<HeartbeatReply> {
    const r = await this.#eval(kScripts.heartbeat, [this.#ns, node, incarnation, leaseMs, reassert ? 1 : 0, fenceFloor, epoch, epochCandidate], true) as Reply[];
    if (r[0] === 'ok') return { status: 'ok' };
    if (r[0] === 'reasserted') return { status: 'reasserted', epoch: String(r[1]) };
    return { status: 'lost' };
  }

  async sweep(): Promise<Member[]> {
    const r = await this.#eval(kScripts.sweep, [this.#ns], true) as Reply[];
    const out: Member[] = [];
    for (let i = 0; i + 1 < r.length; i += 2) out.push({ node: String(r[i]), incarnation: Number(r[i + 1]) });
    return out;
  }

  async leave(node: string, incarnation: number): Promise<void> {
    await this.#eval(kScripts.leave, [this.#ns, node, incarnation], true);
  }

  async acquire(name: string, owner: Owner, value: string, fenceFloor: number): Promise<AcquireReply> {
    const r = await this.#eval(kScripts.register, [this.#ns, name, owner.node, owner.incarnation, owner.pid, value, fenceFloor]) as Reply[];
    if (r[0] === 'ok') return { ok: true, fence: Number(r[1]) };
    if (r[0] === 'lost') return { ok: false, reason: 'lost' };
    return {
      ok: false, reason: 'taken',
      holder: { node: String(r[1]), incarnation: Number(r[2]), pid: Number(r[3]), fence: Number(r[4]), value: String(r[5] ?? ''), ttlMs: 0 },
    };
  }

  async reassert(name: string, owner: Owner, fence: number, value: string): Promise<boolean> {
    return Number(await this.#eval(kScripts.reassert, [this.#ns, name, owner.node, owner.incarnation, owner.pid, fence, value])) === 1;
  }

  async fenced(name: string, owner: Owner, fence: number, value: string | null): Promise<FencedReply> {
    const args = [this.#ns, name, owner.node, owner.incarnation, fence, value === null ? 'del' : 'set', value ?? ''];
    const r = await this.#eval(kScripts.fenced, args) as Reply[];
    if (r[0] === 'ok') return { ok: true };
    return { ok: false, current: r[1] === null || r[1] === undefined ? null : Number(r[1]) };
  }

  async lookup(name: string): Promise<NameRecord | null> {
    const r = await this.#eval(kScripts.lookup, [this.#ns, name]) as Reply[];
    if (r.length < 6) return null;
    return { node: String(r[0]), incarnation: Number(r[1]), pid: Number(r[2]), fence: Number(r[3]), value: String(r[4]), ttlMs: Number(r[5]) };
  }

  async sendTo(node: string, payload: Buffer): Promise<boolean> {
    return Number(await this.#send(['PUBLISH', `${this.#ns}:in:${node}`, payload])) > 0;
  }

  async publish(topic: string, payload: Buffer): Promise<number> {
    return Number(await this.#send(['SPUBLISH', `${this.#ns}:t:${topic}`, payload]));
  }

  async subscribe(topic: string): Promise<void> {
    if (this.#topics.has(topic)) return;
    this.#topics.add(topic);
    await this.#subscriber().sSubscribe(`${this.#ns}:t:${topic}`, (payload: Buffer) => this.#handlers?.topic(topic, payload), true);
  }

  async unsubscribe(topic: string): Promise<void> {
    if (!this.#topics.delete(topic)) return;
    await this.#subscriber().sUnsubscribe(`${this.#ns}:t:${topic}`);
  }

  async listen(node: string): Promise<void> {
    await this.#subscriber().subscribe(`${this.#ns}:in:${node}`, (payload: Buffer) => this.#handlers?.frame(payload), true);
  }

  #subscriber(): RedisClientType {
    if (this.#sub === undefined || this.#closing) throw new ClusterConnectError(`not connected to ${this.address}`, this.address);
    return this.#sub;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, address: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClusterConnectError(`cannot reach Redis at ${address}: no answer within ${ms} ms`, address)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
