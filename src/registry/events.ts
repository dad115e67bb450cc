/**
 * Listener events, delivered asynchronously between threads over `BroadcastChannel`s.
 *
 * A registry created with `listeners: ['L']` posts each event to the channel of `L`; any thread (any
 * number of them) receives them with `registry.listen('L', handler)`. Runtime subscribers
 * (`registry.subscribe`) get every event on a channel of their own kind; writers post there only while
 * the shared subscriber count is above zero, so an unsubscribed registry pays nothing.
 *
 * Delivery: asynchronous, in posting order per posting thread; no order across threads.
 *
 * @module
 */
import { BroadcastChannel } from 'node:worker_threads';
import type { RegistryEvent } from '../types.js';

/** Channel name of a named listener of registry `id`. */
export function listenerChannel(id: string, listener: string): string {
  return `roster:${id}:listener:${listener}`;
}

/** Channel name of runtime subscribers of registry `id`. */
export function subscriberChannel(id: string): string {
  return `roster:${id}:subscribers`;
}

/** Posting side, one per registry instance; channels are opened lazily and never keep a thread alive. */
export class EventSink {
  readonly #channels = new Map<string, BroadcastChannel>();

  post(channel: string, event: RegistryEvent): void {
    let ch = this.#channels.get(channel);
    if (ch === undefined) {
      ch = new BroadcastChannel(channel);
      (ch as unknown as { unref(): void }).unref();
      this.#channels.set(channel, ch);
    }
    ch.postMessage(event);
  }

  close(): void {
    for (const ch of this.#channels.values()) ch.close();
    this.#channels.clear();
  }
}

/** Receives events on `channel` until the returned function is called. */
export function receive(channel: string, handler: (e: RegistryEvent) => void): () => void {
  const ch = new BroadcastChannel(channel);
  ch.onmessage = (msg: unknown) => handler((msg as { data: RegistryEvent }).data);
  let open = true;
  return () => {
    if (!open) return;
    open = false;
    ch.close();
  };
}
