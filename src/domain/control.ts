/**
 * The domain's control channel: a `BroadcastChannel` between every thread of a domain and its
 * coordinator. Registries announce themselves on it, supervisors register workers for stall checks,
 * and the coordinator asks supervisors to terminate stalled threads.
 *
 * Messages posted before a coordinator listens are lost, so a starting coordinator broadcasts `hello`
 * and every thread answers by announcing again every registry it created or attached, and every worker
 * it supervises. The coordinator also counts the registries created in the domain (a shared counter),
 * and marks no death swept until it knows as many (see sweeper.ts).
 *
 * Each thread's end is unref'd: it never keeps a thread alive.
 *
 * @module
 */
import { BroadcastChannel } from 'node:worker_threads';
import { Domain } from './domain.js';

/** Messages on a domain's control channel. Internal. */
export type ControlMessage =
  | { readonly type: 'registry'; readonly handle: { readonly id: string } }
  | { readonly type: 'supervise'; readonly threadId: number; readonly stall: boolean }
  | { readonly type: 'unsupervise'; readonly threadId: number }
  | { readonly type: 'terminate'; readonly threadId: number; readonly blockedMs: number; readonly stallMs: number }
  | { readonly type: 'hello' };

/** Name of the control channel of a domain. */
export function controlChannel(domain: Domain): string {
  return `roster:domain:${domain.id}`;
}

const known = new Map<string, { readonly id: string }>();
const handlers: Array<(msg: ControlMessage) => void> = [];
let channel: BroadcastChannel | undefined;

/** This thread's end of the control channel (unref'd; opened on first use). Any thread. */
export function control(): BroadcastChannel {
  if (channel !== undefined) return channel;
  const ch = new BroadcastChannel(controlChannel(Domain.current()));
  (ch as unknown as { unref(): void }).unref();
  ch.onmessage = (ev: unknown) => {
    const msg = (ev as { data: ControlMessage }).data;
    if (msg.type === 'hello') for (const handle of known.values()) ch.postMessage({ type: 'registry', handle } satisfies ControlMessage);
    for (const h of handlers) h(msg);
  };
  channel = ch;
  return ch;
}

/** Adds a handler for control messages received by this thread. */
export function onControl(handler: (msg: ControlMessage) => void): void {
  handlers.push(handler);
  control();
}

/** Posts a control message from this thread. */
export function post(msg: ControlMessage): void {
  control().postMessage(msg);
}

/** Remembers a registry this thread uses, to announce it again to a coordinator that starts later. */
export function remember(handle: { readonly id: string }): void {
  known.set(handle.id, handle);
  control();
}

/** Announces a registry to the coordinator (and remembers it). */
export function announce(handle: { readonly id: string }): void {
  remember(handle);
  post({ type: 'registry', handle });
}

/** Forgets a closed registry. */
export function forget(id: string): void {
  known.delete(id);
}

/** Handles of the registries this thread created or attached and has not closed. */
export function knownHandles(): Array<{ readonly id: string }> {
  return [...known.values()];
}
