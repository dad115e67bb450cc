/**
 * Seeded bad-input fuzz (reliability matrix #13, invariant E). Bad keys, bad values and bad options
 * must throw a RosterError with the expected stable `code`, and leave the registry exactly as it
 * was (select of everything, count() and the metadata used, before and after). Valid operations are
 * mixed in between the bad ones, so the registry is never trivially empty. Also: keys compare
 * exactly and by type, and values round-trip exactly.
 *
 * Replay a failure with ROSTER_SEED=<seed printed in the test name>; ROSTER_FUZZ_ITERS sets the
 * number of bad inputs per configuration (default 1000).
 */
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry, _, self } from '../dist/src/index.js';
import { RosterError } from '../dist/src/errors.js';
import type { Key, KeysKind, RegistryOptions } from '../src/types.js';
import { canon, canonSorted } from './helpers/canon.js';
import { mulberry32, pick, randInt, seedFromEnv, subSeed } from './helpers/prng.js';
import type { Rng } from './helpers/prng.js';

const seed = seedFromEnv();
const kIters = Number(process.env['ROSTER_FUZZ_ITERS'] ?? 1000);
// Large enough that a nested invalid key is rejected as invalid before it could be too large.
const kMaxKeyBytes = 256;
const kMaxValueBytes = 256;

const INVALID_KEY = 'ROSTER_ERR_INVALID_KEY';
const KEY_TOO_LARGE = 'ROSTER_ERR_KEY_TOO_LARGE';
const INVALID_VALUE = 'ROSTER_ERR_INVALID_VALUE';
const VALUE_TOO_LARGE = 'ROSTER_ERR_VALUE_TOO_LARGE';
const INVALID_OPTION = 'ROSTER_ERR_INVALID_OPTION';
const CAPACITY = 'ROSTER_ERR_CAPACITY';

const opened: Registry[] = [];
const ports: MessageChannel[] = [];
afterEach(() => {
  for (const r of opened.splice(0)) {
    try {
      r.close();
    } catch {
      // already closed
    }
  }
  for (const c of ports.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

function create(options: RegistryOptions): Registry {
  const r = Registry.create(options);
  opened.push(r);
  return r;
}

/** Runs fn; returns the error's code when it threw a RosterError, or a description otherwise. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof RosterError) return e.code;
    return `non-RosterError thrown: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
  return 'no error';
}

// ── Generators ──────────────────────────────────────────────────────────────────────────────────

interface Bad<T> {
  readonly what: string;
  readonly make: () => T;
  /** Acceptable codes (first is the expected one; others are tolerated alternatives). */
  readonly codes: readonly string[];
}

const cyclicArray = (): unknown => {
  const a: unknown[] = ['x'];
  a.push(a);
  return a;
};
const deepArray = (depth: number): unknown => {
  let k: unknown = 'leaf';
  for (let i = 0; i < depth; i++) k = [k];
  return k;
};

let kDeep: unknown;

/** Leaves that are not keys at all. */
const badKeyLeaves: ReadonlyArray<Bad<unknown>> = [
  { what: 'undefined', make: () => undefined, codes: [INVALID_KEY] },
  { what: 'null', make: () => null, codes: [INVALID_KEY] },
  { what: '{}', make: () => ({}), codes: [INVALID_KEY] },
  { what: '{a:1}', make: () => ({ a: 1 }), codes: [INVALID_KEY] },
  { what: 'symbol', make: () => Symbol('k'), codes: [INVALID_KEY] },
  { what: 'function', make: () => () => 1, codes: [INVALID_KEY] },
  { what: 'Date', make: () => new Date(0), codes: [INVALID_KEY] },
  { what: 'Map', make: () => new Map([[1, 2]]), codes: [INVALID_KEY] },
  { what: 'Set', make: () => new Set([1]), codes: [INVALID_KEY] },
  { what: 'Int8Array', make: () => Int8Array.of(1, 2), codes: [INVALID_KEY] },
  { what: 'Uint16Array', make: () => Uint16Array.of(1), codes: [INVALID_KEY] },
  { what: 'ArrayBuffer', make: () => new ArrayBuffer(2), codes: [INVALID_KEY] },
  { what: 'DataView', make: () => new DataView(new ArrayBuffer(2)), codes: [INVALID_KEY] },
  { what: 'String object', make: () => new String('a'), codes: [INVALID_KEY] },
  { what: 'Number object', make: () => new Number(1), codes: [INVALID_KEY] },
  { what: 'Promise', make: () => Promise.resolve(1), codes: [INVALID_KEY] },
  { what: 'sparse array', make: () => [1, , 2], codes: [INVALID_KEY] }, // eslint-disable-line no-sparse-arrays
  { what: 'cyclic array', make: cyclicArray, codes: [INVALID_KEY, KEY_TOO_LARGE] },
  { what: 'array nested 100000 deep', make: () => (kDeep ??= deepArray(100_000)), codes: [INVALID_KEY, KEY_TOO_LARGE] },
];

/** Wraps a bad leaf at a random position inside valid tuples: nested bad tuples. */
function nestBad(rng: Rng, leaf: unknown): unknown {
  let k = leaf;
  const depth = 1 + randInt(rng, 3);
  for (let d = 0; d < depth; d++) {
    const before = Array.from({ length: randInt(rng, 3) }, () => pick(rng, ['a', 1, true, 2n] as const));
    k = [...before, k];
  }
  return k;
}

/** Keys that are well-formed but larger than maxKeyBytes. */
function tooLargeKey(rng: Rng): Bad<unknown> {
  const n = kMaxKeyBytes + 1 + randInt(rng, 4 * kMaxKeyBytes);
  return pick<Bad<unknown>>(rng, [
    { what: `string of ${n}`, make: () => 'k'.repeat(n), codes: [KEY_TOO_LARGE] },
    { what: `lone-surrogate string of ${n}`, make: () => '\uD800'.repeat(n), codes: [KEY_TOO_LARGE] },
    { what: `Uint8Array of ${n}`, make: () => new Uint8Array(n).fill(7), codes: [KEY_TOO_LARGE] },
    { what: `tuple of ${n} numbers`, make: () => Array.from({ length: n }, (_v, i) => i), codes: [KEY_TOO_LARGE] },
    { what: `tuple holding a string of ${n}`, make: () => ['t', 'x'.repeat(n)], codes: [KEY_TOO_LARGE] },
    { what: `bigint of ${8 * n} bits`, make: () => 2n ** BigInt(8 * n) + 1n, codes: [KEY_TOO_LARGE] },
    { what: 'string of 2^22 units', make: () => 'z'.repeat(2 ** 22), codes: [KEY_TOO_LARGE] },
  ]);
}

function badKey(rng: Rng): Bad<unknown> {
  const r = rng();
  if (r < 0.35) return pick(rng, badKeyLeaves);
  if (r < 0.7) {
    const leaf = pick(rng, badKeyLeaves);
    if (leaf.what.includes('deep')) return leaf;
    const wrapped = nestBad(rng, leaf.make());
    return { what: `tuple around ${leaf.what}`, make: () => wrapped, codes: leaf.codes };
  }
  return tooLargeKey(rng);
}

/** `WebAssembly` is not in this project's type libs. */
const kWasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => object } }).WebAssembly;

const throwingGetter = (): unknown => ({
  get boom(): number {
    throw new Error('getter boom');
  },
});

function badValueLeaves(): ReadonlyArray<Bad<unknown>> {
  return [
    { what: 'function', make: () => () => 1, codes: [INVALID_VALUE] },
    { what: 'symbol', make: () => Symbol('v'), codes: [INVALID_VALUE] },
    { what: 'object with a method', make: () => ({ f(): number { return 1; } }), codes: [INVALID_VALUE] },
    { what: 'object with a symbol', make: () => ({ s: Symbol('s') }), codes: [INVALID_VALUE] },
    { what: 'array with a function', make: () => [1, () => 2], codes: [INVALID_VALUE] },
    { what: 'WeakMap', make: () => new WeakMap(), codes: [INVALID_VALUE] },
    { what: 'Promise', make: () => Promise.resolve(1), codes: [INVALID_VALUE] },
    { what: 'Proxy', make: () => new Proxy({}, {}), codes: [INVALID_VALUE] },
    { what: 'SharedArrayBuffer', make: () => new SharedArrayBuffer(8), codes: [INVALID_VALUE] },
    { what: 'object with a SharedArrayBuffer', make: () => ({ b: new SharedArrayBuffer(8) }), codes: [INVALID_VALUE] },
    { what: 'typed array over a SharedArrayBuffer', make: () => ({ v: [new Uint8Array(new SharedArrayBuffer(4))] }), codes: [INVALID_VALUE] },
    {
      what: 'MessagePort',
      make: () => {
        const c = new MessageChannel();
        ports.push(c);
        return c.port1;
      },
      codes: [INVALID_VALUE],
    },
    { what: 'WebAssembly.Memory', make: () => new kWasm.Memory({ initial: 1 }), codes: [INVALID_VALUE] },
    // A getter that throws: INVALID_VALUE (with the cause) is expected; passing the user's error through is tolerated.
    { what: 'object with a throwing getter', make: throwingGetter, codes: [INVALID_VALUE, 'non-RosterError thrown: Error: getter boom'] },
  ];
}

function tooLargeValue(rng: Rng): Bad<unknown> {
  const n = kMaxValueBytes + 1 + randInt(rng, 4 * kMaxValueBytes);
  return pick<Bad<unknown>>(rng, [
    { what: `string of ${n}`, make: () => 'v'.repeat(n), codes: [VALUE_TOO_LARGE] },
    { what: `Uint8Array of ${n}`, make: () => new Uint8Array(n), codes: [VALUE_TOO_LARGE] },
    { what: `object with a string of ${n}`, make: () => ({ a: 'w'.repeat(n) }), codes: [VALUE_TOO_LARGE] },
    { what: `array of ${n} numbers`, make: () => Array.from({ length: n }, (_v, i) => i * 1.5), codes: [VALUE_TOO_LARGE] },
    { what: 'string of 2^22 units', make: () => 'q'.repeat(2 ** 22), codes: [VALUE_TOO_LARGE] },
  ]);
}

function badValue(rng: Rng): Bad<unknown> {
  const r = rng();
  const leaves = badValueLeaves();
  if (r < 0.4) return pick(rng, leaves);
  if (r < 0.7) {
    const leaf = pick(rng, leaves);
    return {
      what: `nested ${leaf.what}`,
      make: () => ({ ok: 1, list: [1, 'two', { deep: leaf.make() }] }),
      codes: leaf.codes,
    };
  }
  return tooLargeValue(rng);
}

/** Valid values, including the ones that are easy to get subtly wrong; each must round-trip. */
const goodValues: readonly unknown[] = [
  undefined, null, true, false, 0, -0, 1, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 1.5, NaN, Infinity,
  -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, '', 'x', '\uD800', '\uDC00a', 'nul\u0000x', 0n, -(2n ** 70n),
  [], [undefined], {}, { a: [1, { b: 'c' }] }, new Date(5), new Map([[1, 'a']]), new Set(['s']),
  Uint8Array.of(1, 2, 3), 'v'.repeat(kMaxValueBytes / 2 - 1),
];

function goodKey(rng: Rng, i: number): Key {
  return pick<Key>(rng, [`g${i}`, i, [`g`, i], Uint8Array.of(i & 255, i >> 8), BigInt(i) - 50n, [true, `${i}`, [i]]]);
}

// ── State snapshots ─────────────────────────────────────────────────────────────────────────────

const metaKeys: Key[] = ['m1', ['m', 2]];

function snapshot(reg: Registry): string {
  const rows = canonSorted(reg.select([{ match: [_, _, _] }]));
  const meta = metaKeys.map((k) => canon(reg.meta(k)));
  return canon({ count: reg.count(), rows, meta });
}

/** Every operation that takes a key, applied to `key`. */
function keyOps(reg: Registry, kind: KeysKind): Array<[string, (key: Key) => unknown]> {
  const ops: Array<[string, (key: Key) => unknown]> = [
    ['register', (k) => reg.register(k, 1)],
    ['unregister', (k) => reg.unregister(k)],
    ['unregisterMatch', (k) => reg.unregisterMatch(k, _)],
    ['lookup', (k) => reg.lookup(k)],
    ['match', (k) => reg.match(k, _)],
    ['countMatch', (k) => reg.countMatch(k, _)],
    ['values', (k) => reg.values(k, self())],
    ['dispatch', (k) => reg.dispatch(k, () => undefined)],
    ['meta', (k) => reg.meta(k)],
    ['putMeta', (k) => reg.putMeta(k, 1)],
    ['deleteMeta', (k) => reg.deleteMeta(k)],
  ];
  if (kind === 'unique') {
    ops.push(['updateValue', (k) => reg.updateValue(k, (x) => x)]);
    ops.push(['whereis', (k) => reg.whereis(k)]);
  }
  return ops;
}

/** Read-only ops may either reject a too-large key or treat it as absent; writes must reject it. */
const kWritesTooLarge = new Set(['register', 'putMeta']);

// ── Tests ───────────────────────────────────────────────────────────────────────────────────────

describe(`fuzz: bad options (ROSTER_SEED=${seed})`, () => {
  const badOptionValues: Record<string, ReadonlyArray<[unknown, readonly string[]]>> = {
    keys: [['uniq', [INVALID_OPTION]], ['Unique', [INVALID_OPTION]], [1, [INVALID_OPTION]], [null, [INVALID_OPTION]],
      [['unique'], [INVALID_OPTION]], [{}, [INVALID_OPTION]], [undefined, [INVALID_OPTION]]],
    name: [[1, [INVALID_OPTION]], [null, [INVALID_OPTION]], [{}, [INVALID_OPTION]], [Symbol('n'), [INVALID_OPTION]], [() => 'n', [INVALID_OPTION]]],
    partitions: [[0, [INVALID_OPTION]], [-1, [INVALID_OPTION]], [1.5, [INVALID_OPTION]], [1025, [INVALID_OPTION]],
      [NaN, [INVALID_OPTION]], [Infinity, [INVALID_OPTION]], ['8', [INVALID_OPTION]], [null, [INVALID_OPTION]],
      [8n, [INVALID_OPTION]], [2 ** 32 + 1, [INVALID_OPTION]]],
    listeners: [['a', [INVALID_OPTION]], [[1], [INVALID_OPTION]], [[null], [INVALID_OPTION]], [{}, [INVALID_OPTION]],
      [1, [INVALID_OPTION]], [[() => 1], [INVALID_OPTION]], [null, [INVALID_OPTION]]],
    meta: [['x', [INVALID_OPTION]], [1, [INVALID_OPTION]], [null, [INVALID_OPTION]],
      [{ f: () => 1 }, [INVALID_OPTION, INVALID_VALUE]], [{ s: Symbol('s') }, [INVALID_OPTION, INVALID_VALUE]]],
    maxKeyBytes: [[0, [INVALID_OPTION]], [-1, [INVALID_OPTION]], [1.5, [INVALID_OPTION]], [NaN, [INVALID_OPTION]],
      [Infinity, [INVALID_OPTION]], ['64', [INVALID_OPTION]], [null, [INVALID_OPTION]], [64n, [INVALID_OPTION]]],
    maxValueBytes: [[0, [INVALID_OPTION]], [-1, [INVALID_OPTION]], [1.5, [INVALID_OPTION]], [NaN, [INVALID_OPTION]],
      [Infinity, [INVALID_OPTION]], ['64', [INVALID_OPTION]], [null, [INVALID_OPTION]], [64n, [INVALID_OPTION]]],
    maxPartitionBytes: [[0, [INVALID_OPTION]], [-1, [INVALID_OPTION]], [1.5, [INVALID_OPTION]], [NaN, [INVALID_OPTION]],
      [Infinity, [INVALID_OPTION]], ['1', [INVALID_OPTION]], [null, [INVALID_OPTION]], [1n, [INVALID_OPTION]]],
    initialCapacity: [[-1, [INVALID_OPTION]], [1.5, [INVALID_OPTION]], [NaN, [INVALID_OPTION]], [Infinity, [INVALID_OPTION]],
      ['16', [INVALID_OPTION]], [null, [INVALID_OPTION]], [16n, [INVALID_OPTION]], [2 ** 40, [INVALID_OPTION, CAPACITY]]],
  };
  const goodOptionValues: Record<string, readonly unknown[]> = {
    keys: ['unique', 'duplicate', 'duplicate-by-key'],
    name: ['fuzz', 'fuzz-registry'],
    partitions: [1, 2, 3, 8],
    listeners: [[], ['l1']],
    meta: [{}, { a: 1 }],
    maxKeyBytes: [64, 4096],
    maxValueBytes: [256, 65536],
    initialCapacity: [8, 16, 100],
  };

  it.each(Object.keys(badOptionValues))(`each bad value of %s throws ROSTER_ERR_INVALID_OPTION (ROSTER_SEED=${seed})`, (field) => {
    for (const [bad, codes] of badOptionValues[field] ?? []) {
      const options = { keys: 'unique', [field]: bad } as unknown as RegistryOptions;
      const got = codeOf(() => create(options));
      expect(codes, `options.${field} = ${canon(bad)}: got ${got}`).toContain(got);
    }
  });

  it(`options that are not an object, or lack keys (ROSTER_SEED=${seed})`, () => {
    for (const bad of [undefined, null, 'unique', 1, true, [], () => ({ keys: 'unique' }), {}, { name: 'x' }]) {
      const got = codeOf(() => create(bad as unknown as RegistryOptions));
      expect(got, `Registry.create(${canon(bad)})`).toBe(INVALID_OPTION);
    }
  });

  it(`seeded mixes: one bad field among random good ones (ROSTER_SEED=${seed})`, () => {
    const rng = mulberry32(subSeed(seed, 'options'));
    const fields = Object.keys(badOptionValues);
    for (let iter = 0; iter < 300; iter++) {
      const options: Record<string, unknown> = { keys: pick(rng, goodOptionValues['keys'] ?? []) };
      for (const [f, vs] of Object.entries(goodOptionValues)) if (rng() < 0.4) options[f] = pick(rng, vs);
      const field = pick(rng, fields);
      const [bad, codes] = pick(rng, badOptionValues[field] ?? []);
      options[field] = bad;
      const got = codeOf(() => create(options as unknown as RegistryOptions));
      expect(codes, `iter ${iter}: ${canon(options)} (bad ${field}): got ${got} [ROSTER_SEED=${seed}]`).toContain(got);
    }
  });

  it(`good options are accepted (ROSTER_SEED=${seed})`, () => {
    for (const options of [
      { keys: 'unique' }, { keys: 'duplicate', partitions: 1024 }, { keys: 'duplicate-by-key', partitions: 3 },
      { keys: 'unique', maxKeyBytes: 16, maxValueBytes: 16, initialCapacity: 8 }, { keys: 'unique', listeners: ['a', 'b'] },
      { keys: 'unique', meta: { x: [1, 2], y: 'z' } },
    ] as RegistryOptions[]) {
      const reg = create(options);
      expect(reg.kind, canon(options)).toBe(options.keys);
      expect(reg.partitions, canon(options)).toBe(options.partitions ?? 1);
    }
  });
});

describe.each([
  ['unique', 1],
  ['unique', 8],
  ['duplicate', 1],
  ['duplicate-by-key', 8],
] as Array<[KeysKind, number]>)(`fuzz: bad keys and values, keys=%s partitions=%i (ROSTER_SEED=${seed})`, (kind, partitions) => {
  it(`every bad input throws its code and leaves the registry unchanged (ROSTER_SEED=${seed})`, () => {
    const rng = mulberry32(subSeed(seed, `io/${kind}/${partitions}`));
    const reg = create({ keys: kind, partitions, maxKeyBytes: kMaxKeyBytes, maxValueBytes: kMaxValueBytes, initialCapacity: 8 });
    const ops = keyOps(reg, kind);
    const held: Key[] = [];
    let fresh = 0;
    reg.putMeta('m1', { meta: 1 });

    const validStep = (): void => {
      const r = rng();
      if ((r < 0.5 && held.length < 40) || held.length === 0) {
        const key = goodKey(rng, fresh++);
        const value = pick(rng, goodValues);
        const res = reg.register(key, value);
        expect(res.ok, `register ${canon(key)}`).toBe(true);
        const got = reg.lookup(key).filter(([p]) => p === self());
        expect(canon(got.map(([, v]) => v)), `value round-trip under ${canon(key)}`).toBe(canon([value]));
        if (Object.is(value, -0)) expect(Object.is(got[0]?.[1], -0), '-0 round-trips as -0').toBe(true);
        held.push(key);
      } else if (r < 0.75) {
        const key = held.splice(randInt(rng, held.length), 1)[0] as Key;
        reg.unregister(key);
        expect(reg.lookup(key), `lookup after unregister ${canon(key)}`).toEqual([]);
      } else if (kind === 'unique') {
        const key = pick(rng, held);
        const res = reg.updateValue(key, () => ({ updated: fresh }));
        expect(res.ok, `updateValue ${canon(key)}`).toBe(true);
      } else {
        reg.putMeta('m1', { meta: fresh });
      }
    };

    let last: string | undefined;
    for (let iter = 0; iter < kIters; iter++) {
      const at = `[ROSTER_SEED=${seed} keys=${kind} partitions=${partitions} iter ${iter}]`;
      const steps = randInt(rng, 3);
      for (let n = steps; n > 0; n--) validStep();
      // The last iteration's "after" is this one's "before" unless a valid step ran since.
      const before = steps > 0 || last === undefined ? snapshot(reg) : last;
      const r = rng();
      let what: string;
      let got: string;
      let codes: readonly string[];
      if (r < 0.5) {
        const bad = badKey(rng);
        const [opName, op] = pick(rng, ops);
        what = `${opName}(${bad.what})`;
        got = codeOf(() => op(bad.make() as Key));
        codes = bad.codes.includes(KEY_TOO_LARGE) && !kWritesTooLarge.has(opName) ? [...bad.codes, 'no error'] : bad.codes;
      } else {
        const bad = badValue(rng);
        const v = rng();
        if (v < 0.5 || (kind !== 'unique' && v < 0.8)) {
          const key = v < 0.25 && held.length > 0 ? pick(rng, held) : goodKey(rng, 1_000_000 + iter);
          what = `register(${canon(key)}, ${bad.what})`;
          got = codeOf(() => reg.register(key, bad.make()));
          // A unique key already held may legitimately answer already_registered without looking at the value.
          codes = kind === 'unique' && held.some((k) => canon(k) === canon(key)) ? [...bad.codes, 'no error'] : bad.codes;
        } else if (v < 0.8 && held.length > 0) {
          const key = pick(rng, held);
          what = `updateValue(${canon(key)}, () => ${bad.what})`;
          got = codeOf(() => reg.updateValue(key, () => bad.make()));
          codes = bad.codes;
        } else {
          const key = pick(rng, metaKeys);
          what = `putMeta(${canon(key)}, ${bad.what})`;
          got = codeOf(() => reg.putMeta(key, bad.make()));
          codes = bad.codes;
        }
      }
      expect(codes, `${at} ${what}: got ${got}`).toContain(got);
      last = snapshot(reg);
      expect(last, `${at} ${what}: registry changed`).toBe(before);
    }

    // The partitions still work after all that: no lock left held.
    for (let i = 0; i < 16; i++) {
      const key: Key = ['after', i];
      expect(reg.register(key, i).ok, `register after fuzz ${i}`).toBe(true);
      expect(reg.lookup(key), `lookup after fuzz ${i}`).toEqual([[self(), i]]);
    }
  });

  it(`a throwing updateValue/dispatch callback changes nothing and releases the partition (ROSTER_SEED=${seed})`, () => {
    const reg = create({ keys: kind, partitions });
    for (let i = 0; i < 8; i++) reg.register(`t${i}`, i);
    const before = snapshot(reg);
    for (let i = 0; i < 8; i++) {
      if (kind === 'unique') {
        expect(() => reg.updateValue(`t${i}`, () => {
          throw new Error('callback boom');
        }), `updateValue t${i}`).toThrow('callback boom');
      }
      expect(() => reg.dispatch(`t${i}`, () => {
        throw new Error('dispatch boom');
      }), `dispatch t${i}`).toThrow('dispatch boom');
      expect(snapshot(reg), `after throwing callbacks on t${i}`).toBe(before);
    }
    for (let i = 0; i < 8; i++) expect(reg.register(`u${i}`, i).ok, `register u${i} after throwing callbacks`).toBe(true);
  });
});

describe(`fuzz: keys compare exactly and by type (ROSTER_SEED=${seed})`, () => {
  const u8 = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
  const distinctGroups: ReadonlyArray<readonly Key[]> = [
    ['1', 1, 1n, true, [1], ['1'], u8(1), u8(0x31)],
    ['\uD800', '\uFFFD', '\uDC00', '\uD800\uDC00', '\uDC00\uD800', '\uFFFD\uFFFD'],
    [u8(1, 2, 3), u8(1, 2, 4), u8(1, 2), u8(1, 2, 3, 0), u8()],
    [['a', 1], ['a', '1'], ['a', 1n], ['a', true], [1, 'a'], ['a', [1]]],
    [true, 'true', false, 'false', 1, 0],
    [0, false, '', 0n, [], u8(), [0], [''], [[]]],
    ['ab', ['ab'], ['a', 'b'], ['a', 'b', ''], [['a'], 'b'], ['a', ['b']], 'a\u0000b', ['a\u0000', 'b']],
    ['a', 'a\u0000', 'a\u0000\u0000', 'A', 'a '],
    [2n ** 64n, 2n ** 64n + 1n, -(2n ** 64n), 2 ** 64, -1n, 1n, 0n],
    [1.5, -1.5, 1, Number.MIN_VALUE, -Number.MIN_VALUE, Infinity, -Infinity, NaN, 2 ** 53, 2 ** 53 + 2],
  ];
  const sameGroups: ReadonlyArray<readonly Key[]> = [
    [0, -0],
    [NaN, 0 / 0, Number('x')],
    [u8(1, 2, 3), new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4), new Uint8Array(new Uint8Array([0, 1, 2, 3]).buffer, 1, 3)],
    [['a', 1], ['a', 1.0]],
    ['\uD83D\uDE00', '\u{1F600}'],
    [2n ** 64n, BigInt('18446744073709551616')],
  ];

  it.each(['unique', 'duplicate', 'duplicate-by-key'] as KeysKind[])(`distinct keys stay distinct, keys=%s`, (kind) => {
    for (const partitions of [1, 8]) {
      const reg = create({ keys: kind, partitions });
      distinctGroups.forEach((group, g) => {
        const at = `group ${g} partitions ${partitions}`;
        group.forEach((key, i) => {
          expect(reg.register(key, { g, i }).ok, `${at}: register ${canon(key)}`).toBe(true);
        });
        group.forEach((key, i) => {
          expect(reg.lookup(key), `${at}: lookup ${canon(key)}`).toEqual([[self(), { g, i }]]);
        });
        expect(reg.count(), `${at}: count`).toBe(group.length);
        // keys() gives back each key exactly, types and lone surrogates included.
        expect(canonSorted(reg.keys(self())), `${at}: keys(self)`).toEqual(canonSorted(group));
        // Unregistering one key removes only that key.
        group.forEach((key, i) => {
          reg.unregister(key);
          expect(reg.lookup(key), `${at}: lookup ${canon(key)} after unregister`).toEqual([]);
          group.forEach((other, j) => {
            if (j > i) expect(reg.lookup(other), `${at}: ${canon(other)} after unregister of ${canon(key)}`).toEqual([[self(), { g, i: j }]]);
          });
        });
        expect(reg.count(), `${at}: count after unregistering the group`).toBe(0);
      });
    }
  });

  it(`equal keys are one key (unique: the second register is already_registered by self)`, () => {
    for (const partitions of [1, 8]) {
      const reg = create({ keys: 'unique', partitions });
      sameGroups.forEach((group, g) => {
        const [first, ...rest] = group;
        expect(reg.register(first as Key, g).ok, `group ${g} first ${canon(first)}`).toBe(true);
        for (const key of rest) {
          expect(reg.register(key, 'again'), `group ${g} register ${canon(key)}`).toEqual({
            ok: false,
            reason: 'already_registered',
            holder: self(),
          });
          expect(reg.lookup(key), `group ${g} lookup ${canon(key)}`).toEqual([[self(), g]]);
        }
      });
      expect(reg.count(), `count (partitions ${partitions})`).toBe(sameGroups.length);
    }
  });

  it(`a Uint8Array key is copied: mutating the caller's array later changes nothing`, () => {
    const reg = create({ keys: 'unique' });
    const k = u8(1, 2, 3);
    reg.register(k, 'v');
    k[0] = 9;
    expect(reg.lookup(u8(1, 2, 3))).toEqual([[self(), 'v']]);
    expect(reg.lookup(k)).toEqual([]);
    const tuple: Key[] = ['a', 1];
    reg.register(tuple, 't');
    tuple[1] = 2;
    expect(reg.lookup(['a', 1])).toEqual([[self(), 't']]);
  });
});
