// Three local nodes and a chat room whose traffic moves across them.
//
//   npm run build && node examples/cluster/chat.mjs         (starts its own redis-server on a free port)
//   REDIS_URL=redis://127.0.0.1:6379 node examples/cluster/chat.mjs
//
// Node a hosts the room under the cluster name 'room:lobby'; nodes b and c post to it by name and
// listen to the room's topic. Then node a leaves: its name is released, node b starts the room again
// under the same name, and the posts from c reach it there without c changing anything.
import { fork, spawn as spawnProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { Runtime, behaviour, ref, spawn } from 'roster-threads';
import { Cluster } from 'roster-threads/cluster';

// The room: keeps what was said; `'history'` calls return it.
export const Room = behaviour({
  init: (host) => ({ host, said: [] }),
  handleCall: (msg, _from, state) => (msg === 'history' ? { host: state.host, said: state.said } : null),
  handleCast: (msg, state) => ({ ...state, said: [...state.said, msg] }),
});

// A listener: counts what is published on the room's topic.
export const Listener = behaviour({
  init: () => 0,
  handleCall: (_msg, _from, n) => n,
  handleInfo: (_msg, n) => n + 1,
});

async function nodeMain(url, node) {
  process.on('disconnect', () => process.exit(0));
  // A generous stall check: three nodes, each with its threads, share this one machine.
  const runtime = await Runtime.start({ schedulers: 1, coordinator: { stallMs: 10_000 } });
  const cluster = await Cluster.join({ url, node });
  const listener = await spawn(ref(import.meta.url, 'Listener'));
  await cluster.subscribe('lobby', listener);
  const lobby = { name: 'room:lobby' };
  const steps = {
    host: async () => {
      const room = await spawn(ref(import.meta.url, 'Room'), node);
      return cluster.register('room:lobby', room);
    },
    post: async (n) => {
      for (let i = 0; i < n; i++) {
        await cluster.cast(lobby, `${node}: message ${i}`);
        await cluster.publish('lobby', `${node} posted ${i}`);
      }
      return cluster.call(lobby, 'history');
    },
    heard: () => cluster.call(cluster.pid(listener), 'count'),
    leave: async () => {
      await cluster.leave();
      await runtime.stop();
      return 'left';
    },
  };
  process.on('message', async ({ step, arg }) => {
    process.send({ step, value: await steps[step](arg) });
    if (step === 'leave') process.exit(0);
  });
  process.send({ ready: node });
}

async function freePort() {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  return port;
}

async function main() {
  let url = process.env.REDIS_URL;
  let redis;
  if (url === undefined) {
    const port = await freePort();
    redis = spawnProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    await new Promise((resolve, reject) => {
      redis.once('error', () => reject(new Error('redis-server is not installed (Debian: apt-get install redis-server), or set REDIS_URL')));
      redis.stdout.on('data', (b) => { out += b; if (out.includes('Ready to accept connections')) resolve(); });
    });
    redis.stdout.resume();
    url = `redis://127.0.0.1:${port}`;
  }
  const nodes = {};
  const run = (name, step, arg) => new Promise((resolve, reject) => {
    const node = nodes[name];
    const onMessage = (m) => {
      if (m.step !== step && !(step === undefined && m.ready)) return;
      node.off('message', onMessage).off('exit', onExit);
      resolve(m.value);
    };
    const onExit = (code) => reject(new Error(`node ${name} exited (${code}) during ${step ?? 'start'}`));
    node.on('message', onMessage).once('exit', onExit);
    if (step !== undefined) node.send({ step, arg });
  });
  try {
    for (const name of ['a', 'b', 'c']) {
      nodes[name] = fork(fileURLToPath(import.meta.url), ['--node', url, name]);
      await run(name);
    }
    await story(run);
  } finally {
    for (const node of Object.values(nodes)) node.kill();
    redis?.kill('SIGKILL');
  }
}

async function story(run) {
  console.log('a hosts the room:', (await run('a', 'host')).ok);
  console.log('b posts 3:', await run('b', 'post', 3));
  console.log('c posts 2:', await run('c', 'post', 2));
  console.log('a leaves:', await run('a', 'leave'));
  console.log('b hosts the room now:', (await run('b', 'host')).ok);
  console.log('c posts 2 more, by the same name:', await run('c', 'post', 2));
  console.log('published messages heard by b and c:', await run('b', 'heard'), await run('c', 'heard'));
  await run('b', 'leave');
  await run('c', 'leave');
}

if (isMainThread) {
  const i = process.argv.indexOf('--node');
  if (i >= 0) await nodeMain(process.argv[i + 1], process.argv[i + 2]);
  else await main();
}
