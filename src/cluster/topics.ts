/**
 * Cluster pub-sub. Local actors subscribe to topics on their node; a publish reaches the local
 * subscribers with the core's `send` (shared-memory rings, no Redis), and every other node that has
 * subscribers with **one** engine message per node (sharded pub-sub on Redis), which that node hands
 * to each of its own subscribers. A node subscribes to a topic's channel when its first local
 * subscriber arrives and unsubscribes when the last one leaves or exits.
 *
 * Delivery: at most once to each subscriber that was subscribed on a node listening when the message
 * passed; in publish order per publishing node; a node cut off from Redis misses what was published
 * meanwhile. Messages arrive at `handleInfo` as published.
 *
 * @module
 */
import { InvalidKeyError, demonitor, monitor, send, type Pid } from '../index.js';
import type { NodeState } from './node-state.js';
import { decodeTopicFrame, encodeFrame } from './wire.js';

/** Checks a topic: a non-empty string of at most 1024 characters. */
export function checkTopic(topic: unknown): string {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > 1024) {
    throw new InvalidKeyError(`expected a topic to be a non-empty string of at most 1024 characters, got: ${typeof topic === 'string' ? JSON.stringify(topic.slice(0, 40)) : typeof topic}`);
  }
  return topic;
}

/** The outcome of `publish`: local subscribers reached, and other nodes the message went to. */
export interface PublishResult {
  readonly local: number;
  readonly nodes: number;
}

/** Topics of one node. */
export class Topics {
  readonly #state: NodeState;
  /** topic → subscriber pid → core monitor ref. */
  readonly #subs = new Map<string, Map<Pid, number>>();

  constructor(state: NodeState) {
    this.#state = state;
  }

  /** Subscribes local process `pid` to `topic` (idempotent). */
  async subscribe(topic: string, pid: Pid): Promise<void> {
    checkTopic(topic);
    let set = this.#subs.get(topic);
    const first = set === undefined;
    if (set === undefined) {
      set = new Map();
      this.#subs.set(topic, set);
    }
    if (set.has(pid)) return;
    const m = monitor(pid);
    set.set(pid, m.ref);
    void m.down.then(() => {
      if (this.#subs.get(topic)?.get(pid) === m.ref) void this.unsubscribe(topic, pid).catch(() => {});
    });
    if (first) await this.#state.engine.subscribe(topic);
  }

  /** Unsubscribes `pid` from `topic`. */
  async unsubscribe(topic: string, pid: Pid): Promise<void> {
    checkTopic(topic);
    const set = this.#subs.get(topic);
    const ref = set?.get(pid);
    if (set === undefined || ref === undefined) return;
    set.delete(pid);
    demonitor(ref);
    if (set.size === 0) {
      this.#subs.delete(topic);
      await this.#state.engine.unsubscribe(topic);
    }
  }

  /** Local subscribers of `topic`. */
  subscribers(topic: string): Pid[] {
    return [...(this.#subs.get(checkTopic(topic))?.keys() ?? [])];
  }

  /** Publishes `msg` on `topic`: local subscribers now, other nodes through the engine. */
  async publish(topic: string, msg: unknown): Promise<PublishResult> {
    checkTopic(topic);
    const payload = encodeFrame({ from: this.#state.node, msg });
    const local = this.#deliver(topic, msg);
    const reached = await this.#state.engine.publish(topic, payload);
    return { local, nodes: reached - (this.#subs.has(topic) ? 1 : 0) };
  }

  #deliver(topic: string, msg: unknown): number {
    const set = this.#subs.get(topic);
    if (set === undefined) return 0;
    let n = 0;
    for (const pid of set.keys()) if (send(pid, msg)) n++;
    return n;
  }

  /** A topic frame arrived from the engine. */
  receive(topic: string, payload: Buffer): void {
    const f = decodeTopicFrame(payload);
    if (f === null) {
      this.#state.stats.malformed++;
      return;
    }
    if (f.from === this.#state.node) return; // delivered locally at publish
    this.#deliver(topic, f.msg);
  }

  /** Drops every subscription (at `leave()`). */
  clear(): void {
    for (const set of this.#subs.values()) for (const ref of set.values()) demonitor(ref);
    this.#subs.clear();
  }
}
