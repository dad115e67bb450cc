// Crash recovery: kill a worker and watch its names go.
//
//   npm run build && node examples/crash-recovery.mjs
//
// Two workers register names in a shared registry and stay alive. The main thread kills one of them.
// `supervise(worker)` declares its death the moment it exits, so lookups stop returning its names at
// once; the coordinator thread then sweeps its entries, and `coordinator.sync()` waits for that sweep.
// Subscribers get one `unregister` event per swept name and one `down` event.
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Coordinator, Registry, self, supervise } from 'roster-threads';

if (isMainThread) {
  const coordinator = await Coordinator.start();
  const names = Registry.create({ keys: 'unique', name: 'names', partitions: 4 });

  const events = [];
  const unsubscribe = names.subscribe((e) => events.push(e));

  const start = async (name) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { names: names.handle, name } });
    supervise(worker); // declares the worker dead the moment it exits, however it exits
    const [pid] = await once(worker, 'message'); // the worker has registered its names
    return { name, worker, pid };
  };
  const alpha = await start('alpha');
  const beta = await start('beta');
  const show = (label) =>
    console.log(`${label}: ${names.count()} entries; alpha:0 -> ${fmt(names.whereis('alpha:0'))}, beta:0 -> ${fmt(names.whereis('beta:0'))}`);
  const fmt = (pid) => (pid === undefined ? 'nobody' : pid === alpha.pid ? `alpha (pid ${pid})` : `beta (pid ${pid})`);
  show('before');

  const t0 = performance.now();
  await beta.worker.terminate(); // any way a thread dies would do: an uncaught error, running out of memory
  console.log(`killed beta; lookup('beta:0') right away -> ${JSON.stringify(names.lookup('beta:0'))} (dead owners are never returned)`);
  await coordinator.sync(); // every death declared so far has been swept
  console.log(`coordinator.sync() resolved ${(performance.now() - t0).toFixed(1)} ms after the kill`);
  show('after');

  // A dead thread's unique names are free again at once.
  console.log(`main thread registers beta:0 -> ${JSON.stringify(names.register('beta:0', { by: 'main' }))}`);

  // Events travel between threads asynchronously: wait for the `down` event.
  while (!events.some((e) => e.type === 'down')) await new Promise((resolve) => setTimeout(resolve, 5));
  const down = events.find((e) => e.type === 'down');
  const swept = events.filter((e) => e.type === 'unregister' && e.pid === beta.pid).length;
  console.log(`events: ${swept} unregister events for beta's names, then down (pid ${down.pid}, reason ${down.reason})`);

  unsubscribe();
  await alpha.worker.terminate();
  await coordinator.stop();
  names.close();
} else {
  const names = Registry.attach(workerData.names);
  for (let i = 0; i < 1000; i++) names.register(`${workerData.name}:${i}`, { worker: workerData.name, i });
  parentPort.postMessage(self()); // this thread's pid: the owner of its entries
  // Stay alive (a listener on parentPort keeps the thread running) until terminated.
  parentPort.on('message', () => {});
}
