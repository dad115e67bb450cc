/**
 * The message codec (src/runtime/message-codec.ts) and the envelope (src/runtime/envelope.ts):
 * seeded random nested values of every compact shape round-trip exactly; structured-clone shapes
 * (Map, Set, Date, typed arrays, class instances, cycles) come back as v8.serialize gives them;
 * functions, symbols and shared memory throw InvalidMessageError and leave the writer unchanged.
 *
 * Replay with ROSTER_SEED=<seed in the test names>.
 */
import { isDeepStrictEqual } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { describe, expect, test } from 'vitest';
import { decodeMessage, encodeMessage, ScratchWriter } from '../../dist/src/runtime/message-codec.js';
import { decodeEnvelope, encodeEnvelope } from '../../dist/src/runtime/envelope.js';
import { InvalidMessageError } from '../../dist/src/errors.js';
import { mulberry32, pick, randInt, seedFromEnv, type Rng } from '../helpers/prng.js';

const seed = seedFromEnv();

function randString(rng: Rng): string {
  const n = pick(rng, [0, 1, 5, 31, 32, 33, 100, 1000]);
  const alphabet = pick(rng, [0x7f, 0xff, 0xffff]);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(randInt(rng, alphabet + 1));
  return s;
}

function randValue(rng: Rng, depth: number): unknown {
  const k = randInt(rng, depth > 4 ? 8 : 11);
  switch (k) {
    case 0: return pick(rng, [undefined, null, true, false]);
    case 1: return randInt(rng, 256);
    case 2: return (randInt(rng, 2 ** 32) | 0);
    case 3: return pick(rng, [0.5, -0, NaN, Infinity, -Infinity, 2 ** 53, Math.PI * randInt(rng, 1000), 2 ** 31, -(2 ** 31) - 1]);
    case 4:
    case 5: return randString(rng);
    case 6: return pick(rng, [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n, -(2n ** 200n) + 12345n]);
    case 7: return BigInt(randInt(rng, 2 ** 31)) * BigInt(randInt(rng, 2 ** 31));
    case 8: return Array.from({ length: randInt(rng, 6) }, () => randValue(rng, depth + 1));
    case 9: {
      const o: Record<string, unknown> = {};
      for (let i = randInt(rng, 6); i > 0; i--) {
        // defineProperty: an own '__proto__' key, not a prototype change.
        Object.defineProperty(o, pick(rng, ['a', 'b', 'key', '0', '17', '__proto__', randString(rng)]), {
          value: randValue(rng, depth + 1), enumerable: true, writable: true, configurable: true,
        });
      }
      return o;
    }
    default: {
      const o = Object.create(null) as Record<string, unknown>;
      for (let i = randInt(rng, 4); i > 0; i--) o[randString(rng)] = randValue(rng, depth + 1);
      return o;
    }
  }
}

function roundTrip(v: unknown, w = new ScratchWriter(8)): unknown {
  w.len = 0;
  encodeMessage(v, w);
  return decodeMessage(w.buf, 0, w.len);
}

describe(`message codec (seed ${seed})`, () => {
  test(`5000 seeded random nested values round-trip exactly (seed ${seed})`, () => {
    const rng = mulberry32(seed);
    const w = new ScratchWriter(16);
    for (let i = 0; i < 5000; i++) {
      const v = randValue(rng, 0);
      const back = roundTrip(v, w);
      if (!isDeepStrictEqual(back, v)) throw new Error(`value ${i} of seed ${seed} did not round-trip: ${String(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)))}`);
      if (v !== null && typeof v === 'object') expect(Object.getPrototypeOf(back)).toBe(Object.getPrototypeOf(v));
    }
  });

  test('a value in shared memory decodes the same, at any offset', () => {
    const w = new ScratchWriter();
    const v = { s: 'x'.repeat(40), t: '\uD800'.repeat(40), n: [1, 2.5, -3n] };
    encodeMessage(v, w);
    const u8 = new Uint8Array(new SharedArrayBuffer(w.len + 13));
    u8.set(w.buf.subarray(0, w.len), 13);
    expect(decodeMessage(u8, 13, 13 + w.len)).toEqual(v);
  });

  test('structured-clone shapes fall back to v8.serialize, nested where they occur', () => {
    class Point { constructor(public x: number, public y: number) {} }
    const cyc: Record<string, unknown> = { a: 1 };
    cyc['self'] = cyc;
    const cases: unknown[] = [new Map([[1, { a: 'b' }]]), new Set(['x', 2]), new Date(12345), new Uint8Array([1, 2, 3]),
      new Float64Array([0.5]), Buffer.from('hi'), /re/g, { nested: [new Map([['k', new Set([1])]])] }, new Error('boom')];
    for (const v of cases) expect(roundTrip(v)).toEqual(deserialize(serialize(v)));
    expect(roundTrip(new Point(1, 2))).toEqual({ x: 1, y: 2 });
    const back = roundTrip(cyc) as Record<string, unknown>;
    expect(back['self']).toBe(back);
  });

  test('functions, symbols and shared memory throw InvalidMessageError; the writer is unchanged', () => {
    const w = new ScratchWriter();
    w.len = 3;
    for (const bad of [() => 1, Symbol('s'), { f() {} }, [1, [Symbol.iterator]], new SharedArrayBuffer(8), { v: new Int32Array(new SharedArrayBuffer(8)) },
      new Map([[1, () => 2]])]) {
      let err: unknown;
      try {
        encodeMessage(bad, w);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidMessageError);
      expect((err as InvalidMessageError).code).toBe('ROSTER_ERR_INVALID_MESSAGE');
      expect(w.len).toBe(3);
    }
  });

  test('envelopes: header fields and body round-trip; bad fields are refused', () => {
    const w = new ScratchWriter();
    const env = { kind: 255, to: 2 ** 32 - 1, from: 2 ** 52 + 7, ref: 123456789, deadline: Date.now() + 5000, body: { hello: ['world', 1n] } };
    encodeEnvelope(env, w);
    expect(decodeEnvelope(w.buf, w.view, 0, w.len)).toEqual(env);
    expect(() => encodeEnvelope({ ...env, kind: 256 }, w)).toThrow(InvalidMessageError);
    expect(() => encodeEnvelope({ ...env, to: -1 }, w)).toThrow(InvalidMessageError);
    expect(() => encodeEnvelope({ ...env, body: Symbol('x') }, w)).toThrow(InvalidMessageError);
  });
});
