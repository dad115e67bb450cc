/**
 * The registries of the runtime this thread joined (`Runtime.start({ registries })` in the main
 * thread; attached from the runtime's handle in schedulers and in threads that `Runtime.attach`), by
 * name. Actors reach their registries here: a registry handle holds shared buffers, which cannot travel
 * in actor messages.
 *
 * @module
 */
import { InvalidOptionError, describe } from '../errors.js';
import type { Registry } from '../registry/registry.js';

let byName = new Map<string, Registry<unknown>>();

/** Sets this thread's runtime registries. */
export function setRuntimeRegistries(regs: ReadonlyArray<Registry<unknown>>): void {
  byName = new Map(regs.map((r) => [r.name, r]));
}

/** The runtime registry named `name` in this thread. Throws `InvalidOptionError` if there is none. */
export function runtimeRegistry(name: string): Registry<unknown> {
  const r = byName.get(name);
  if (r === undefined) {
    throw new InvalidOptionError(
      `no runtime registry named ${describe(name)} in this thread; registries: ${[...byName.keys()].join(', ') || 'none'} (pass it to Runtime.start({ registries }))`,
    );
  }
  return r;
}
