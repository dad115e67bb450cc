/**
 * Cross-node messaging: `call`, `cast`, `send` and monitors to processes of other nodes, and the
 * handling of the frames that arrive for this node.
 *
 * **Delivery.** A frame goes to its node's inbox through the engine (FIFO per sender→node). The
 * receiving node hands it to the local actor with the core's public `call`, `cast` or `send` from its
 * main thread, in arrival order, so the runtime's FIFO per sender→receiver pair carries on to the actor.
 * At most once: nothing is retried. A call carries the time left before its deadline as a duration
 * (the clocks of two machines are not compared); the receiver gives the local call that much time, so
 * a request still waiting in the actor's mailbox when it runs out is dropped, not run.
 *
 * **Failure.** A call to a node that is not a live member, or that no node of that name listens for,
 * fails at once with `NodeDownError`; calls waiting on a node that is declared down fail with it then;
 * every call is also bounded by its timeout (`CallTimeoutError`). Monitors of processes on a node
 * declared down fire with `'node_down'`.
 *
 * @module
 */
import { CallTimeoutError, call, cast, demonitor, monitor, send, type Pid } from '../index.js';
import { ClusterClosedError, ClusterConnectError, NodeDownError, clusterErrorFrom } from './errors.js';
import type { NodeState } from './node-state.js';
import type { ClusterDown, GlobalPid } from './types.js';
import { decodeFrame, encodeFrame, errorBody, type Frame } from './wire.js';

interface PendingCall {
  readonly node: string;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

interface Watch {
  readonly pid: GlobalPid;
  readonly resolve: (d: ClusterDown) => void;
  readonly notify: Pid | undefined;
}

/** Decides whether a node incarnation is a live member. */
export interface Liveness {
  /** 'up': a live member; 'down': declared down; 'unknown': not seen yet (may have just joined). */
  status(node: string, incarnation: number): 'up' | 'down' | 'unknown';
}

/** Claims of another node, answered through a call. */
export type ClaimsHandler = () => string[];

/** Cross-node messaging of one node. */
export class Messenger {
  readonly #state: NodeState;
  readonly #live: Liveness;
  readonly #claims: ClaimsHandler;
  #nextRef = 1;
  readonly #calls = new Map<number, PendingCall>();
  readonly #watches = new Map<number, Watch>();
  /** Monitors this node runs for other nodes: `node ref` → core monitor ref. */
  readonly #served = new Map<string, { readonly node: string; readonly coreRef: number }>();

  constructor(state: NodeState, live: Liveness, claims: ClaimsHandler) {
    this.#state = state;
    this.#live = live;
    this.#claims = claims;
  }

  #checkReachable(g: GlobalPid): void {
    if (this.#state.closed) throw new ClusterClosedError('the cluster handle was closed with leave()');
    if (this.#live.status(g.node, g.incarnation) === 'down') throw new NodeDownError(`node ${g.node} (incarnation ${g.incarnation}) is down`, g.node);
  }

  /** Calls `g` (a process of another node); see the module comment. */
  call(g: GlobalPid, msg: unknown, timeout: number, kind: 'call' | 'claims' = 'call'): Promise<unknown> {
    this.#checkReachable(g);
    const s = this.#state;
    const ref = this.#nextRef++;
    const frame: Frame = kind === 'call'
      ? { t: 'call', from: s.node, finc: s.incarnation, to: g.pid, tinc: g.incarnation, ref, ms: timeout, msg }
      : { t: 'claims', from: s.node, finc: s.incarnation, ref };
    const payload = encodeFrame(frame);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#calls.delete(ref);
        reject(new CallTimeoutError(`call to ${g.node}/${g.pid} got no reply within ${timeout} ms`));
      }, timeout);
      this.#calls.set(ref, { node: g.node, resolve, reject, timer });
      s.engine.sendTo(g.node, payload).then((heard) => {
        if (!heard) this.#fail(ref, new NodeDownError(`node ${g.node} is not listening (down or never joined)`, g.node));
      }, (err: unknown) => this.#fail(ref, err));
    });
  }

  #fail(ref: number, err: unknown): void {
    const p = this.#calls.get(ref);
    if (p === undefined) return;
    this.#calls.delete(ref);
    clearTimeout(p.timer);
    p.reject(err);
  }

  /** Casts or sends to `g`; resolves true if its node received the frame. */
  async post(g: GlobalPid, kind: 'cast' | 'info', msg: unknown): Promise<boolean> {
    this.#checkReachable(g);
    const s = this.#state;
    const payload = encodeFrame({ t: kind, from: s.node, finc: s.incarnation, to: g.pid, tinc: g.incarnation, msg });
    try {
      return await s.engine.sendTo(g.node, payload);
    } catch (err) {
      if (err instanceof ClusterConnectError) return false;
      throw err;
    }
  }

  /** Monitors `g`; `notify`, a local actor, also receives the `ClusterDown` at its `handleInfo`. */
  monitor(g: GlobalPid, notify: Pid | undefined): { ref: number; down: Promise<ClusterDown> } {
    const ref = this.#nextRef++;
    const down = new Promise<ClusterDown>((resolve) => {
      this.#watches.set(ref, { pid: g, resolve, notify });
    });
    if (this.#state.closed || this.#live.status(g.node, g.incarnation) === 'down') {
      this.#fire(ref, 'node_down');
      return { ref, down };
    }
    const s = this.#state;
    const payload = encodeFrame({ t: 'mon', from: s.node, finc: s.incarnation, to: g.pid, tinc: g.incarnation, ref });
    s.engine.sendTo(g.node, payload).then((heard) => {
      if (!heard) this.#fire(ref, 'node_down');
    }, () => this.#fire(ref, 'node_down'));
    return { ref, down };
  }

  /** Cancels monitor `ref`. */
  demonitor(ref: number): void {
    const w = this.#watches.get(ref);
    if (w === undefined) return;
    this.#watches.delete(ref);
    const s = this.#state;
    const payload = encodeFrame({ t: 'demon', from: s.node, finc: s.incarnation, to: w.pid.pid, tinc: w.pid.incarnation, ref });
    s.engine.sendTo(w.pid.node, payload).catch(() => {});
  }

  #fire(ref: number, reason: string): void {
    const w = this.#watches.get(ref);
    if (w === undefined) return;
    this.#watches.delete(ref);
    const d: ClusterDown = { type: 'down', ref, pid: w.pid, reason };
    if (w.notify !== undefined) send(w.notify, d);
    w.resolve(d);
  }

  /** A node was declared down: its calls fail, monitors of its processes fire, its monitors here end. */
  nodeDown(node: string): void {
    for (const [ref, p] of this.#calls) {
      if (p.node === node) this.#fail(ref, new NodeDownError(`node ${node} was declared down`, node));
    }
    for (const [ref, w] of this.#watches) if (w.pid.node === node) this.#fire(ref, 'node_down');
    for (const [k, m] of this.#served) {
      if (m.node === node) {
        this.#served.delete(k);
        demonitor(m.coreRef);
      }
    }
  }

  /** Ends everything at `leave()`. */
  close(): void {
    for (const ref of [...this.#calls.keys()]) this.#fail(ref, new ClusterClosedError('the cluster handle was closed with leave()'));
    for (const ref of [...this.#watches.keys()]) this.#fire(ref, 'node_down');
    for (const m of this.#served.values()) demonitor(m.coreRef);
    this.#served.clear();
  }

  #reply(to: string, ref: number, ok: boolean, v: unknown): void {
    let payload: Buffer;
    try {
      payload = encodeFrame(ok ? { t: 'reply', ref, ok: true, value: v } : { t: 'reply', ref, ok: false, err: errorBody(v) });
    } catch (err) {
      payload = encodeFrame({ t: 'reply', ref, ok: false, err: errorBody(err) });
    }
    this.#state.engine.sendTo(to, payload).catch(() => {});
  }

  /** A frame arrived for this node. Never throws: a malformed frame is dropped and counted. */
  receive(payload: Buffer): void {
    const s = this.#state;
    const f = decodeFrame(payload);
    if (f === null) {
      s.stats.malformed++;
      return;
    }
    s.stats.received++;
    switch (f.t) {
      case 'call': {
        if (f.tinc !== s.incarnation) {
          s.stats.misaddressed++;
          this.#reply(f.from, f.ref, false, { code: 'ROSTER_ERR_NOPROC', message: `no process ${s.node}/${f.to} in incarnation ${f.tinc}` });
          return;
        }
        if (!(f.ms > 0)) {
          s.stats.expired++;
          return;
        }
        call(f.to, f.msg, { timeout: f.ms }).then(
          (v) => this.#reply(f.from, f.ref, true, v),
          (err: unknown) => {
            // The only option here is the target (the sender checked the timeout): a number that is
            // no pid names no process on this node, so it is noproc, as for an actor that exited.
            const bad = (err as { code?: unknown } | null)?.code === 'ROSTER_ERR_INVALID_OPTION';
            this.#reply(f.from, f.ref, false, bad ? { code: 'ROSTER_ERR_NOPROC', message: `no process ${s.node}/${f.to}` } : err);
          },
        );
        return;
      }
      case 'cast':
      case 'info':
        if (f.tinc !== s.incarnation) {
          s.stats.misaddressed++;
          return;
        }
        try {
          (f.t === 'cast' ? cast : send)(f.to, f.msg);
        } catch {
          s.stats.misaddressed++;
        }
        return;
      case 'reply': {
        const p = this.#calls.get(f.ref);
        if (p === undefined) return; // timed out already
        this.#calls.delete(f.ref);
        clearTimeout(p.timer);
        if (f.ok) p.resolve(f.value);
        else p.reject(clusterErrorFrom(f.err));
        return;
      }
      case 'mon': this.#serveMonitor(f.from, f.ref, f.to, f.tinc); return;
      case 'demon': {
        const m = this.#served.get(`${f.from} ${f.ref}`);
        if (m !== undefined) {
          this.#served.delete(`${f.from} ${f.ref}`);
          demonitor(m.coreRef);
        }
        return;
      }
      case 'down': this.#fire(f.ref, f.reason); return;
      case 'claims': this.#reply(f.from, f.ref, true, this.#claims()); return;
    }
  }

  #serveMonitor(from: string, ref: number, pid: Pid, tinc: number): void {
    const s = this.#state;
    const answer = (reason: string): void => {
      this.#served.delete(`${from} ${ref}`);
      s.engine.sendTo(from, encodeFrame({ t: 'down', ref, reason })).catch(() => {});
    };
    if (tinc !== s.incarnation) {
      answer('noproc');
      return;
    }
    let m: { ref: number; down: Promise<{ reason: string }> };
    try {
      m = monitor(pid);
    } catch {
      answer('noproc');
      return;
    }
    this.#served.set(`${from} ${ref}`, { node: from, coreRef: m.ref });
    void m.down.then((d) => {
      if (this.#served.has(`${from} ${ref}`)) answer(d.reason);
    });
  }
}
