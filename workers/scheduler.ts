/**
 * Entry of a scheduler thread, started by `Runtime.start()`; see src/runtime/scheduler.ts. Exposes the
 * control interface (src/runtime/control-api.ts) to the main thread over comlink, then runs the loop.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { expose } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { pidLocal } from '../src/domain/domain.js';
import { installErrorTransfer, type SchedulerControl } from '../src/runtime/control-api.js';
import { Registry } from '../src/registry/registry.js';
import { setRuntimeRegistries } from '../src/runtime/runtime-registries.js';
import { setDirectory } from '../src/runtime/placement.js';
import { Scheduler } from '../src/runtime/scheduler.js';
import { SupervisorPartition } from '../src/runtime/supervisor-partition.js';
import { installBus } from '../src/runtime/bus.js';
import type { RuntimeHandle } from '../src/runtime/runtime.js';

const { index, runtime } = workerData as { index: number; runtime: RuntimeHandle };
if (parentPort === null) throw new Error('a scheduler runs in a worker thread');
setDirectory(runtime.directory);
installErrorTransfer();
const scheduler = new Scheduler(runtime.registries);
setRuntimeRegistries(runtime.registries.map((h) => Registry.attach(h)));
const mailroom = scheduler.caller.mailroom;
new SupervisorPartition(scheduler, runtime.ledger);
installBus(scheduler);

const control: SchedulerControl = {
  ping: () => 'pong',
  info: () => ({ index, inc: scheduler.domain.inc, threadId, stats: scheduler.statsBuffer, mail: mailroom.statsBuffer }),
  stats: () => ({ ...scheduler.stats(), mail: mailroom.stats() }),
  listActors: () => scheduler.list(),
  spawn: (req) => scheduler.spawn(req),
  stopActor: async (pid, reason) => {
    const actor = scheduler.actors.get(pidLocal(pid));
    if (actor === undefined || actor.pid !== pid) return false;
    await actor.exit(reason);
    return true;
  },
  shutdown: (reason) => scheduler.stop(reason),
};
expose(control, nodeEndpoint(parentPort));
// ORDER: published once it can receive: spawns are placed only on schedulers whose slot is set.
Atomics.store(new Int32Array(runtime.directory), 1 + index, scheduler.domain.inc);
await scheduler.run();
