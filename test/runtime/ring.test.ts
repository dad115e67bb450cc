/**
 * The SPSC mail ring (src/runtime/ring.ts) between real threads.
 *
 * - 1M records of seeded lengths (mostly small, some up to the largest inline record) through a 4 KiB
 *   ring, so it wraps thousands of times: every record arrives once, in order, byte for byte.
 * - A producer stopped at each crash point ('reserved', 'written', 'published'), with and without a
 *   wrap inside the stopped write, then terminated: the consumer, reading without waiting, gets exactly
 *   the records published before (plus the stopped one at 'published'), each intact, then nothing.
 *
 * Replay with ROSTER_SEED=<seed in the test names>.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, test } from 'vitest';
import { kFull, kRTail, kRecordHeaderBytes, kTooLarge, kWritten, Ring } from '../../dist/src/runtime/ring.js';
import { checkRecord, fillRecord, recordLen } from '../../dist/test/fixtures/runtime-ring-agent.js';
import { mulberry32, randInt, seedFromEnv } from '../helpers/prng.js';

const seed = seedFromEnv();
const kAgent = new URL('../../dist/test/fixtures/runtime-ring-agent.js', import.meta.url);
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function start(data: unknown): { worker: Worker; result: Promise<{ done: number; bad?: string | null; extra?: boolean }> } {
  const worker = new Worker(kAgent, { workerData: data });
  workers.push(worker);
  const result = new Promise<{ done: number; bad?: string | null; extra?: boolean }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`agent exited (code ${code}) before answering`)));
  });
  return { worker, result };
}

describe(`ring (seed ${seed})`, () => {
  test('single-thread basics: full, too large, wrap marker, commit', () => {
    const p = Ring.create(1, 2, 1024);
    const c = Ring.consumer(p.sab);
    expect(p.capacity).toBe(1024);
    expect(p.maxRecord).toBe(256 - kRecordHeaderBytes);
    const buf = new Uint8Array(p.maxRecord + 1);
    expect(p.write(buf, 0, p.maxRecord + 1, 1)).toBe(kTooLarge);
    let written = 0;
    while (p.write(buf, 0, 100, 1) === kWritten) written++;
    expect(written).toBe(Math.floor(1024 / 112));
    expect(c.next()).toBe(0); // nothing published yet
    p.publish();
    for (let i = 0; i < written; i++) {
      expect(c.next()).toBe(1);
      expect(c.recordLen).toBe(100);
      c.consume();
    }
    expect(c.next()).toBe(0);
    expect(p.write(buf, 0, 100, 1)).toBe(kFull); // not committed yet
    c.commit();
    expect(p.write(buf, 0, 200, 2)).toBe(kWritten); // wraps: 1024 - 1008 = 16 bytes left at the end
    p.publish();
    expect(c.next()).toBe(2);
    expect(c.recordStart).toBe(192 + 8);
    expect(c.recordLen).toBe(200);
  });

  test(`1M records between two threads, seeded lengths, 4 KiB ring: no loss, duplication or reordering (seed ${seed})`, async () => {
    const count = 1_000_000;
    const ring = Ring.create(1, 2, 4096);
    const maxLen = ring.maxRecord;
    const consumer = start({ role: 'consume', sab: ring.sab, seed, count, maxLen });
    const producer = start({ role: 'produce', sab: ring.sab, seed, count, maxLen });
    const [p, c] = await Promise.all([producer.result, consumer.result]);
    expect(p.done).toBe(count);
    expect(c.bad ?? null).toBeNull();
    expect(c.done).toBe(count);
    expect(c.extra).toBe(false);
  });

  const rng = mulberry32(seed);
  const cases: Array<{ point: string; wrap: boolean; before: number }> = [];
  for (const point of ['reserved', 'written', 'published']) for (const wrap of [false, true]) cases.push({ point, wrap, before: randInt(rng, 5) });

  test.each(cases)(`a producer killed at $point (wrap: $wrap, $before records before) never publishes a partial record (seed ${seed})`, async ({ point, wrap, before }) => {
    const ring = Ring.create(1, 2, 4096);
    const maxLen = ring.maxRecord;
    // Move both positions forward from the main thread (writing and consuming records), until the
    // stopped write, after `before` more records, is one that must (or must not) wrap.
    const main = Ring.producer(ring.sab);
    const reader = Ring.consumer(ring.sab);
    const buf = new Uint8Array(maxLen);
    let first = 0;
    for (let pos = 0; ; first++) {
      let q = pos;
      let wraps = false;
      for (let k = 0; k <= before; k++) {
        const size = kRecordHeaderBytes + ((recordLen(seed, first + k, maxLen) + 7) & ~7);
        const idx = q % 4096;
        const skip = 4096 - idx < size ? 4096 - idx : 0;
        if (k === before) wraps = skip !== 0;
        q += skip + size;
      }
      if (wraps === wrap && q - pos <= 4096) break;
      // Consume record `first` through the ring, to advance both positions.
      const len = recordLen(seed, first, maxLen);
      fillRecord(buf, first, len);
      expect(main.write(buf, 0, len, 1)).toBe(kWritten);
      main.publish();
      expect(reader.next()).toBe(1);
      reader.consume();
      reader.commit();
      pos = Atomics.load(ring.i32, kRTail) >>> 0;
      if (first > 100_000) throw new Error('no start position found');
    }
    const board = new Int32Array(new SharedArrayBuffer(8));
    const agent = start({ role: 'crash', sab: ring.sab, seed, count: 0, maxLen, first, before, point, board });
    agent.result.catch(() => undefined);
    // Wait for the writer to stop at its point (a bounded wait on the board word, never a sleep).
    for (let t = 0; Atomics.load(board, 0) === 0; t++) {
      if (t > 200) throw new Error('the writer never reached its crash point');
      const r = Atomics.waitAsync(board, 0, 0, 50);
      if (r.async) await r.value;
    }
    await agent.worker.terminate();
    const expected = before + (point === 'published' ? 1 : 0);
    let got = 0;
    for (;;) {
      const tag = reader.next();
      if (tag === 0) break;
      expect(checkRecord(reader.u8, reader.recordStart, reader.recordLen, first + got, seed, maxLen)).toBeNull();
      reader.consume();
      got++;
    }
    reader.commit();
    expect(got).toBe(expected);
    expect(reader.hasRecord()).toBe(false);
  });
});
