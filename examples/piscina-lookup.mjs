// A piscina pool whose tasks look keys up in a registry the main thread filled.
//
//   npm run build && node examples/piscina-lookup.mjs
//
// The registry lives in SharedArrayBuffers: the pool's workers attach to it once, from its handle, and
// each task reads it directly (no message to the main thread, no lock). This file is both the main
// program and the pool's task module.
import { isMainThread } from 'node:worker_threads';
import { Piscina, workerData } from 'piscina';
import { Registry, self } from 'roster-threads';

// In a pool worker: attach once, when piscina loads this module.
const users = isMainThread ? undefined : Registry.attach(workerData.users);

/** The task: look up a user by key, from a pool thread. */
export default function lookupUser({ id }) {
  const entries = users.lookup(`user:${id}`);
  return { id, thread: self(), found: entries.length === 1 ? entries[0][1] : null };
}

if (isMainThread) {
  const users = Registry.create({ keys: 'unique', name: 'users', partitions: 4 });
  for (let id = 0; id < 10_000; id++) users.register(`user:${id}`, { name: `user-${id}`, plan: id % 3 === 0 ? 'pro' : 'free' });
  console.log(`main thread registered ${users.count()} users`);

  const pool = new Piscina({
    filename: import.meta.url,
    workerData: { users: users.handle }, // plain data and SharedArrayBuffers: shared, not copied
    minThreads: 2,
    maxThreads: 2,
  });
  const ids = [0, 1, 4242, 9999, 10_000];
  const results = await Promise.all(ids.map((id) => pool.run({ id })));
  for (const { id, thread, found } of results) {
    console.log(`task on pid ${thread}: user:${id} -> ${found === null ? 'not found' : JSON.stringify(found)}`);
  }

  // A batch: 2,000 tasks, each a lookup in a pool thread.
  const batch = await Promise.all(Array.from({ length: 2000 }, (_, i) => pool.run({ id: (i * 7919) % 10_000 })));
  const threads = new Set(batch.map((r) => r.thread));
  console.log(`${batch.filter((r) => r.found !== null).length} of ${batch.length} lookups found their user, on ${threads.size} pool threads`);

  await pool.destroy();
  users.close();
}
