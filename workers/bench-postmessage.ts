/**
 * Benchmark baseline: a registry that is a plain `Map` living in another thread and answering requests
 * by `postMessage` (what a message-passing registry costs). Requests are `[op, key, value?]` with
 * op 0 = get, 1 = set, 2 = delete; the reply is the value (get) or `true`.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { makeKeys } from '../bench/lib/keys.js';

interface Init {
  readonly n: number;
  readonly seed: number;
}

const { n, seed } = workerData as Init;
const map = new Map<string, number>();
const keys = makeKeys(n, seed);
for (let i = 0; i < n; i++) map.set(keys[i] as string, i);

const port = parentPort;
if (port === null) throw new Error('bench-postmessage must run in a worker thread');
port.on('message', (msg: [number, string, number?]) => {
  const [op, key, value] = msg;
  if (op === 0) port.postMessage(map.get(key));
  else if (op === 1) {
    map.set(key, value ?? 0);
    port.postMessage(true);
  } else {
    map.delete(key);
    port.postMessage(true);
  }
});
port.postMessage('ready');
