/**
 * Behaviours of the supervision benchmark (bench/supervision.ts). A board (Int32Array over a
 * SharedArrayBuffer) reaches each scheduler through `Install`, spawned with the control plane.
 */
import { EventBus, Runtime, ref, send, spawn, type From, type Pid } from '../../src/index.js';

let board: Int32Array | undefined;

/** Keeps the board in this thread. */
export const Install = {
  init(a: { board: SharedArrayBuffer }) {
    board = new Int32Array(a.board);
    return null;
  },
};

/** A child that does nothing: started, found, restarted. */
export const Child = { init: () => null, handleCall: () => 'ok' };

/** Counts what it receives in board slot `slot` (and notifies), subscribed to `topic` on bus `bus`, if given. */
export const Sub = {
  init(a: { slot: number; topic?: string; bus?: string }) {
    if (a.topic !== undefined) new EventBus(Runtime.registry(a.bus as string)).subscribe(a.topic);
    if (board === undefined) throw new Error('bench: Install was not spawned on this scheduler');
    return { b: board, slot: a.slot };
  },
  handleInfo(_m: unknown, s: { b: Int32Array; slot: number }) {
    if (Atomics.add(s.b, s.slot, 1) % 1024 === 1023) Atomics.notify(s.b, s.slot);
    return undefined;
  },
};

/** Spawns `n` Subs here (`'local'`) and answers their pids. */
export const Spawner = {
  init: () => null,
  async handleCall(m: { n: number; args: unknown }) {
    const mod = import.meta.url;
    const out: Pid[] = [];
    while (out.length < m.n) {
      const k = Math.min(1000, m.n - out.length);
      out.push(...(await Promise.all(Array.from({ length: k }, () => spawn(ref(mod, 'Sub'), m.args, { scheduler: 'local' })))));
    }
    return out;
  },
};

/**
 * `{ publish: n, topic }`: publishes n messages on the bus; `{ sends: n, to: pids }`: the baseline, a
 * `send` of the same message to each subscriber. Answers when sent (deliveries are counted on the board).
 */
export const Publisher = {
  init: (a: { bus: string }) => ({ bus: new EventBus(Runtime.registry(a.bus)) }),
  async handleCall(m: { publish?: number; topic?: string; sends?: number; to?: Pid[] }, _f: From, s: { bus: EventBus }) {
    // A turn of the event loop every 256 messages sent: a full ring's backlog is flushed from the
    // sender's event loop, and a sender that never yields would fill its bounded backlog and drop.
    let sent = 0;
    const turn = async (): Promise<void> => {
      if (++sent % 256 === 0) await new Promise((r) => setImmediate(r));
    };
    for (let i = 0; i < (m.publish ?? 0); i++) {
      s.bus.publish(m.topic as string, { i });
      await turn();
    }
    for (let i = 0; i < (m.sends ?? 0); i++) {
      for (const p of m.to ?? []) {
        send(p, { i });
        await turn();
      }
    }
    return true;
  },
};
