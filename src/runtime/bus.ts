/**
 * The event bus: topics over a duplicate-key registry (Phoenix.PubSub's local adapter, Elixir's
 * `Registry.dispatch` pub-sub, for actors on many threads).
 *
 * - `subscribe(topic)` registers the calling actor; the subscription ends with the actor (its
 *   registrations are removed at its exit, and swept if its thread dies). The key is
 *   `[topic, thread slot, shard]` (the subscriber's scheduler, and its local id mod 16), not `topic`
 *   itself: a duplicate registry keeps a key's entries in one probe run, so 100k subscribers under one
 *   key would make every subscribe cost a walk over all of them. Sharded, a subscribe stays cheap, and
 *   each scheduler reads only its own subscribers.
 * - `publish(topic, msg)` sends **one record per scheduler thread**, whatever the number of
 *   subscribers: the record names the registry, the topic and the message, and the receiving scheduler
 *   looks the topic up in shared memory and hands the message to each of its own live subscribers'
 *   `handleInfo`. So the publisher's cost does not grow with the subscribers, and a hot topic cannot
 *   stall the publisher's scheduler.
 *
 * **Delivery contract:** at most once; FIFO per publisher → subscriber (one ring per thread pair, and
 * a scheduler delivers records in order); no order across publishers. A subscriber receives a message
 * if it is subscribed when the record reaches its scheduler. Subscribers of one scheduler share one
 * decoded, frozen copy of the message.
 *
 * @module
 */
import { encodeKeyBytes } from '../memory/codec.js';
import { Domain, incSlot, makePid, pidInc, pidLocal } from '../domain/domain.js';
import { InvalidOptionError, UnsupportedError, describe } from '../errors.js';
import { self } from '../domain/process.js';
import type { Registry } from '../registry/registry.js';
import type { Key, Pid } from '../types.js';
import { Caller } from './caller.js';
import { kInfo, kPublish } from './kinds.js';
import type { Envelope } from './mailroom.js';
import { getDirectory } from './placement.js';
import { currentScheduler, type Scheduler } from './scheduler.js';

/** Topics over a duplicate registry that was given to `Runtime.start({ registries })`. Any thread. */
export class EventBus {
  readonly registry: Registry<unknown>;

  constructor(registry: Registry<unknown>) {
    if (typeof registry !== 'object' || registry === null || typeof (registry as { lookup?: unknown }).lookup !== 'function') {
      throw new InvalidOptionError(`expected a Registry, got: ${describe(registry)}`);
    }
    if (registry.kind !== 'duplicate') throw new InvalidOptionError(`an event bus needs a duplicate registry; ${registry.name} is ${registry.kind}`);
    this.registry = registry;
  }

  /** Subscribes the calling actor to `topic` (one registration per call). Inside an actor only. */
  subscribe(topic: Key): void {
    this.registry.register(ownKey(topic, inActor('subscribe')), null);
  }

  /** Ends the calling actor's subscriptions to `topic`. Inside an actor only. */
  unsubscribe(topic: Key): void {
    this.registry.unregister(ownKey(topic, inActor('unsubscribe')));
  }

  /** Subscribers of `topic` now, on every scheduler (lock-free lookups). Any thread of the runtime. */
  subscribers(topic: Key): number {
    const dir = getDirectory();
    if (dir === undefined) return 0;
    let n = 0;
    for (let i = 0, count = Atomics.load(dir, 0); i < count; i++) {
      const inc = Atomics.load(dir, 1 + i);
      if (inc !== 0) for (let sh = 0; sh < kShards; sh++) n += this.registry.lookup([topic, incSlot(inc), sh]).length;
    }
    return n;
  }

  /**
   * Publishes `msg` to every live subscriber of `topic`, on every scheduler: one record per
   * scheduler thread. Returns the number of records sent. Throws `InvalidMessageError` for a message
   * that cannot cross threads (nothing sent). Any thread of the runtime.
   */
  publish(topic: Key, msg: unknown): number {
    const dir = getDirectory();
    if (dir === undefined) throw new UnsupportedError('no runtime in this thread: call Runtime.start() or Runtime.attach(handle)');
    encodeKeyBytes(topic, this.registry.handle.maxKeyBytes); // a bad topic throws here, before anything is sent
    const body = { r: this.registry.handle.id, t: topic, m: msg };
    const caller = Caller.current();
    const from = self();
    const n = Atomics.load(dir, 0);
    let sent = 0;
    for (let i = 0; i < n; i++) {
      const inc = Atomics.load(dir, 1 + i);
      if (inc === 0) continue;
      if (caller.post(makePid(inc, 0), kPublish, body, from)) sent++;
    }
    return sent;
  }
}

/** Shards of a topic per scheduler. */
const kShards = 16;

function ownKey(topic: Key, me: Pid): Key {
  return [topic, incSlot(pidInc(me)), pidLocal(me) % kShards];
}

function inActor(what: string): Pid {
  const s = currentScheduler();
  const me = self();
  if (s === undefined || pidInc(me) !== Domain.current().inc || pidLocal(me) === 0) {
    throw new UnsupportedError(`${what} is called by an actor (inside its handlers or init)`);
  }
  return me;
}

function freeze(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) freeze(x);
  }
  return v;
}

/** Deliveries between two looks at the clock, and the longest slice of deliveries (ms). */
const kCheckEvery = 256;
const kSliceMs = 4;

/**
 * Installs the receiving side of the bus in scheduler `s`. A record's subscribers are looked up when it
 * arrives; deliveries then run in slices of at most kSliceMs, yielding to the event loop between them,
 * so a topic with 100k subscribers on this scheduler does not hold its loop (and heartbeats) for the
 * whole fan-out. Records are delivered in their order of arrival, and the scheduler routes no other
 * mail until a fan-out is done: a message sent after a publish never overtakes it.
 */
export function installBus(s: Scheduler): void {
  const queue: Array<{ from: Pid; msg: unknown; pids: Pid[]; next: number }> = [];
  let scheduled = false;
  let delivering = false;
  // Mail waits while a fan-out is delivered: what its sender sent after the publish comes after it.
  s.holdMail = () => queue.length > 0;
  const deliver = (): void => {
    scheduled = false;
    delivering = true;
    try {
      slice();
    } finally {
      delivering = false;
    }
  };
  const slice = (): void => {
    const since = performance.now();
    while (queue.length > 0) {
      const job = queue[0] as (typeof queue)[number];
      while (job.next < job.pids.length) {
        const pid = job.pids[job.next++] as Pid;
        const a = s.actors.get(pidLocal(pid));
        if (a !== undefined && a.pid === pid) a.enqueue({ kind: kInfo, to: a.local, from: job.from, ref: 0, deadline: 0, body: job.msg });
        if (job.next % kCheckEvery === 0 && performance.now() - since > kSliceMs) {
          scheduled = true;
          setImmediate(deliver);
          return;
        }
      }
      queue.shift();
      // The mail that waited behind this fan-out goes now (it may start another one).
      s.releaseHeld();
    }
  };
  s.handleSystem(kPublish, (env: Envelope) => {
    const { r, t, m } = env.body as { r: string; t: Key; m: unknown };
    const reg = s.registryById(r);
    if (reg === undefined) return;
    const inc = s.domain.inc;
    const slot = incSlot(inc);
    const pids: Pid[] = [];
    for (let sh = 0; sh < kShards; sh++) for (const [pid] of reg.lookup([t, slot, sh])) if (pidInc(pid) === inc) pids.push(pid);
    if (pids.length === 0) return;
    queue.push({ from: env.from, msg: freeze(m), pids, next: 0 });
    // A record routed by releaseHeld (inside a delivery) waits in the queue for the loop running it.
    if (!scheduled && !delivering) deliver();
  });
}
