// Pub-sub with a 'duplicate' registry: a topic is a key, every subscriber registers under it.
//
//   npm run build && node examples/pubsub.mjs
//
// Each subscriber is a worker thread with an inbox (a BroadcastChannel). It registers under the topics
// it wants, with the inbox's name as the value. A publisher, in any thread, calls
// `dispatch(topic, fn)`: fn gets the topic's subscribers straight from shared memory and posts to each
// inbox. A subscriber leaves a topic with `unregister(topic)`, or by dying (the coordinator sweeps it).
import { once } from 'node:events';
import { BroadcastChannel, Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Registry } from 'roster-threads';

if (isMainThread) {
  const topics = Registry.create({ keys: 'duplicate', name: 'topics', partitions: 4 });
  const subscribers = { alice: ['news', 'chess'], bob: ['news'], carol: ['chess', 'weather'] };

  const workers = await Promise.all(
    Object.entries(subscribers).map(async ([name, wants]) => {
      const worker = new Worker(new URL(import.meta.url), { workerData: { topics: topics.handle, name, wants } });
      await once(worker, 'message'); // subscribed
      return worker;
    }),
  );
  for (const topic of ['news', 'chess', 'weather']) console.log(`${topic}: ${topics.lookup(topic).length} subscriber(s)`);

  const inboxes = new Map();
  const publish = (topic, text) => {
    let delivered = 0;
    topics.dispatch(topic, (entries) => {
      for (const [, { inbox }] of entries) {
        if (!inboxes.has(inbox)) inboxes.set(inbox, new BroadcastChannel(inbox));
        inboxes.get(inbox).postMessage({ topic, text });
        delivered++;
      }
    });
    console.log(`published to ${topic}: delivered to ${delivered}`);
    return delivered;
  };

  // Every worker reports each message it receives to the main thread, which prints them in order.
  const reports = [];
  let waiting = null;
  for (const w of workers) {
    w.on('message', (line) => {
      reports.push(line);
      if (waiting !== null && reports.length >= waiting.n) waiting.resolve();
    });
  }
  const collect = async (n) => {
    if (reports.length < n) await new Promise((resolve) => (waiting = { n, resolve }));
    for (const line of reports.splice(0).sort()) console.log(`  ${line}`);
  };

  let n = 0;
  n += publish('news', 'Roster 0.1 released');
  n += publish('chess', 'e4 e5 Nf3');
  n += publish('weather', 'sunny');
  n += publish('gardening', 'nobody listens'); // no subscribers: fn is never called
  await collect(n);

  // Bob leaves 'news'; the next publication reaches alice only.
  workers[1].postMessage({ leave: 'news' });
  await collect(1);
  console.log(`news: ${topics.lookup('news').length} subscriber(s)`);
  await collect(publish('news', 'Roster 0.2 planned'));

  for (const ch of inboxes.values()) ch.close();
  await Promise.all(workers.map((w) => w.terminate()));
  topics.close();
  console.log('done');
} else {
  const { name, wants } = workerData;
  const topics = Registry.attach(workerData.topics);
  const inbox = new BroadcastChannel(`inbox:${name}`);
  inbox.onmessage = ({ data }) => parentPort.postMessage(`${name} got [${data.topic}] ${data.text}`);
  for (const topic of wants) topics.register(topic, { inbox: `inbox:${name}` });
  parentPort.on('message', ({ leave }) => {
    topics.unregister(leave);
    parentPort.postMessage(`${name} left [${leave}]`);
  });
  parentPort.postMessage('subscribed');
}
