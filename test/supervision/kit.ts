/**
 * Shared setup of the supervision tests: a runtime with a unique registry (`names`) and a duplicate
 * one (`bus`), the fixture board installed on every scheduler (and on each replacement), and helpers.
 */
import { DynamicSupervisor, EventBus, Registry, Runtime, ref, stopProcess, type BehaviourRef, type ChildSpec, type RuntimeEvent, type SupervisorEvent } from '../../dist/src/index.js';
import { bounded } from '../actors/kit.js';

export const kFixture = new URL('../../dist/test/fixtures/supervision.js', import.meta.url).href;

/** A behaviour of test/fixtures/supervision.ts (Worker, Counting, Racer). */
export function fx(name: string): BehaviourRef {
  return ref(kFixture, name);
}

export interface SupRig {
  readonly rt: Runtime;
  readonly names: Registry;
  readonly topics: Registry;
  readonly bus: EventBus;
  readonly board: Int32Array;
  /** Every supervisor event and runtime event so far, in order. */
  readonly events: SupervisorEvent[];
  readonly rtEvents: RuntimeEvent[];
  /** A supervisor whose events are recorded in `events`. */
  sup(name: string, opts?: ConstructorParameters<typeof DynamicSupervisor>[1]): DynamicSupervisor;
  /** Resolves with the first runtime event of `type` from now on. */
  next(type: RuntimeEvent['type'], ms?: number): Promise<RuntimeEvent>;
  /** Stops the runtime (bounded by `ms`: stopping 100k actors takes a while) and closes the registries. */
  close(ms?: number): Promise<void>;
}

async function install(rt: Runtime, i: number, board: SharedArrayBuffer): Promise<void> {
  const pid = await rt.control(i).spawn({ behaviour: fx('Install'), args: { board } });
  await stopProcess(pid);
}

/** Starts a runtime of `schedulers` threads with registries `names` (unique) and `bus` (duplicate). */
export async function startSupRig(schedulers: number, boardSlots = 1024): Promise<SupRig> {
  const names = Registry.create({ keys: 'unique', name: 'names' });
  const topics = Registry.create({ keys: 'duplicate', name: 'bus' });
  const sab = new SharedArrayBuffer(boardSlots * 4);
  // A stall deadline of 5 s: these tests start thousands of actors at once on a 2-core machine that
  // runs other test files beside them, and a scheduler's loop may then come round late.
  const rt = await Runtime.start({ schedulers, registries: [names, topics] as unknown as Registry<never>[], coordinator: { stallMs: 5000 } });
  for (let i = 0; i < schedulers; i++) await install(rt, i, sab);
  const events: SupervisorEvent[] = [];
  const rtEvents: RuntimeEvent[] = [];
  const waiting: Array<{ type: RuntimeEvent['type']; resolve: (e: RuntimeEvent) => void }> = [];
  // Installs on replacement schedulers, still running or failed: close() waits for them (stopping the
  // runtime under one would fail its calls) and reports a failure.
  const installs: Array<Promise<unknown>> = [];
  rt.on((e) => {
    rtEvents.push(e);
    // A replacement scheduler needs the board too, before anything is placed on it by a test.
    if (e.type === 'schedulerUp') installs.push(install(rt, e.index, sab).then(() => null, (err: unknown) => err));
    for (const w of waiting.splice(0)) {
      if (w.type === e.type) w.resolve(e);
      else waiting.push(w);
    }
  });
  return {
    rt, names, topics, bus: new EventBus(topics), board: new Int32Array(sab), events, rtEvents,
    sup(name, opts) {
      const s = new DynamicSupervisor(name, opts);
      s.on((e) => events.push(e));
      return s;
    },
    next(type, ms = 10_000) {
      return bounded(new Promise<RuntimeEvent>((resolve) => waiting.push({ type, resolve })), ms, `runtime event ${type}`);
    },
    async close(ms = 10_000) {
      const failed = (await bounded(Promise.all(installs), ms, 'the installs on replacement schedulers')).filter((e) => e !== null);
      await bounded(rt.stop(), ms, 'rt.stop()');
      names.close();
      topics.close();
      if (failed.length > 0) throw new Error(`installing the fixtures on a replacement scheduler failed: ${String(failed[0])}`);
    },
  };
}

/** A Worker child spec. */
export function worker(args: Record<string, unknown> = {}, more: Partial<ChildSpec> = {}): ChildSpec {
  return { behaviour: fx('Worker'), args, ...more };
}

/**
 * Resolves once `pred()` holds, checking at each turn of the event loop (events and replies arrive
 * between turns); fails after `ms` saying what was not reached.
 */
export async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setImmediate(r));
  }
}
