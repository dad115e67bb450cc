/**
 * Shared setup of the runtime's test files: a runtime with a unique registry and a shared board, the
 * kit's behaviours installed on every scheduler (test/fixtures/actors-kit.ts), and small helpers.
 */
import { expect } from 'vitest';
import { Registry, Runtime, ref, stopProcess, type BehaviourRef, type Pid } from '../../dist/src/index.js';

export const kKit = new URL('../../dist/test/fixtures/actors-kit.js', import.meta.url).href;
export const kActors = new URL('../../dist/test/fixtures/actors.js', import.meta.url).href;

/** A behaviour of the kit (Probe, Receiver, Sender, Hammer, Echo). */
export function kit(name: string): BehaviourRef {
  return ref(kKit, name);
}

/** A behaviour of test/fixtures/actors.ts (Counter, Deferred, AwaitRegister, Relay, Broken). */
export function actors(name: string): BehaviourRef {
  return ref(kActors, name);
}

export interface Rig {
  readonly rt: Runtime;
  readonly names: Registry;
  readonly board: Int32Array;
  /** Next free board slot (tests take slots with `slots(n)`). */
  slots(n: number): number;
  /** Stops the runtime (bounded) and closes the registry. */
  close(): Promise<void>;
}

/** Starts a runtime of `schedulers` threads with a fresh unique registry, and installs the kit on each. */
export async function startRig(schedulers: number, boardSlots = 4096): Promise<Rig> {
  const names = Registry.create({ keys: 'unique' });
  const sab = new SharedArrayBuffer(boardSlots * 4);
  const board = new Int32Array(sab);
  // RuntimeOptions.registries is ReadonlyArray<Registry<never>>, to which a Registry<unknown> does not
  // convert (Registry<V> is invariant): the cast is the caller's, as the README's example would need it.
  const rt = await Runtime.start({ schedulers, registries: [names as unknown as Registry<never>] });
  for (let i = 0; i < schedulers; i++) {
    const pid = await rt.control(i).spawn({ behaviour: kit('Install'), args: { handles: [names.handle], board: sab } });
    await stopProcess(pid);
  }
  let next = 16;
  return {
    rt,
    names,
    board,
    slots(n) {
      const s = next;
      next += n;
      if (next > boardSlots) throw new RangeError('board full');
      return s;
    },
    async close() {
      await bounded(rt.stop(), 10_000, 'rt.stop()');
      names.close();
    },
  };
}

/** `p`, or a rejection after `ms` saying what hung. */
export function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Waits (Atomics.waitAsync, bounded) until `board[slot] >= atLeast`; returns the value seen. */
export async function waitBoard(board: Int32Array, slot: number, atLeast: number, ms = 10_000): Promise<number> {
  const end = Date.now() + ms;
  for (;;) {
    const v = Atomics.load(board, slot);
    if (v >= atLeast) return v;
    const left = end - Date.now();
    if (left <= 0) throw new Error(`board[${slot}] = ${v}, expected >= ${atLeast} within ${ms} ms`);
    const w = Atomics.waitAsync(board, slot, v, left);
    if (w.async) await w.value;
  }
}

/** Opens a gate (`{ hold: slot }` calls waiting on it return). */
export function openGate(board: Int32Array, slot: number): void {
  Atomics.store(board, slot, 1);
  Atomics.notify(board, slot);
}

/** The error `p` rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<{ code: string; reason?: string; holder?: number; message: string }> {
  let v: unknown;
  try {
    v = await p;
  } catch (e) {
    return e as { code: string; message: string };
  }
  return expect.fail(`expected a rejection, got ${JSON.stringify(v)}`);
}

/** The error `f` throws synchronously (fails the test if it returns). */
export function thrown(f: () => unknown): { code: string; message: string } {
  let v: unknown;
  try {
    v = f();
  } catch (e) {
    return e as { code: string; message: string };
  }
  return expect.fail(`expected a throw, got ${String(v)}`);
}

/** Sum of a scheduler stat over every scheduler. */
export function total(rt: Runtime, k: 'actors' | 'handled' | 'dropped' | 'expired' | 'spawned' | 'exited'): number {
  return rt.stats().reduce((a, s) => a + s[k], 0);
}

export type { Pid };
