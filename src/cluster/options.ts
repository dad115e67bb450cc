/**
 * The options of `Cluster.join` and their checks: every bad option throws `InvalidOptionError` before
 * anything connects.
 *
 * @module
 */
import { InvalidOptionError } from '../index.js';
import type { ClusterEngine } from './engine.js';
import type { Timing } from './node-state.js';
import { RedisEngine } from './redis-engine.js';

/** Options of `Cluster.join`. */
export interface ClusterOptions {
  /** The Redis server: `redis://host:port` (or `rediss://` for TLS). Either this or `engine`. */
  readonly url?: string;
  /** Another engine instead of Redis (see `ClusterEngine`). */
  readonly engine?: ClusterEngine;
  /** This node's name, unique among live members: letters, digits, `.`, `_`, `-` (1-128). */
  readonly node: string;
  /** Prefix of every key and channel: nodes of one cluster share it. Default `'roster'`. */
  readonly namespace?: string;
  /** How often the node renews its lease. Default 1000 ms. */
  readonly heartbeatMs?: number;
  /** The lease: a node that has not renewed for this long loses its names and is declared down. Default 5000 ms; at least 2 × heartbeatMs. */
  readonly leaseMs?: number;
  /** How often the node sweeps for lapsed members. Default: heartbeatMs. */
  readonly sweepMs?: number;
  /** How long the first connection may take. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
}

const kNodeName = /^[A-Za-z0-9._-]{1,128}$/;

function msOption(o: Record<string, unknown>, key: string, dflt: number, min: number): number {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > 2 ** 31 - 1) {
    throw new InvalidOptionError(`expected ${key} to be an integer number of ms >= ${min}, got: ${String(v)} (${typeof v})`);
  }
  return v;
}

/** Checks `options`; builds the Redis engine unless one is given. */
export function checkOptions(options: unknown): { engine: ClusterEngine; node: string; timing: Timing } {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError(`expected options to be an object, got: ${String(options)}`);
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['url', 'engine', 'node', 'namespace', 'heartbeatMs', 'leaseMs', 'sweepMs', 'connectTimeoutMs'].includes(k)) {
      throw new InvalidOptionError(`unknown option ${JSON.stringify(k)}`);
    }
  }
  if (typeof o.node !== 'string' || !kNodeName.test(o.node)) {
    throw new InvalidOptionError(`expected node to be 1-128 letters, digits, '.', '_' or '-', got: ${JSON.stringify(o.node) ?? String(o.node)}`);
  }
  const heartbeatMs = msOption(o, 'heartbeatMs', 1000, 10);
  const leaseMs = msOption(o, 'leaseMs', Math.max(5000, 2 * heartbeatMs), 20);
  if (leaseMs < 2 * heartbeatMs) throw new InvalidOptionError(`expected leaseMs (${leaseMs}) to be at least 2 × heartbeatMs (${heartbeatMs})`);
  const sweepMs = msOption(o, 'sweepMs', heartbeatMs, 10);
  if ((o.url === undefined) === (o.engine === undefined)) throw new InvalidOptionError('expected exactly one of url and engine');
  let engine: ClusterEngine;
  if (o.engine !== undefined) {
    const e = o.engine as Partial<ClusterEngine> | null;
    if (typeof e !== 'object' || e === null || typeof e.open !== 'function' || typeof e.acquire !== 'function') {
      throw new InvalidOptionError('expected engine to implement ClusterEngine');
    }
    engine = e as ClusterEngine;
  } else {
    engine = new RedisEngine({
      url: o.url as string,
      ...(o.namespace !== undefined ? { namespace: o.namespace as string } : {}),
      ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: msOption(o, 'connectTimeoutMs', 5000, 1) } : {}),
    });
  }
  return { engine, node: o.node, timing: { heartbeatMs, leaseMs, sweepMs } };
}
