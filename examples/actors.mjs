// Actors: a room per topic on two scheduler threads, found by name, called and cast to from the main
// thread; one room crashes and its name goes with it. Run: npm run build && node examples/actors.mjs
import { isMainThread } from 'node:worker_threads';
import { Registry, Runtime, behaviour, call, cast, monitor, ref, spawn, stop, via } from 'roster-threads';

// The behaviour: exported, because a scheduler thread imports this module to run it.
export const Room = behaviour({
  init: (topic) => ({ topic, members: [] }),
  handleCall(msg, _from, state) {
    if (msg === 'members') return state.members;
    if (msg === 'crash') throw new Error(`room ${state.topic} crashed`);
    if (msg === 'close') return stop('normal', { reply: 'closed' });
    return `unknown request ${JSON.stringify(msg)}`;
  },
  handleCast(msg, state) {
    if (msg.join !== undefined) return { ...state, members: [...state.members, msg.join] };
    return undefined;
  },
});

if (isMainThread) {
  const rooms = Registry.create({ keys: 'unique', name: 'rooms' });
  const runtime = await Runtime.start({ schedulers: 2, registries: [rooms] });
  const Rooms = ref(import.meta.url, 'Room');

  for (const topic of ['chess', 'go']) await spawn(Rooms, topic, { name: via(rooms, topic) });
  cast(via(rooms, 'chess'), { join: 'alice' });
  cast(via(rooms, 'chess'), { join: 'bob' });
  console.log(`chess members: ${JSON.stringify(await call(via(rooms, 'chess'), 'members'))}`);

  const go = rooms.whereis('go');
  const watch = monitor(go);
  try {
    await call(via(rooms, 'go'), 'crash');
  } catch (err) {
    console.log(`call failed: ${err.code} (${err.reason})`);
  }
  console.log(`monitor: ${(await watch.down).reason}; lookup('go') -> ${JSON.stringify(rooms.lookup('go'))}`);
  try {
    await call(via(rooms, 'go'), 'members');
  } catch (err) {
    console.log(`call to go now: ${err.code}`);
  }
  console.log(`chess: ${await call(via(rooms, 'chess'), 'close')}`);

  await runtime.stop();
  rooms.close();
  console.log('done');
}
