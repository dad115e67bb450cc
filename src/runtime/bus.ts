/**
 * The event bus: topics over a duplicate-key registry (Phoenix.PubSub's local adapter, Elixir's
 * `Registry.dispatch` pub-sub, for actors on many threads).
 *
 * - `subscribe(topic)` registers the calling actor under `topic`; the subscription ends with the actor
 *   (its registrations are removed at its exit, and swept if its thread dies).
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
import { Domain, makePid, pidInc, pidLocal } from '../domain/domain.js';
import { InvalidOptionError, UnsupportedError, describe } from '../errors.js';
import { self } from '../domain/process.js';
import type { Registry } from '../registry/registry.js';
import type { Key } from '../types.js';
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

  /** Subscribes the calling actor to `topic` (a registration; idempotent per call). Inside an actor only. */
  subscribe(topic: Key): void {
    inActor('subscribe');
    this.registry.register(topic, null);
  }

  /** Ends the calling actor's subscription to `topic`. */
  unsubscribe(topic: Key): void {
    inActor('unsubscribe');
    this.registry.unregister(topic);
  }

  /** Subscribers of `topic` now (a lock-free count). */
  subscribers(topic: Key): number {
    return this.registry.lookup(topic).length;
  }

  /**
   * Publishes `msg` to every live subscriber of `topic`, on every scheduler: one record per
   * scheduler thread. Returns the number of records sent. Throws `InvalidMessageError` for a message
   * that cannot cross threads (nothing sent). Any thread of the runtime.
   */
  publish(topic: Key, msg: unknown): number {
    const dir = getDirectory();
    if (dir === undefined) throw new UnsupportedError('no runtime in this thread: call Runtime.start() or Runtime.attach(handle)');
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

function inActor(what: string): void {
  const s = currentScheduler();
  const me = self();
  if (s === undefined || pidInc(me) !== Domain.current().inc || pidLocal(me) === 0) {
    throw new UnsupportedError(`${what} is called by an actor (inside its handlers or init)`);
  }
}

function freeze(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) freeze(x);
  }
  return v;
}

/** Installs the receiving side of the bus in scheduler `s`. */
export function installBus(s: Scheduler): void {
  s.handleSystem(kPublish, (env: Envelope) => {
    const { r, t, m } = env.body as { r: string; t: Key; m: unknown };
    const reg = s.registryById(r);
    if (reg === undefined) return;
    const inc = s.domain.inc;
    const msg = freeze(m);
    for (const [pid] of reg.lookup(t)) {
      if (pidInc(pid) !== inc) continue;
      const a = s.actors.get(pidLocal(pid));
      if (a !== undefined && a.pid === pid) a.enqueue({ kind: kInfo, to: a.local, from: env.from, ref: 0, deadline: 0, body: msg });
    }
  });
}
